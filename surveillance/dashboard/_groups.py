"""Equity groups (CONTRACT §2's ADT fields) and reporting periods; pure.

Every patient falls in exactly one group of `sex`, `ethnicity`, `age` and `imd`, "not known" or
"not stated" included (always listed, even when empty); `needs` is not a partition: a patient is
in each recorded need's group, or in "none recorded".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month"]
PERIODS: Final = ("day", "week", "month")

SEX_GROUPS: Final = ("male", "female", "indeterminate", "not known")
ETHNICITY_GROUPS: Final = ("White", "Mixed", "Asian", "Black", "Other", "not stated", "not known")
AGE_GROUPS: Final = ("0-17", "18-44", "45-64", "65-74", "75-84", "85+", "not known")
IMD_GROUPS: Final = (
    "Q1 (most deprived)",
    "Q2",
    "Q3",
    "Q4",
    "Q5 (least deprived)",
    "not known",
)
NEEDS: Final = ("learning-disability", "autism", "physical-disability", "mental-health", "dementia")
NEED_GROUPS: Final = (*NEEDS, "none recorded")
DIMENSIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "sex": SEX_GROUPS,
    "ethnicity": ETHNICITY_GROUPS,
    "age": AGE_GROUPS,
    "imd": IMD_GROUPS,
    "needs": NEED_GROUPS,
}
"""Each equity dimension and its groups, in the order shown."""
PARTITIONS: Final = frozenset({"sex", "ethnicity", "age", "imd"})
"""The dimensions in which every patient is in exactly one group (`needs` is not one)."""

_SEX: Final = {"1": "male", "2": "female", "9": "indeterminate"}
_ETHNIC: Final = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
    "Z": "not stated",
}
_AGE_BOUNDS: Final = ((18, "0-17"), (45, "18-44"), (65, "45-64"), (75, "65-74"), (85, "75-84"))


def sex_group(value: Any) -> str:
    """NHS person stated gender code: 1 male, 2 female, 9 indeterminate; X, absent or anything
    else "not known"."""
    return _SEX.get(str(value), "not known") if value is not None else "not known"


def ethnicity_group(value: Any) -> str:
    """The NHS ethnic category's five-group roll-up: White A–C, Mixed D–G, Asian H–L, Black
    M–P, Other R–S; Z "not stated"; 99, absent or unrecognised "not known"."""
    return _ETHNIC.get(value, "not known") if isinstance(value, str) else "not known"


def age_group(birth_date: Any, on: date) -> str:
    """The age band on `on` (whole years) from an ISO `birth_date`; "not known" without one or
    with one that is not a date or is after `on`."""
    if not isinstance(birth_date, str):
        return "not known"
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        return "not known"
    if born > on:
        return "not known"
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return next((label for bound, label in _AGE_BOUNDS if years < bound), "85+")


def imd_group(decile: Any) -> str:
    """IMD quintile from the decile: 1–2 Q1 (most deprived) … 9–10 Q5; else "not known"."""
    if isinstance(decile, bool) or not isinstance(decile, int) or not 1 <= decile <= 10:
        return "not known"
    return IMD_GROUPS[(decile - 1) // 2]


def need_groups(needs: Any) -> tuple[str, ...]:
    """The recorded needs among CONTRACT §2's five (each once, in their order), or
    ("none recorded",)."""
    found = tuple(n for n in NEEDS if isinstance(needs, list | tuple) and n in needs)
    return found or ("none recorded",)


@dataclass(frozen=True, slots=True)
class Person:
    """A patient's equity fields, from their latest ADT (admit or transfer) context."""

    sex: str = "not known"
    ethnicity: str = "not known"
    imd: str = "not known"
    needs: tuple[str, ...] = ("none recorded",)
    birth_date: str | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Person:
        birth = context.get("birth_date")
        return cls(
            sex=sex_group(context.get("sex")),
            ethnicity=ethnicity_group(context.get("ethnicity")),
            imd=imd_group(context.get("imd_decile")),
            needs=need_groups(context.get("needs")),
            birth_date=birth if isinstance(birth, str) else None,
        )

    def groups(self, dimension: str, on: date) -> tuple[str, ...]:
        """The person's groups in `dimension` on the date `on` (one, but for `needs`)."""
        if dimension == "sex":
            return (self.sex,)
        if dimension == "ethnicity":
            return (self.ethnicity,)
        if dimension == "age":
            return (age_group(self.birth_date, on),)
        if dimension == "imd":
            return (self.imd,)
        if dimension == "needs":
            return self.needs
        raise ValueError(f"unknown equity dimension {dimension!r}")


UNKNOWN_PERSON: Final = Person()


@dataclass(frozen=True, slots=True)
class PeriodSpan:
    """One reporting period: its label (its first local date; weeks start on Monday), and its
    UTC bounds `[start, end)` clipped to the dashboard's window (`partial` when clipped)."""

    label: str
    start: datetime
    end: datetime
    partial: bool


def period_spans(
    since: datetime, until: datetime, period: Period, tz: ZoneInfo
) -> list[PeriodSpan]:
    """The periods covering `[since, until)` in the hospital's local calendar.

    Raises:
        ValueError: an empty window or an unknown period.
    """
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r} (one of {', '.join(PERIODS)})")
    if not since < until:
        raise ValueError("the window is empty: since must be before until")
    first = period_start(since.astimezone(tz).date(), period)
    spans = []
    day = first
    while True:
        following = _next(day, period)
        start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        end = datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)
        if start >= until:
            break
        clipped = (max(start, since), min(end, until))
        spans.append(PeriodSpan(day.isoformat(), *clipped, clipped != (start, end)))
        day = following
    return spans


def period_start(day: date, period: Period) -> date:
    """The first date of the period holding `day`."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _next(day: date, period: Period) -> date:
    if period == "day":
        return day + timedelta(days=1)
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def span_of(spans: Sequence[PeriodSpan], moment: datetime) -> int | None:
    """The index of the period holding `moment`, None outside them all."""
    i = bisect_right(spans, moment, key=_end)
    return i if i < len(spans) and spans[i].start <= moment else None


_end: Final = attrgetter("end")
