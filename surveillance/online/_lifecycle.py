"""An alert's life, as a pure state machine (CONTRACT §5): no I/O, the clock is an argument.

    raised ──ack──▶ acknowledged ──resolve (reason)──▶ resolved
      │                  ▲
      └─ not acknowledged in time ─▶ escalated (next rung) ─ack─┘   (resolve from any open state)

Each alert climbs the escalation ladder of its severity: rung 0 is notified when it is raised,
rung n when it has gone unacknowledged for `rungs[n].after` seconds. On the top rung it is
re-notified every `renotify` seconds until someone acknowledges it. An acknowledgement stops
the climb (the patient has someone); only a person, or the system with a reason (the cause is
gone, the patient left), resolves it. A per-patient escalation plan changes the ladder (a
ceiling of care cuts the rungs above it; an agreed threshold keeps alerts below it on the
first rung), never whether the score is shown.

Every step returns the `Notice` to publish as the alert's next event, so the caller's audit
holds every transition with who, when and why.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from importlib import resources
from typing import Annotated, Final, Literal

import msgspec

State = Literal["raised", "acknowledged", "escalated", "resolved"]
OPEN: Final = frozenset({"raised", "acknowledged", "escalated"})


class LifecycleError(ValueError):
    """An action the alert's state does not allow (the reason says which and why)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass(frozen=True, slots=True)
class Rung:
    """Who is told, and how long after the alert was raised (seconds) if nobody has acked."""

    after: float
    notify: str


@dataclass(frozen=True, slots=True)
class Ladder:
    """The rungs of one severity, in order (the first at 0 s), and the re-notification period."""

    rungs: tuple[Rung, ...]
    renotify: float

    def __post_init__(self) -> None:
        if not self.rungs or self.rungs[0].after != 0:
            msg = "a ladder needs rungs, the first at 0 seconds"
            raise ValueError(msg)
        afters = [rung.after for rung in self.rungs]
        if afters != sorted(set(afters)):
            msg = f"rung times must increase strictly: {afters}"
            raise ValueError(msg)
        if self.renotify <= 0:
            msg = "renotify must be more than 0 seconds"
            raise ValueError(msg)


class RungSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One rung as written in a ladders file or the settings: after how long, whom to tell."""

    after: Annotated[float, msgspec.Meta(ge=0)]
    notify: Annotated[str, msgspec.Meta(min_length=1)]


class LadderSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A ladder as written (`[ladders.<key>]` of `scoring/rules/ladders.toml`, or
    `[alerts.ladders.<key>]` of the settings)."""

    rungs: list[RungSpec]
    renotify: float
    source: str | None = None

    def ladder(self) -> Ladder:
        """The ladder; `ValueError` if it is malformed."""
        return Ladder(tuple(Rung(r.after, r.notify) for r in self.rungs), self.renotify)


class _LaddersFile(msgspec.Struct, forbid_unknown_fields=True):
    seniority: list[str]
    fallback: LadderSpec
    ladders: dict[str, LadderSpec]


def _load_ladders() -> tuple[dict[str, Ladder], tuple[str, ...], Ladder]:
    """The shipped ladders, from `scoring/rules/ladders.toml` (read once, at import)."""
    path = resources.files("scoring") / "rules" / "ladders.toml"
    try:
        raw = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), _LaddersFile)
        ladders = {key: spec.ladder() for key, spec in raw.ladders.items()}
        return ladders, tuple(raw.seniority), raw.fallback.ladder()
    except (tomllib.TOMLDecodeError, msgspec.ValidationError, ValueError) as error:
        msg = f"scoring/rules/ladders.toml: {error}"
        raise ValueError(msg) from None


