"""The alert event as published and stored (CONTRACT §5 and its extensions)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ingest import ActorIdentity


class AlertEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An alert event (CONTRACT §5); the fields after `obs_msg_id` are extensions.

    `system`, `total`, `risk` and `obs_msg_id` name the score (or lab) that raised the alert
    or last changed it, `scored_at` that observation set's time and `triggers` its red single
    parameters (sorted). `raised_at` is the time of the alert's first event; `upgrades` counts
    the rises in severity since, `previous_severity` is the severity before the latest one,
    and `upgraded_at` when the current ladder started (the latest upgrade, or re-raise after
    an acknowledgement). `rung` is the escalation rung reached and `notify` whom this event
    tells (README, "Alert lifecycle"); `renotified` counts repeats on the rung; `by`,
    `reason`, `via` and `action_msg_id` say who acknowledged or resolved it, why, from where,
    and which command did, and `identity` the verified person behind `by` (the identity
    provider's subject and issuer, name and role: issue 14) when the command carried one;
    `note` records a decision (a new red parameter at the same level,
    a repeat held back by the quiet period, what an upgrade changed); `plan` the patient's
    escalation plan when it changed the ladder.
    """

    alert_id: str
    patient_id: str
    ward: str
    bed: str
    time: datetime
    kind: str
    severity: str
    state: str
    message: str
    obs_msg_id: str | None = None
    seq: int = 1
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    scored_at: datetime | None = None
    triggers: tuple[str, ...] = ()
    raised_at: datetime | None = None
    previous_severity: str | None = None
    upgrades: int = 0
    upgraded_at: datetime | None = None
    rung: int = 0
    notify: str | None = None
    renotified: int = 0
    by: str | None = None
    reason: str | None = None
    via: str | None = None
    action_msg_id: str | None = None
    note: str | None = None
    plan: str | None = None
    identity: ActorIdentity | None = None
