"""What the alert rules decide, as data: the scorer applies each decision to the alert desk.

A rule (`surveillance.online.rules`) looks at a patient's state, the new score, lab or time,
and the patient's open alerts, and returns decisions; it never touches the desk. So a new kind
of alert is one new rule module (and its tests) that returns these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Facts:
    """What an alert says about its cause: its message, and the score (or lab) that raised or
    last changed it, with that observation set's time and its red single parameters."""

    message: str
    obs_msg_id: str | None = None
    system: str | None = None
    total: int | None = None
    risk: str | None = None
    scored_at: datetime | None = None
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Raise:
    """Open a new alert (nothing if one with this id is open)."""

    alert_id: str
    kind: str
    severity: str
    facts: Facts
    rank: int | None = None  # the level's rank on `chart`, for a plan's agreed threshold
    chart: str | None = None


@dataclass(frozen=True, slots=True)
class Upgrade:
    """The open alert now needs a higher response (or, after an acknowledgement and its quiet
    period, someone again): raised again, unacknowledged, on `severity`'s ladder from its first
    rung (or from the role the alert had reached, if more senior), with the new facts and a
    note saying what changed."""

    alert_id: str
    severity: str
    facts: Facts
    note: str
    rank: int | None = None
    chart: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """An event in the alert's current state recording a decision (and new facts, if any)."""

    alert_id: str
    note: str
    facts: Facts | None = None


@dataclass(frozen=True, slots=True)
class Resolve:
    """The system closes the alert: its cause is gone (the reason goes in the audit)."""

    alert_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Escalate:
    """Up one rung now, ahead of the ladder's time."""

    alert_id: str


Decision = Raise | Upgrade | Note | Resolve | Escalate