_SHIPPED: Final = _load_ladders()
DEFAULT_LADDERS: Final[Mapping[str, Ladder]] = _SHIPPED[0]
SENIORITY: Final[tuple[str, ...]] = _SHIPPED[1]
FALLBACK: Final[Ladder] = _SHIPPED[2]
"""The ladders by `SYSTEM/severity`, then `kind` (for alerts not about a score), then
severity; the built-in roles from the ward outwards (a ceiling of care cuts every rung beyond
it); the ladder of an alert no ladder names. Data, with their sources:
`scoring/rules/ladders.toml`; configurable key by key in `[alerts.ladders]`."""


@dataclass(frozen=True, slots=True)
class Plan:
    """A patient's documented escalation plan (README, "Escalation plans").

    Attributes:
        ceiling: the highest role to notify (a ceiling of care): rungs above it are cut, and
            the alert stays on the last rung allowed, re-notified. None: no ceiling.
        threshold_rank: alerts of a lower level rank than this stay on the first rung (an
            agreed different threshold, e.g. chronic NEWS2 5 in COPD). None: the chart's.
        by, reason: who agreed it and why (shown with every alert it changes).
    """

    ceiling: str | None = None
    threshold_rank: int | None = None
    by: str = ""
    reason: str = ""


def ladder_for(
    ladders: Mapping[str, Ladder],
    severity: str,
    system: str | None,
    *,
    kind: str = "score",
    plan: Plan | None = None,
    rank: int | None = None,
) -> Ladder:
    """The ladder an alert climbs: by system and severity (or kind), then as the patient's
    plan says."""
    ladder = (
        ladders.get(f"{system}/{severity}")
        or (ladders.get(kind) if kind != "score" else None)
        or ladders.get(severity)
        or FALLBACK
    )
    if plan is None:
        return ladder
    rungs = ladder.rungs
    if plan.threshold_rank is not None and rank is not None and rank < plan.threshold_rank:
        rungs = rungs[:1]
    if plan.ceiling is not None:
        rungs = _capped(rungs, plan.ceiling)
    return Ladder(rungs, ladder.renotify)


def _capped(rungs: tuple[Rung, ...], ceiling: str) -> tuple[Rung, ...]:
    """The rungs up to the ceiling role. Built-in roles compare by `SENIORITY`; a ladder that
    would start beyond the ceiling calls the ceiling role instead (the plan names who comes);
    a role of a trust's own is cut where it stands on the ladder."""
    roles = [rung.notify for rung in rungs]
    if ceiling in roles:
        return rungs[: roles.index(ceiling) + 1]
    if ceiling not in SENIORITY or not all(role in SENIORITY for role in roles):
        return rungs
    limit = SENIORITY.index(ceiling)
    kept = tuple(rung for rung in rungs if SENIORITY.index(rung.notify) <= limit)
    return kept if kept and kept[0].after == 0 else (Rung(0, ceiling), *kept[1:])


@dataclass(frozen=True, slots=True)
class Notice:
    """A transition to publish as the alert's next event."""

    state: State
    rung: int
    notify: str | None
    renotified: int = 0
    by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where one alert is in its life.

    Attributes:
        ladder: the rungs it climbs.
        raised_at: its first event.
        state: the latest state.
        rung: the highest rung notified.
        notified_at: when someone was last told (raised, escalated or re-notified).
        renotified: re-notifications on the current rung.
        acknowledged_by: who acknowledged it (None before).
    """

    ladder: Ladder
    raised_at: datetime
    state: State = "raised"
    rung: int = 0
    notified_at: datetime | None = None
    renotified: int = 0
    acknowledged_by: str | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN

    def next_due(self) -> datetime | None:
        """When `advance` next has something to do (None: nothing, until a person acts)."""
        if self.state not in ("raised", "escalated"):
            return None
        due = (self.notified_at or self.raised_at) + timedelta(seconds=self.ladder.renotify)
        rungs = self.ladder.rungs
        if self.rung + 1 < len(rungs):
            due = min(due, self.raised_at + timedelta(seconds=rungs[self.rung + 1].after))
        return due


def raise_alert(ladder: Ladder, now: datetime, rung: int = 0) -> tuple[Lifecycle, Notice]:
    """A new alert: raised, its first rung told (or `rung`, for an alert raised again: see
    `start_rung`); the ladder's times count from `now`."""
    life = Lifecycle(ladder, raised_at=now, rung=rung, notified_at=now)
    return life, Notice("raised", rung, ladder.rungs[rung].notify)


