"""Each measure on hand-built store contents, through the real store (SQLite; the same rows
through PostgreSQL in test_postgres.py): the numbers worked out by hand in each case."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from surveillance.dashboard import HOSPITAL, SUPPRESSED, Dashboard, compute_dashboard
from surveillance.store import open_store
from tests.surveillance.dashboard.builder import T0, H, Hospital, M, at

LONDON = ZoneInfo("Europe/London")
UNTIL = T0 + timedelta(days=7)


async def dashboard_of(h: Hospital, url: str, **options) -> Dashboard:
    async with open_store(url) as store:
        await store.write(h.batch)
        rows = await store.dashboard_rows(T0, UNTIL)
    return compute_dashboard(
        rows, since=T0, until=UNTIL, period=options.pop("period", "day"), tz=LONDON, **options
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def scope(d: Dashboard, measure: str, name: str = HOSPITAL):
    m = next(m for m in d.measures if m.id == measure)
    return next(s for s in m.scopes if s.scope == name)


def totals(d: Dashboard, measure: str, name: str = HOSPITAL):
    s = scope(d, measure, name)
    return s.numerator, s.denominator, s.value


# Observations: a 4-hourly set at 01:00 is due at 05:00 (I = 240 min): late from 05:00 + 79.2
# min, missed from 05:00 + 160.8 min. (patient, the next nurse's set, discharge, expected)
DUE = at(5)
OBS_CASES = [
    ("early", at(4.5), None, "on-time"),
    ("just on time", DUE + 79 * M, None, "on-time"),
    ("just late", DUE + 80 * M, None, "late"),
    ("late to the edge", DUE + 160 * M, None, "late"),
    ("just missed", DUE + 161 * M, None, "missed"),
    ("never, still in", None, None, "missed"),
    ("never, gone before missed", None, at(6), None),
    ("never, gone after missed", None, DUE + 3 * H, "missed"),
]


async def test_observations_on_time_late_and_missed(url):
    h = Hospital()
    expected = {"on-time": 0, "late": 0, "missed": 0}
    for patient, following, gone, outcome in OBS_CASES:
        h.admit(patient, "A", at(0))
        h.obs(patient, "A", at(1), DUE)
        if following is not None:
            h.obs(patient, "A", following, None)  # no next due: one due set per patient
        if gone is not None:
            h.adt(patient, "A", "discharge", gone)
        if outcome is not None:
            expected[outcome] += 1
    # a device reading is not the nurse's set: still missed
    h.admit("device", "A", at(0))
    h.obs("device", "A", at(1), DUE)
    h.obs("device", "A", at(5.5), None, source="monitor")
    h.obs("device", "A", at(9), None)
    expected["missed"] += 1
    # no next_obs_due: nothing falls due; due in the last hour of the window: pending
    h.admit("no due", "A", at(0))
    h.obs("no due", "A", at(1), None)
    h.admit("pending", "B", at(0))
    h.obs("pending", "B", UNTIL - 4 * H - 30 * M, UNTIL - 30 * M)  # missed 2 h 10 min after
    d = await dashboard_of(h, url)
    due = sum(expected.values())
    assert expected == {"on-time": 2, "late": 2, "missed": 4}
    assert totals(d, "obs_on_time") == (2, due, pytest.approx(100 * 2 / due, abs=1e-4))
    assert totals(d, "obs_late") == (2, due, pytest.approx(100 * 2 / due, abs=1e-4))
    assert totals(d, "obs_missed") == (4, due, pytest.approx(100 * 4 / due, abs=1e-4))
    assert totals(d, "obs_on_time", "B") == (0, 0, None)
    day0 = scope(d, "obs_missed").series[0]
    assert (day0.period, day0.numerator, day0.denominator) == ("2026-11-02", 4, due)


async def test_a_set_due_counts_on_the_ward_it_was_taken_on(url):
    h = Hospital()
    h.admit("p", "A", at(0))
    h.obs("p", "A", at(1), DUE)
    h.adt("p", "B", "transfer", at(2))
    h.obs("p", "B", at(4), None)  # on time, on the new ward
    d = await dashboard_of(h, url)
    assert totals(d, "obs_on_time", "A") == (1, 1, 100)
    assert totals(d, "obs_on_time", "B") == (0, 0, None)


def score_alerts(h: Hospital) -> None:
    h.admit("p", "A", at(0))
    # (alert, events, severities) -> minutes to acknowledge; within the ladder's time?
    h.alert("a1", "p", "A", [(at(1), "raised"), (at(1) + 10 * M, "acknowledged")])
    h.alert(
        "a2",
        "p",
        "A",
        [(at(2), "raised"), (at(2.5), "escalated"), (at(2) + 36 * M, "acknowledged")],
    )
    h.alert(
        "a3",
        "p",
        "A",
        [(at(3), "raised"), (at(3) + 20 * M, "acknowledged")],
        severity="urgent-ward",
    )
    h.alert(
        "a4",
        "p",
        "A",
        [(at(4), "raised"), (at(4) + 6 * M, "raised"), (at(4) + 12 * M, "acknowledged")],
        severity=["urgent-ward", "emergency", "emergency"],
    )  # an upgrade keeps the clock
    h.alert("a5", "p", "A", [(at(5), "raised"), (at(5.5), "resolved")])
    h.alert(
        "a6",
        "p",
        "A",
        [
            (at(6), "raised"),
            (at(6) + 4 * M, "acknowledged"),
            (at(7), "raised"),
            (at(7) + 30 * M, "acknowledged"),
            (at(8), "resolved"),
        ],
    )
    h.alert(
        "a7",
        "p",
        "A",
        [(at(9), "raised"), (at(9) + 5 * M, "acknowledged")],
        severity="rapid-review",
        system="PEWS",
    )
    h.alert("a8", "p", "A", [(UNTIL - 10 * M, "raised")])  # open at the end  # fmt: skip


async def test_time_to_acknowledge_and_within_the_ladder(url):
    h = Hospital()
    score_alerts(h)
    d = await dashboard_of(h, url)
    minutes = [10, 36, 20, 12, 4, 30, 5]  # a5 and a8 have none
    assert totals(d, "ack_minutes") == (7, 9, 12)  # the median of the seven
    assert sorted(minutes)[3] == 12
    # urgent and above, acknowledged or escalated: a1 yes, a2 no (escalated), a4 yes, a6 twice
    # yes, a7 (PEWS rapid-review) yes; a3 is urgent-ward, a5 stood down, a8 open: not counted
    assert totals(d, "escalation_ack_in_target")[:2] == (5, 6)


async def test_sepsis_prompts_treated_within_the_hour(url):
    h = Hospital()
    for p in ("s1", "s2", "s3", "s4", "s5"):
        h.admit(p, "A", at(0))
    h.alert("x1", "s1", "A", [(at(10), "raised")], kind="sepsis")
    h.event("s1", "A", "sepsis-treatment", at(11))  # exactly an hour: counts
    h.alert("x2", "s2", "A", [(at(10), "raised")], kind="sepsis")
    h.event("s2", "A", "sepsis-treatment", at(11) + M)  # a minute late
    h.alert("x3", "s3", "A", [(at(10), "raised")], kind="sepsis")
    h.event("s3", "A", "sepsis-treatment", at(10) - M)  # before the prompt
    h.alert("x4", "s4", "A", [(at(10), "raised")], kind="sepsis")
    h.event("s5", "A", "sepsis-treatment", at(10.5))  # someone else's
    h.alert("x5", "s5", "A", [(UNTIL - 30 * M, "raised")], kind="sepsis")  # pending
    d = await dashboard_of(h, url)
    assert totals(d, "sepsis_treated_1h")[:2] == (1, 4)


async def test_aki_alerts_acknowledged(url):
    h = Hospital()
    h.admit("p", "A", at(0))
    h.alert(
        "k1", "p", "A", [(at(1), "raised"), (at(2), "acknowledged")], kind="aki", severity="aki-1"
    )
    h.alert("k2", "p", "A", [(at(1), "raised"), (at(2), "resolved")], kind="aki", severity="aki-2")
    h.alert("k3", "p", "A", [(at(1), "raised"), (at(7), "escalated")], kind="aki", severity="aki-3")
    h.alert("k4", "p", "A", [(at(1), "raised")], kind="aki", severity="aki-1")  # pending
    h.alert("k5", "p", "A", [(at(1), "raised"), (at(8), "escalated"), (at(9), "acknowledged")],
            kind="aki", severity="aki-3")  # fmt: skip
    d = await dashboard_of(h, url)
    assert totals(d, "aki_acknowledged")[:2] == (2, 4)


def three_patients(h: Hospital) -> None:
    """A: P1 all week (7 days), P2 days 1-3 (2 days), P3 days 0-2 (2 days); B: P3 days 2-4
    (2 days). Admissions: hospital 3; A 3; B 1 (a transfer in)."""
    h.admit("P1", "A", T0, sex="1", ethnicity="A")
    h.admit("P2", "A", at(24), sex="2", ethnicity="Z")
    h.adt("P2", "A", "discharge", at(72))
    h.admit("P3", "A", T0, ethnicity="99")
    h.adt("P3", "B", "transfer", at(48))
    h.adt("P3", "B", "discharge", at(96))


async def test_harms_per_admission_and_per_bed_day(url):
    h = Hospital()
    three_patients(h)
    h.event("P1", "A", "cardiac-arrest", at(30))
    h.event("P2", "A", "fall", at(40))
    h.event("P3", "B", "fall", at(50))
    h.event("P3", "B", "death", at(95))
    h.event("P3", "B", "death", UNTIL + H)  # after the window: not counted
    d = await dashboard_of(h, url)
    assert totals(d, "cardiac_arrest_per_1000_admissions") == (
        1,
        3,
        pytest.approx(1000 / 3, abs=1e-3),
    )
    assert totals(d, "cardiac_arrest_per_1000_admissions", "A") == (
        1,
        3,
        pytest.approx(1000 / 3, abs=1e-3),
    )
    assert totals(d, "cardiac_arrest_per_1000_admissions", "B") == (0, 1, 0)
    assert totals(d, "death_per_1000_admissions", "B") == (1, 1, 1000)
    assert totals(d, "fall_per_1000_bed_days") == (2, 13, pytest.approx(2000 / 13, abs=1e-3))
    assert totals(d, "fall_per_1000_bed_days", "A") == (1, 11, pytest.approx(1000 / 11, abs=1e-3))
    assert totals(d, "fall_per_1000_bed_days", "B") == (1, 2, 500)
    assert totals(d, "pressure_ulcer_per_1000_bed_days") == (0, 13, 0)
    # the denominators beside each period: day 0 has two admissions and two patient-days
    first = scope(d, "fall_per_1000_bed_days").series[0]
    assert (first.admissions, first.patient_days) == (2, 2)
    assert [p.patient_days for p in scope(d, "fall_per_1000_bed_days").series] == [
        2,
        3,
        3,
        2,
        1,
        1,
        1,
    ]


async def test_alerts_per_100_patient_days_by_kind(url):
    h = Hospital()
    three_patients(h)
    h.alert(
        "o1",
        "P1",
        "A",
        [(at(5), "raised"), (at(6), "resolved")],
        kind="overdue",
        severity="overdue",
    )
    h.alert("o2", "P3", "B", [(at(50), "raised")], kind="overdue", severity="overdue")
    h.alert(
        "f1", "P1", "A", [(T0 - H, "raised"), (at(1), "resolved")], kind="feed", severity="feed"
    )
    d = await dashboard_of(h, url)
    assert totals(d, "alerts_overdue_per_100_patient_days") == (
        2,
        13,
        pytest.approx(200 / 13, abs=1e-3),
    )
    assert totals(d, "alerts_overdue_per_100_patient_days", "B") == (1, 2, 50)
    assert totals(d, "alerts_feed_per_100_patient_days") == (0, 13, 0)  # raised before the window


async def test_equity_split_with_suppression_and_not_stated_shown(url):
    h = Hospital()
    for i in range(12):
        h.admit(f"m{i}", "A", T0 + i * M, sex="1", ethnicity="A")
    for i in range(10):
        h.admit(f"f{i}", "A", T0 + i * M, sex="2", ethnicity="Z")
    for i in range(9):
        h.event(f"m{i}", "A", "cardiac-arrest", at(10))
    for i in range(3):
        h.event(f"f{i}", "A", "cardiac-arrest", at(10))
    d = await dashboard_of(h, url)
    s = scope(d, "cardiac_arrest_per_1000_admissions", "A")
    rows = {(r.dimension, r.group): r for r in s.equity}
    # females' 3 arrests are hidden, and so the males' 9 (the ward's 12 would give them away)
    assert rows["sex", "female"].numerator == SUPPRESSED
    assert rows["sex", "female"].value == rows["sex", "female"].ci_low == SUPPRESSED
    assert rows["sex", "male"].numerator == SUPPRESSED
    assert (rows["sex", "male"].denominator, rows["sex", "female"].denominator) == (12, 10)
    assert (rows["sex", "not known"].numerator, rows["sex", "not known"].value) == (0, None)
    # ethnicity follows the same people: White 9 of 12, "not stated" 3 of 10, both hidden
    assert rows["ethnicity", "not stated"].numerator == SUPPRESSED
    assert rows["ethnicity", "White"].numerator == SUPPRESSED
    # every group of every dimension is listed, "not stated" and "not known" included
    assert [r.group for r in s.equity if r.dimension == "ethnicity"] == [
        "White",
        "Mixed",
        "Asian",
        "Black",
        "Other",
        "not stated",
        "not known",
    ]
    # shown: rates with intervals and the ratio to the hospital's rate
    assert s.numerator == 12
    big = {(r.dimension, r.group): r for r in scope(d, "cardiac_arrest_per_1000_admissions").equity}
    assert big["imd", "not known"].numerator == 12
    assert big["imd", "not known"].denominator == 22
    assert big["imd", "not known"].ratio_to_hospital == 1
    assert (
        big["imd", "not known"].ci_low
        < big["imd", "not known"].value
        < big["imd", "not known"].ci_high
    )


async def test_spc_for_each_series_with_a_target_giving_assurance(url):
    h = Hospital()
    three_patients(h)
    for day in range(7):
        h.event("P1", "A", "fall", at(24 * day + 12))
    d = await dashboard_of(h, url, targets={"fall_per_1000_bed_days": 100.0})
    s = scope(d, "fall_per_1000_bed_days", "A")
    assert [p.value for p in s.series] == pytest.approx(
        [500, 1000 / 3, 500, 1000, 1000, 1000, 1000], abs=1e-3
    )
    assert all(p.mean is not None and p.point_type for p in s.series)
    assert s.variation is not None
    assert s.assurance is not None
    assert next(m for m in d.measures if m.id == "fall_per_1000_bed_days").target == 100
    no_target = await dashboard_of(Hospital(), url, targets={})
    assert scope(no_target, "fall_per_1000_bed_days", "A").assurance is None
    assert scope(no_target, "ack_minutes").spc_note.startswith("not charted")


async def test_a_bad_target_is_refused(url):
    with pytest.raises(ValueError, match="unknown measure"):
        await dashboard_of(Hospital(), url, targets={"nonsense": 1})
    with pytest.raises(ValueError, match="finite"):
        await dashboard_of(Hospital(), url, targets={"obs_on_time": float("nan")})


async def test_only_the_wards_asked_for_and_the_hospital(url):
    h = Hospital()
    three_patients(h)
    d = await dashboard_of(h, url, wards=["B"])
    assert d.scopes == ["B", HOSPITAL]
    assert totals(d, "fall_per_1000_bed_days") == (0, 13, 0)


async def test_json_and_csv_hold_the_same_numbers(url):
    h = Hospital()
    three_patients(h)
    h.event("P2", "A", "fall", at(40))
    d = await dashboard_of(h, url)
    document = json.loads(d.to_json())
    assert [m["id"] for m in document["measures"]][:3] == ["obs_on_time", "obs_late", "obs_missed"]
    assert document["not_available"] == []  # senior review is measured now (issue 16)
    rows = list(csv.DictReader(io.StringIO(d.to_csv())))
    falls = [r for r in rows if r["measure"] == "fall_per_1000_bed_days" and r["scope"] == "A"
             and r["section"] == "series"]  # fmt: skip
    assert [r["numerator"] for r in falls] == ["0", "1", "0", "0", "0", "0", "0"]
    assert falls[1]["patient_days"] == "3"
    assert falls[1]["value"] == "333.3333"  # four decimals, as the JSON


async def test_a_patient_with_several_needs_counts_in_each(url):
    h = Hospital()
    for i in range(9):
        h.admit(f"n{i}", "A", T0, needs=["autism", "dementia"], imd_decile=1)
    for i in range(10):
        h.admit(f"x{i}", "A", T0, imd_decile=10)
    d = await dashboard_of(h, url)
    rows = {(r.dimension, r.group): r for r in scope(d, "death_per_1000_admissions").equity}
    assert [rows["needs", g].denominator for g in ("autism", "dementia", "none recorded")] == [
        9,
        9,
        10,
    ]
    assert rows["needs", "learning-disability"].denominator == 0
    assert rows["imd", "Q1 (most deprived)"].denominator == 9
    assert rows["imd", "Q5 (least deprived)"].denominator == 10
    assert rows["needs", "autism"].value == 0


async def test_no_small_count_is_shown_and_no_partition_hides_just_one(url):
    rnd = random.Random(16)  # noqa: S311 (test data)
    h = Hospital()
    for i in range(60):
        ward = rnd.choice("ABC")
        h.admit(f"r{i}", ward, T0 + rnd.random() * 48 * H, sex=rnd.choice("1129X"),
                ethnicity=rnd.choice("AAAHMDZR"), imd_decile=rnd.randint(1, 10),
                birth_date=f"{rnd.randint(1930, 2010)}-01-01")  # fmt: skip
        for kind in ("fall", "death", "cardiac-arrest"):
            if rnd.random() < 0.3:
                h.event(f"r{i}", ward, kind, T0 + 50 * H)
    d = await dashboard_of(h, url)
    for m in d.measures:
        for s in m.scopes:
            for r in s.equity:
                for shown in (r.numerator, r.denominator):
                    assert shown == SUPPRESSED or (
                        isinstance(shown, int | float) and not 0 < shown < 8
                    )
            for dimension in ("sex", "ethnicity", "age", "imd"):
                cells = [r for r in s.equity if r.dimension == dimension]
                assert sum(r.numerator == SUPPRESSED for r in cells) != 1, (
                    m.id,
                    s.scope,
                    dimension,
                )
                assert sum(r.denominator == SUPPRESSED for r in cells) != 1, (
                    m.id,
                    s.scope,
                    dimension,
                )


async def test_asking_for_some_wards_hides_what_the_whole_table_hides(url):
    """Ward B has 3 admissions of sex 1: hidden, and protected in the whole table by hiding
    more (B's sex 2, and a cell in A or the hospital, since hospital = A + B). A `--ward A`
    table must hide the same cells of A and the hospital: if it showed A's and the hospital's
    sex 1 admissions, their difference would be B's 3, whichever table it was read from."""
    h = Hospital()
    for i in range(20):
        h.admit(f"a1-{i}", "A", T0, sex="1")
        h.admit(f"a2-{i}", "A", T0, sex="2")
        h.admit(f"b2-{i}", "B", T0, sex="2")
    for i in range(3):
        h.admit(f"b1-{i}", "B", T0, sex="1")
    whole = await dashboard_of(h, url)
    some = await dashboard_of(Hospital(), url, wards=["A"])  # the same store
    measure = "death_per_1000_admissions"
    for name in ("A", HOSPITAL):
        assert scope(some, measure, name).equity == scope(whole, measure, name).equity, name

    def admissions(d: Dashboard, name: str):
        return next(
            r.denominator
            for r in scope(d, measure, name).equity
            if (r.dimension, r.group) == ("sex", "male")
        )

    assert SUPPRESSED in (admissions(some, "A"), admissions(some, HOSPITAL))
