"""The alert-response report (issue 6): how fast alerts are acknowledged and how often they
are escalated, per ward and shift. Pure: records in, a `Report` out; no I/O and no clock
(`until` is an argument). `surveillance._history.report_from_store` reads the store for it.

Which alerts: those RAISED in `[since, until)`, each with what happened to it before `until`
(an event at or after `until` has not happened yet, so a report of a past window is the same
whenever it is made). An alert's raised time is the time of its first event (`seq` 1); when
that event is not among the records, the `raised_at` its later events carry; when neither is
there, its start is unknown and it is counted in `Report.alerts_start_unknown`, not in a row.
An alert raised before `since` with later events inside the window is not counted: it belongs
to the window it was raised in. An alert's ward and kind are those of its first event (a
transfer does not move its past). Its story ends at its first `resolved` event.

Per alert, before `until`:
- acknowledged: it has an `acknowledged` event; time to acknowledge = the first one's time −
  raised time (never below 0).
- escalated: it has at least one `escalated` event (acknowledged or not); `escalated_to` counts
  the role (`notify`) of the last escalation it reached, when the event names one.
- resolved, with the `reason` of its `resolved` event (`(none)` when it has none, as a feed
  alert resolved by the device sending again); open at `until`: no `resolved` event.

Outcomes (the audit: every alert raised is in exactly one, so they sum to `raised`):
`acknowledged`; else `escalated_unacknowledged`; else `stood_down` (resolved, never
acknowledged nor escalated: the cause went away, the patient left, a person stood it down);
else `open_unacknowledged` (nobody has answered yet, and it has not been escalated).

Shifts are local wall-clock start times in the hospital's zone (default `day` 07:30, `night`
19:30, Europe/London). An alert belongs to the shift whose start is the latest at or before
its local time of day, wrapping round midnight, and to the date that shift started on: an
alert at 02:00 on the 12th is in the night shift of the 11th. Across a change of the clocks
the shift still starts at its wall-clock time, so that night is an hour shorter or longer.

Percentiles (median, 90th) interpolate linearly between the two nearest ranks (numpy's and
Excel's PERCENTILE.INC default): the median of an even count is the mean of the middle two.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from surveillance.store import AlertRecord

__all__ = [
    "DEFAULT_SHIFTS",
    "NO_REASON",
    "AlertStats",
    "Outcomes",
    "Report",
    "Shift",
    "ShiftStats",
    "WardStats",
    "alert_report",
    "check_window",
    "percentile",
    "shift_of",
]

NO_REASON: Final = "(none)"
"""The reason counted for a resolution whose event gives none."""


class Shift(msgspec.Struct, frozen=True):
    """A shift: its name and its local wall-clock start (a naive time of day)."""

    name: str
    start: time


DEFAULT_SHIFTS: Final = (Shift("day", time(7, 30)), Shift("night", time(19, 30)))


class Outcomes(msgspec.Struct, frozen=True, kw_only=True):
    """Every alert raised in exactly one bucket: they sum to `AlertStats.raised`."""

    acknowledged: int = 0
    escalated_unacknowledged: int = 0
    stood_down: int = 0
    open_unacknowledged: int = 0

    def total(self) -> int:
        """The alerts counted (equal to `raised`)."""
        return (
            self.acknowledged
            + self.escalated_unacknowledged
            + self.stood_down
            + self.open_unacknowledged
        )


class AlertStats(msgspec.Struct, frozen=True, kw_only=True):
    """What happened to a group of alerts by `until`. Times are seconds; shares are 0–1, None
    when nothing was raised; the `*_within_target` fields are None when no target was given.

    Attributes:
        raised: alerts raised in the window; `raised_by_kind` splits them by kind.
        acknowledged: alerts with an acknowledgement; `ack_median_seconds` and
            `ack_p90_seconds` are over these only (None when there are none).
        acknowledged_within_target: alerts acknowledged no later than the target;
            `share_acknowledged_within_target` divides by `raised` (an alert never
            acknowledged did not meet the target).
        escalated: alerts with at least one `escalated` event; `share_escalated` = / raised.
        escalated_to: escalated alerts by the role told at the last escalation they reached.
        resolved: alerts resolved; `resolved_reasons` counts them by reason.
        open_at_until: alerts with no `resolved` event (acknowledged or not).
        outcomes: each alert in one bucket (see the module's docstring).
    """

    raised: int
    raised_by_kind: dict[str, int]
    acknowledged: int
    ack_median_seconds: float | None
    ack_p90_seconds: float | None
    acknowledged_within_target: int | None
    share_acknowledged_within_target: float | None
    escalated: int
    share_escalated: float | None
    escalated_to: dict[str, int]
    resolved: int
    resolved_reasons: dict[str, int]
    open_at_until: int
    outcomes: Outcomes


class WardStats(AlertStats, frozen=True, kw_only=True):
    """One ward over the whole window."""

    ward: str


class ShiftStats(WardStats, frozen=True, kw_only=True):
    """One ward in one shift: `shift` started at `shift_start` (local), on `shift_date`."""

    shift_date: date
    shift: str
    shift_start: datetime


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """The alert-response report of alerts raised in `[since, until)`.

    Attributes:
        by_shift: per ward, shift date and shift (by ward, then time); only groups with alerts.
        by_ward: per ward over the window.
        total: the hospital (or the wards asked for).
        wards: the wards asked for (None: all).
        alerts_start_unknown: alerts left out because neither their first event nor a
            `raised_at` is among the records (their raised time is unknown).
    """

    since: datetime
    until: datetime
    timezone: str
    shifts: list[Shift]
    ack_target_seconds: float | None
    wards: list[str] | None
    by_shift: list[ShiftStats]
    by_ward: list[WardStats]
    total: AlertStats
    alerts_start_unknown: int

    def to_json(self) -> bytes:
        """The report as JSON (datetimes ISO 8601 with their offsets)."""
        return msgspec.json.encode(self)

    def to_builtins(self) -> dict[str, Any]:
        """The report as JSON-ready dicts and lists (for a web framework's response)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


def alert_report(
    records: Iterable[AlertRecord],
    *,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    shifts: Sequence[Shift] = DEFAULT_SHIFTS,
    ack_target: timedelta | None = None,
    wards: Collection[str] | None = None,
) -> Report:
    """The report of the alerts raised in `[since, until)`, from their events.

    Args:
        records: alert events, in any order, of at least the alerts raised in the window (more
            is fine: others are left out). Events at or after `until` are ignored.
        since, until: the window (timezone-aware).
        tz: the hospital's zone, in which shifts start.
        shifts: the shifts of a day (any order; distinct names and start times).
        ack_target: an acknowledgement target (adds the `*_within_target` fields).
        wards: only these wards (by the ward each alert was raised on); None: all.

    Raises:
        ValueError: naive or empty window, no shifts, repeated shift names or start times.
    """
    ordered = check_window(since, until, shifts)
    if wards is not None:  # a set, and one ward given as a string is not its letters
        wards = frozenset([wards] if isinstance(wards, str) else wards)
    stories, unknown = _stories(records, since=since, until=until, wards=wards)
    target = None if ack_target is None else ack_target.total_seconds()
    per_shift: dict[tuple[str, date, int], list[_Story]] = {}
    per_ward: dict[str, list[_Story]] = {}
    for story in stories:
        day, index = _shift_index(story.raised, tz, ordered)
        per_shift.setdefault((story.ward, day, index), []).append(story)
        per_ward.setdefault(story.ward, []).append(story)
    by_shift = [
        ShiftStats(
            ward=ward,
            shift_date=day,
            shift=ordered[index].name,
            shift_start=datetime.combine(day, ordered[index].start, tzinfo=tz),
            **_stats(group, target),
        )
        for (ward, day, index), group in sorted(per_shift.items())
    ]
    by_ward = [
        WardStats(ward=ward, **_stats(group, target)) for ward, group in sorted(per_ward.items())
    ]
    return Report(
        since=since,
        until=until,
        timezone=tz.key,
        shifts=list(shifts),
        ack_target_seconds=target,
        wards=None if wards is None else sorted(wards),
        by_shift=by_shift,
        by_ward=by_ward,
        total=AlertStats(**_stats(stories, target)),
        alerts_start_unknown=unknown,
    )


def shift_of(
    moment: datetime, tz: ZoneInfo, shifts: Sequence[Shift] = DEFAULT_SHIFTS
) -> tuple[date, Shift]:
    """The shift `moment` falls in, and the local date that shift started on."""
    if not shifts:
        msg = "at least one shift is needed"
        raise ValueError(msg)
    ordered = sorted(shifts, key=lambda shift: shift.start)
    day, index = _shift_index(moment, tz, ordered)
    return day, ordered[index]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0–100) of `values`, linear between the two nearest ranks; None
    for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def check_window(since: datetime, until: datetime, shifts: Sequence[Shift]) -> list[Shift]:
    """The shifts by start time, once the window and shifts are checked.

    Raises:
        ValueError: naive or empty window, no shifts, repeated shift names or start times.
    """
    if since.utcoffset() is None or until.utcoffset() is None:
        msg = "since and until must be timezone-aware"
        raise ValueError(msg)
    if since >= until:
        msg = f"empty window: since ({since.isoformat()}) is not before until ({until.isoformat()})"
        raise ValueError(msg)
    if not shifts:
        msg = "at least one shift is needed"
        raise ValueError(msg)
    names = [shift.name for shift in shifts]
    starts = [shift.start for shift in shifts]
    if len(set(names)) != len(names):
        msg = f"shift names must differ: {names}"
        raise ValueError(msg)
    if len(set(starts)) != len(starts) or any(start.tzinfo is not None for start in starts):
        msg = f"shift starts must be distinct local times of day without a zone: {[s.isoformat() for s in starts]}"
        raise ValueError(msg)
    return sorted(shifts, key=lambda shift: shift.start)


# -- internals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Story:
    """One alert raised in the window, as of `until`."""

    ward: str
    kind: str
    raised: datetime
    ack_seconds: float | None
    escalated: bool
    escalated_to: str | None
    resolved: bool
    reason: str | None


def _shift_index(moment: datetime, tz: ZoneInfo, ordered: Sequence[Shift]) -> tuple[date, int]:
    local = moment.astimezone(tz)
    index = bisect_right([shift.start for shift in ordered], local.time()) - 1
    if index < 0:  # before the first start of the day: the last shift of the day before
        return local.date() - timedelta(days=1), len(ordered) - 1
    return local.date(), index


def _stories(
    records: Iterable[AlertRecord],
    *,
    since: datetime,
    until: datetime,
    wards: Collection[str] | None,
) -> tuple[list[_Story], int]:
    events: dict[str, dict[int, AlertRecord]] = {}
    for record in records:
        events.setdefault(record.alert_id, {}).setdefault(record.seq, record)
    stories: list[_Story] = []
    unknown = 0
    for by_seq in events.values():
        ordered = [by_seq[seq] for seq in sorted(by_seq)]
        first = ordered[0]
        raised = first.time if first.seq == 1 else _raised_at(ordered)
        if raised is None:
            unknown += 1
            continue
        if not since <= raised < until or (wards is not None and first.ward not in wards):
            continue
        stories.append(_story(first, raised, ordered, until))
    return stories, unknown


def _event(record: AlertRecord) -> dict[str, Any]:
    """The alert event's JSON (records carry it encoded)."""
    event: dict[str, Any] = msgspec.json.decode(record.event)
    return event


def _raised_at(events: Sequence[AlertRecord]) -> datetime | None:
    """The `raised_at` an event carries (the alert's first event's time), if any does."""
    for record in events:
        value = _event(record).get("raised_at")
        if isinstance(value, datetime):
            moment: datetime | None = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
        else:
            continue
        if moment is not None and moment.utcoffset() is not None:
            return moment
    return None


def _story(
    first: AlertRecord, raised: datetime, events: Sequence[AlertRecord], until: datetime
) -> _Story:
    acked: datetime | None = None
    escalated, escalated_to = False, None
    resolved, reason = False, None
    for record in events:
        if record.time >= until:
            continue
        if record.state == "acknowledged" and acked is None:
            acked = record.time
        elif record.state == "escalated":
            escalated = True
            notify = _event(record).get("notify")
            escalated_to = notify if isinstance(notify, str) and notify else escalated_to
        elif record.state == "resolved":
            resolved = True
            given = _event(record).get("reason")
            reason = given.strip() if isinstance(given, str) and given.strip() else None
            break
    return _Story(
        ward=first.ward,
        kind=first.kind,
        raised=raised,
        ack_seconds=None if acked is None else max(0.0, (acked - raised).total_seconds()),
        escalated=escalated,
        escalated_to=escalated_to if escalated else None,
        resolved=resolved,
        reason=reason,
    )


def _stats(stories: Sequence[_Story], target: float | None) -> dict[str, Any]:
    raised = len(stories)
    acks = [story.ack_seconds for story in stories if story.ack_seconds is not None]
    escalated = sum(story.escalated for story in stories)
    within = None if target is None else sum(seconds <= target for seconds in acks)
    outcomes = Counter(_outcome(story) for story in stories)
    return {
        "raised": raised,
        "raised_by_kind": dict(sorted(Counter(story.kind for story in stories).items())),
        "acknowledged": len(acks),
        "ack_median_seconds": percentile(acks, 50),
        "ack_p90_seconds": percentile(acks, 90),
        "acknowledged_within_target": within,
        "share_acknowledged_within_target": _share(within, raised),
        "escalated": escalated,
        "share_escalated": _share(escalated, raised),
        "escalated_to": dict(
            sorted(Counter(s.escalated_to for s in stories if s.escalated_to).items())
        ),
        "resolved": sum(story.resolved for story in stories),
        "resolved_reasons": dict(
            sorted(Counter(s.reason or NO_REASON for s in stories if s.resolved).items())
        ),
        "open_at_until": sum(not story.resolved for story in stories),
        "outcomes": Outcomes(**outcomes),
    }


def _outcome(story: _Story) -> str:
    if story.ack_seconds is not None:
        return "acknowledged"
    if story.escalated:
        return "escalated_unacknowledged"
    if story.resolved:
        return "stood_down"
    return "open_unacknowledged"


def _share(count: int | None, of: int) -> float | None:
    return None if count is None or of == 0 else count / of
