"""When the next observation set is due, and how late it is: pure, the clock is an argument.

The states follow the wallboard and closing-the-loop issues (#5, #6): a set is **due** from its
due time, **late** once it is 33 % of the monitoring interval overdue and **missed** at 67 %.
For a 12-hourly patient that is late 4 h (rounded: 3.96 h) and missed 8 h after the due time;
for an hourly patient, 20 and 40 min.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

LATE_FRACTION: Final = 0.33
"""Overdue by this share of the interval: late."""
MISSED_FRACTION: Final = 0.67
"""Overdue by this share of the interval: missed."""

ObsStatus = Literal["ok", "due", "late", "missed", "unknown"]


@dataclass(frozen=True, slots=True)
class ObsTiming:
    """The timing of a patient's next observation set.

    Attributes:
        last: the set the due time counts from.
        due: when the next set is due (None: the chart gives no interval).
        interval: `due - last`.
        late_at: when it becomes late; `missed_at`: when missed (None without a due time).
        status: `ok` (not yet due), `due`, `late`, `missed`; `unknown` without a due time.
    """

    last: datetime
    due: datetime | None
    interval: timedelta | None
    late_at: datetime | None
    missed_at: datetime | None
    status: ObsStatus


def obs_timing(last: datetime, due: datetime | None, now: datetime) -> ObsTiming:
    """The status at `now` of the set due at `due`, counted from the set taken at `last`."""
    if due is None or due <= last:
        return ObsTiming(last, due, None, None, None, "unknown")
    interval = due - last
    late_at = due + interval * LATE_FRACTION
    missed_at = due + interval * MISSED_FRACTION
    status: ObsStatus
    if now < due:
        status = "ok"
    elif now < late_at:
        status = "due"
    elif now < missed_at:
        status = "late"
    else:
        status = "missed"
    return ObsTiming(last, due, interval, late_at, missed_at, status)