def start_rung(ladder: Ladder, reached: str) -> int:
    """The rung of `ladder` an alert raised again (upgraded) starts on, having reached the
    role `reached` on its old ladder: never back down to a more junior role. The rung naming
    that role; else, built-in roles comparing by `SENIORITY`, the first rung at least as
    senior (the top rung if none is); else (a trust's own roles) the first rung."""
    roles = [rung.notify for rung in ladder.rungs]
    if reached in roles:
        return roles.index(reached)
    if reached not in SENIORITY or not all(role in SENIORITY for role in roles):
        return 0
    limit = SENIORITY.index(reached)
    return next(
        (n for n, role in enumerate(roles) if SENIORITY.index(role) >= limit), len(roles) - 1
    )


def advance(life: Lifecycle, now: datetime) -> tuple[Lifecycle, list[Notice]]:
    """What the clock does by `now`: escalations up the ladder, then a re-notification.

    Unacknowledged alerts only. Each rung passed is its own notice (a long outage of the
    service does not skip a rung in the audit); the current rung is re-notified when it has
    not been told for `renotify` seconds, at most once per call.
    """
    notices: list[Notice] = []
    if life.state not in ("raised", "escalated"):
        return life, notices
    rungs = life.ladder.rungs
    while life.rung + 1 < len(rungs):
        rung = rungs[life.rung + 1]
        at = life.raised_at + timedelta(seconds=rung.after)
        if now < at:
            break
        life = replace(life, state="escalated", rung=life.rung + 1, notified_at=at, renotified=0)
        notices.append(Notice("escalated", life.rung, rung.notify))
    told = life.notified_at or life.raised_at
    if now >= told + timedelta(seconds=life.ladder.renotify):
        life = replace(life, notified_at=now, renotified=life.renotified + 1)
        notices.append(Notice(life.state, life.rung, rungs[life.rung].notify, life.renotified))
    return life, notices


def escalate_now(life: Lifecycle, now: datetime) -> tuple[Lifecycle, Notice | None]:
    """Up one rung at once, ahead of the ladder's time (a late set has become missed).
    Nothing when acknowledged, closed, or already on the top rung."""
    rungs = life.ladder.rungs
    if life.state not in ("raised", "escalated") or life.rung + 1 >= len(rungs):
        return life, None
    life = replace(life, state="escalated", rung=life.rung + 1, notified_at=now, renotified=0)
    return life, Notice("escalated", life.rung, rungs[life.rung].notify)


def acknowledge(life: Lifecycle, by: str, now: datetime) -> tuple[Lifecycle, Notice]:
    """Someone has it: the climb stops. Refused if already acknowledged or closed."""
    if life.state == "acknowledged":
        who = life.acknowledged_by or "someone"
        raise LifecycleError("alert-state", f"already acknowledged (by {who})")
    if life.state == "resolved":
        raise LifecycleError("unknown-alert", "already resolved")
    life = replace(life, state="acknowledged", acknowledged_by=by)
    return life, Notice("acknowledged", life.rung, None, by=by)


def resolve(life: Lifecycle, by: str, reason: str, now: datetime) -> tuple[Lifecycle, Notice]:
    """Closed, with a reason (required), from any open state."""
    if not reason.strip():
        raise LifecycleError("invalid", "a reason is required to resolve or stand down an alert")
    if life.state == "resolved":
        raise LifecycleError("unknown-alert", "already resolved")
    life = replace(life, state="resolved")
    return life, Notice("resolved", life.rung, None, by=by, reason=reason.strip())
