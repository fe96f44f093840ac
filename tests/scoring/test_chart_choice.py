"""Which chart scores a patient: cohort, forced chart, and the PEWS age chart by completed age."""

from __future__ import annotations

from datetime import date

import pytest

from scoring import InvalidObservation, completed_years, score
from tests.factories import make_ctx, make_obs

OBS = {"resp_rate": 30}


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (date(2020, 3, 15), date(2021, 3, 14), 0),
        (date(2020, 3, 15), date(2021, 3, 15), 1),
        (date(2020, 2, 29), date(2021, 2, 28), 0),  # a leap-day birthday falls on 1 March
        (date(2020, 2, 29), date(2021, 3, 1), 1),
        (date(2020, 2, 29), date(2024, 2, 29), 4),
        (date(2010, 12, 31), date(2023, 12, 30), 12),
        (date(2010, 12, 31), date(2023, 12, 31), 13),
    ],
)
def test_completed_years(birth, on, years):
    assert completed_years(birth, on) == years


@pytest.mark.parametrize(
    ("birth_date", "time", "chart"),
    [
        ("2025-11-23", "2026-11-22T12:00:00Z", "pews-nhse-2023-0-11m"),  # day before 1st birthday
        ("2025-11-22", "2026-11-22T12:00:00Z", "pews-nhse-2023-1-4y"),  # day of
        ("2021-11-23", "2026-11-22T12:00:00Z", "pews-nhse-2023-1-4y"),  # day before 5th
        ("2021-11-22", "2026-11-22T12:00:00Z", "pews-nhse-2023-5-12y"),
        ("2013-11-23", "2026-11-22T12:00:00Z", "pews-nhse-2023-5-12y"),  # day before 13th
        ("2013-11-22", "2026-11-22T12:00:00Z", "pews-nhse-2023-13+y"),
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): the birthday has come.
        ("2025-07-01", "2026-06-30T23:30:00Z", "pews-nhse-2023-1-4y"),
        ("2025-07-01", "2026-06-30T22:30:00Z", "pews-nhse-2023-0-11m"),
        ("2026-11-22", "2026-11-22T00:00:00Z", "pews-nhse-2023-0-11m"),  # born today
    ],
)
def test_pews_age_chart_by_completed_age_at_observation(charts, birth_date, time, chart):
    result = score(
        make_obs(OBS, time=time), make_ctx(cohort="child", birth_date=birth_date), charts
    )
    assert result.chart == chart
    assert result.system == "PEWS"


@pytest.mark.parametrize(
    ("band", "allowed"),
    [("0-11m", True), ("5-12y", True), ("1-4y", True), ("13+y", False)],
)
def test_age_band_beside_birth_date_may_name_the_adjacent_chart_only(charts, band, allowed):
    ctx = make_ctx(cohort="child", birth_date="2023-01-01", age_band=band)  # a 3-year-old
    if allowed:
        assert score(make_obs(OBS), ctx, charts).chart == f"pews-nhse-2023-{band}"
    else:
        with pytest.raises(InvalidObservation, match="age_band 13\\+y"):
            score(make_obs(OBS), ctx, charts)


def test_age_band_alone_chooses_the_chart(charts):
    assert (
        score(make_obs(OBS), make_ctx(cohort="child", age_band="13+y"), charts).chart
        == "pews-nhse-2023-13+y"
    )


@pytest.mark.parametrize(
    ("ctx", "code", "text"),
    [
        ({"cohort": "child"}, "no-chart", "needs context.birth_date or context.age_band"),
        ({"cohort": "child", "birth_date": "2027-01-01"}, "contradictory", "after the observation"),
        ({}, "no-chart", "needs a cohort"),
        ({"chart": "news3"}, "no-chart", "unknown chart 'news3'"),
        ({"cohort": "adult", "patient_id": "P9"}, "contradictory", "context is for P9"),
    ],
)
def test_no_chart_is_a_clear_refusal(charts, ctx, code, text):
    with pytest.raises(InvalidObservation) as info:
        score(make_obs(OBS), make_ctx(**ctx), charts)
    assert info.value.code == code
    assert text in str(info.value)


@pytest.mark.parametrize(
    ("ctx", "chart"),
    [
        ({"cohort": "adult"}, "news2"),
        ({"cohort": "maternity"}, "meows-send"),
        ({"cohort": "adult", "chart": "mews-subbe-2001"}, "mews-subbe-2001"),
        ({"cohort": "child", "chart": "pews-nhse-2023-5-12y"}, "pews-nhse-2023-5-12y"),
        ({"chart": "pews-nhse-2023", "age_band": "1-4y"}, "pews-nhse-2023-1-4y"),
    ],
)
def test_cohort_or_forced_chart(charts, ctx, chart):
    assert score(make_obs(OBS), make_ctx(**ctx), charts).chart == chart
