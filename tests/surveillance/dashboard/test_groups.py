"""Equity groups from CONTRACT §2's fields, and the reporting periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from surveillance.dashboard import (
    DIMENSIONS,
    Person,
    age_group,
    ethnicity_group,
    imd_group,
    need_groups,
    overlap_micros,
    period_spans,
    sex_group,
)

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("codes", "group"),
    [("ABC", "White"), ("DEFG", "Mixed"), ("HJKL", "Asian"), ("MNP", "Black"), ("RS", "Other"),
     ("Z", "not stated")],
)  # fmt: skip
def test_the_five_group_roll_up(codes, group):
    assert {ethnicity_group(c) for c in codes} == {group}


@pytest.mark.parametrize("value", ["99", None, "I", "O", "Q", "a", "", 3, ["A"]])
def test_anything_else_is_not_known(value):
    assert ethnicity_group(value) == "not known"


def test_not_stated_and_not_known_are_always_listed():
    assert DIMENSIONS["ethnicity"][-2:] == ("not stated", "not known")
    assert all("not known" in groups or dim == "needs" for dim, groups in DIMENSIONS.items())


@pytest.mark.parametrize(
    ("code", "group"), [("1", "male"), ("2", "female"), ("9", "indeterminate"), ("X", "not known"),
                        (None, "not known"), (1, "male"), ("0", "not known")],
)  # fmt: skip
def test_sex(code, group):
    assert sex_group(code) == group


@pytest.mark.parametrize(
    ("decile", "group"),
    [(1, "Q1 (most deprived)"), (2, "Q1 (most deprived)"), (3, "Q2"), (6, "Q3"), (8, "Q4"),
     (10, "Q5 (least deprived)"), (0, "not known"), (11, "not known"), (None, "not known"),
     ("3", "not known"), (True, "not known"), (2.5, "not known")],
)  # fmt: skip
def test_imd_quintiles(decile, group):
    assert imd_group(decile) == group


@pytest.mark.parametrize(
    ("born", "group"),
    [("2026-11-03", "not known"), ("2008-11-03", "0-17"), ("2008-11-02", "18-44"),
     ("1981-11-03", "18-44"), ("1981-11-02", "45-64"), ("1961-11-02", "65-74"),
     ("1951-11-02", "75-84"), ("1941-11-02", "85+"), ("not a date", "not known"),
     (None, "not known")],
)  # fmt: skip
def test_age_bands_in_whole_years_on_the_day(born, group):
    assert age_group(born, date(2026, 11, 2)) == group


def test_needs_may_be_several_and_none_is_a_group():
    assert need_groups(["dementia", "autism", "autism", "other"]) == ("autism", "dementia")
    assert need_groups([]) == need_groups(None) == need_groups("autism") == ("none recorded",)


def test_a_person_from_an_adt_context():
    person = Person.from_context(
        {"sex": "2", "ethnicity": "M", "imd_decile": 4, "needs": ["mental-health"],
         "birth_date": "1950-01-01"}
    )  # fmt: skip
    day = date(2026, 11, 2)
    assert [person.groups(d, day) for d in DIMENSIONS] == [
        ("female",),
        ("Black",),
        ("75-84",),
        ("Q2",),
        ("mental-health",),
    ]
    with pytest.raises(ValueError, match="unknown equity dimension"):
        person.groups("religion", day)


def test_days_follow_the_local_calendar_across_the_clock_change():
    since = datetime(2026, 10, 24, 23, tzinfo=UTC)  # local midnight (BST) starting the 25th
    until = datetime(2026, 10, 27, tzinfo=UTC)  # local midnight (GMT) ending the 26th
    spans = period_spans(since, until, "day", LONDON)
    assert [s.label for s in spans] == ["2026-10-25", "2026-10-26"]
    assert [(s.end - s.start).total_seconds() / 3600 for s in spans] == [25, 24]
    assert spans[0].start == since
    assert spans[-1].end == until
    assert not any(s.partial for s in spans)
    assert period_spans(since, until - timedelta(hours=1), "day", LONDON)[-1].partial


def test_weeks_start_on_monday_and_months_on_the_first():
    since, until = datetime(2026, 11, 4, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)
    weeks = period_spans(since, until, "week", LONDON)
    assert weeks[0].label == "2026-11-02"
    assert weeks[0].partial
    assert weeks[0].start == since
    assert weeks[1].label == "2026-11-09"
    assert not weeks[1].partial
    months = period_spans(since, until, "month", LONDON)
    assert [m.label for m in months] == ["2026-11-01", "2026-12-01", "2027-01-01"]


@pytest.mark.parametrize(
    ("since", "until", "period"),
    [(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "day"),
     (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), "year")],
)  # fmt: skip
def test_bad_windows_and_periods_are_refused(since, until, period):
    with pytest.raises(ValueError, match=r"\w"):
        period_spans(since, until, period, LONDON)


@pytest.mark.parametrize(
    ("lo", "hi", "hours"),
    [
        (datetime(2027, 3, 27, tzinfo=LONDON), datetime(2027, 3, 29, tzinfo=LONDON), 47),
        (datetime(2026, 10, 24, tzinfo=LONDON), datetime(2026, 10, 26, tzinfo=LONDON), 49),
        (datetime(2026, 11, 2, tzinfo=LONDON), datetime(2026, 11, 4, tzinfo=LONDON), 48),
    ],
)
def test_a_stay_across_the_clocks_changing_counts_the_hours_that_passed(lo, hi, hours):
    """A window from local midnight to local midnight (both of London's `tzinfo`) over the
    clocks going forward (47 h) or back (49 h): Python's wall-clock subtraction of two times of
    one `tzinfo` was an hour out, so patient-days from rows differed from PostgreSQL's."""
    stay_start = datetime(2026, 1, 1, tzinfo=UTC)
    assert overlap_micros(stay_start, None, lo, hi) == hours * 3_600_000_000
    assert overlap_micros(stay_start, hi + timedelta(days=1), lo, hi) == hours * 3_600_000_000
