"""The alert-response report (issue 6): the pure report on hand-built alert events, its
properties, and `surveillance report` against a real SQLite store."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveillance import (
    DEFAULT_SHIFTS,
    NO_REASON,
    Report,
    Shift,
    alert_report,
    format_duration,
    format_table,
    percentile,
    report_from_store,
    shift_of,
)
from surveillance.store import AlertRecord, Batch, open_store

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # 08:00 GMT: the day shift of the 22nd
SINCE = datetime(2026, 11, 22, tzinfo=UTC)
UNTIL = datetime(2026, 11, 23, tzinfo=UTC)

Step = tuple[str, float] | tuple[str, float, dict[str, Any]]


def alert(
    alert_id: str,
    *steps: Step,
    raised: datetime = T0,
    ward: str = "7A",
    kind: str = "score",
    raised_at: bool = True,
) -> list[AlertRecord]:
    """An alert's events: `raised` at `raised`, then each step (state, seconds after the raise,
    extra event fields), numbered from seq 1 as the scorer numbers them."""
    records = []
    for seq, step in enumerate((("raised", 0.0), *steps), start=1):
        state, seconds = step[0], step[1]
        extra = step[2] if len(step) == 3 else {}
        when = raised + timedelta(seconds=seconds)
        event: dict[str, Any] = {
            "alert_id": alert_id,
            "ward": ward,
            "time": when.isoformat(),
            "state": state,
            "seq": seq,
            **({"raised_at": raised.isoformat()} if raised_at else {}),
            **extra,
        }
        records.append(
            AlertRecord(
                alert_id=alert_id,
                seq=seq,
                time=when,
                ward=ward,
                bed="1",
                patient_id=f"P-{alert_id}",
                kind=kind,
                severity="urgent",
                state=state,
                message="NEWS2 5 (medium): urgent response",
                obs_msg_id=f"obs-{alert_id}" if seq == 1 else None,
                event=msgspec.json.encode(event),
            )
        )
    return records


def report(
    *alerts: list[AlertRecord],
    since: datetime = SINCE,
    until: datetime = UNTIL,
    **options: Any,
) -> Report:
    records = [record for events in alerts for record in events]
    return alert_report(records, since=since, until=until, tz=LONDON, **options)


# -- percentiles and durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([3.0, 1.0, 2.0], 50, 2.0),  # odd: the middle one
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # even: the mean of the middle two
        ([float(v) for v in range(1, 11)], 90, 9.1),  # rank 8.1 of 0..9
        ([float(v) for v in range(1, 12)], 90, 10.0),  # rank 9 exactly
        ([10.0, 20.0], 90, 19.0),
        ([5.0, 5.0, 5.0], 90, 5.0),
    ],
)
def test_percentile_interpolates_between_the_nearest_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0:00"),
        (59.4, "0:59"),
        (59.6, "1:00"),
        (61, "1:01"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3725, "1:02:05"),
        (36000 + 61, "10:01:01"),
    ],
)
def test_durations_read_as_minutes_or_hours(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


# -- time to acknowledge -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ack_seconds", "median", "p90"),
    [
        ([60], 60, 60),
        ([60, 600, 120], 120, 504),  # odd: median the middle; p90 120 + 0.8 × 480
        ([60, 120, 180, 600], 150, 474),  # even: median (120+180)/2; p90 180 + 0.7 × 420
        ([0, 0], 0, 0),
    ],
)
def test_median_and_p90_time_to_acknowledge(
    ack_seconds: list[float], median: float, p90: float
) -> None:
    alerts = [alert(f"a{i}", ("acknowledged", s)) for i, s in enumerate(ack_seconds)]
    unacked = alert("never")  # no acknowledgement: not in the times
    total = report(*alerts, unacked).total
    assert total.raised == len(ack_seconds) + 1
    assert total.acknowledged == len(ack_seconds)
    assert total.ack_median_seconds == pytest.approx(median)
    assert total.ack_p90_seconds == pytest.approx(p90)


def test_no_acknowledgement_means_no_times() -> None:
    total = report(alert("a")).total
    assert (total.ack_median_seconds, total.ack_p90_seconds) == (None, None)


def test_time_to_acknowledge_counts_from_the_raise_through_escalations() -> None:
    events = alert(
        "a",
        ("escalated", 1800, {"escalation": 1, "notify": "medical-team"}),
        ("escalated", 2700, {"escalation": 1, "notify": "medical-team", "renotified": 1}),
        ("acknowledged", 3000, {"by": "Dr A", "via": "pager"}),
    )
    total = report(events).total
    assert total.ack_median_seconds == 3000
    assert total.escalated == 1
    assert total.share_escalated == 1.0
    assert total.escalated_to == {"medical-team": 1}
    assert total.outcomes.acknowledged == 1


def test_only_the_first_acknowledgement_counts_and_never_below_zero() -> None:
    twice = alert("a", ("acknowledged", 30), ("acknowledged", 90))
    early = alert("b", ("acknowledged", -5))  # a clock stepped back: 0, not negative
    total = report(twice, early).total
    assert sorted([total.ack_median_seconds or 0, total.ack_p90_seconds or 0]) == [15, 27]


# -- outcomes ------------------------------------------------------------------------------------


OUTCOMES = ("acknowledged", "escalated_unacknowledged", "stood_down", "open_unacknowledged")


@pytest.mark.parametrize(
    ("steps", "outcome", "expected"),
    [
        pytest.param((), "open_unacknowledged", {"open_at_until": 1}, id="raised only"),
        pytest.param(
            (("raised", 900, {"renotified": 1}),),
            "open_unacknowledged",
            {"open_at_until": 1, "escalated": 0},
            id="re-notified, still unanswered",
        ),
        pytest.param(
            (("acknowledged", 120),),
            "acknowledged",
            {"open_at_until": 1, "acknowledged": 1},
            id="acknowledged, not resolved",
        ),
        pytest.param(
            (("acknowledged", 120), ("resolved", 600, {"by": "RN B", "reason": "reviewed"})),
            "acknowledged",
            {"open_at_until": 0, "resolved": 1, "resolved_reasons": {"reviewed": 1}},
            id="acknowledged then resolved",
        ),
        pytest.param(
            (
                ("escalated", 1800, {"escalation": 1, "notify": "medical-team"}),
                ("escalated", 3600, {"escalation": 2, "notify": "outreach"}),
            ),
            "escalated_unacknowledged",
            {"escalated": 1, "escalated_to": {"outreach": 1}, "open_at_until": 1},
            id="escalated twice, nobody acknowledged",
        ),
        pytest.param(
            (("escalated", 1800), ("resolved", 2000, {"by": "system", "reason": "discharged"})),
            "escalated_unacknowledged",
            {"escalated": 1, "escalated_to": {}, "resolved": 1, "open_at_until": 0},
            id="escalated without a role named, then resolved",
        ),
        pytest.param(
            (("resolved", 400, {"by": "system", "reason": "discharged"}),),
            "stood_down",
            {"resolved": 1, "resolved_reasons": {"discharged": 1}, "acknowledged": 0},
            id="stood down: discharged",
        ),
        pytest.param(
            (("resolved", 60),),
            "stood_down",
            {"resolved_reasons": {NO_REASON: 1}},
            id="stood down: feed sending again, no reason",
        ),
        pytest.param(
            (("acknowledged", 86400 * 2),),
            "open_unacknowledged",
            {"acknowledged": 0, "ack_median_seconds": None},
            id="acknowledged only after until: not yet",
        ),
        pytest.param(
            (("resolved", 86400 * 2, {"reason": "later"}),),
            "open_unacknowledged",
            {"resolved": 0, "open_at_until": 1},
            id="resolved only after until: still open",
        ),
        pytest.param(
            (("resolved", 60, {"reason": "gone"}), ("acknowledged", 120)),
            "stood_down",
            {"acknowledged": 0},
            id="nothing counts after the first resolution",
        ),
    ],
)
def test_every_alert_has_one_outcome(
    steps: tuple[Step, ...], outcome: str, expected: dict[str, Any]
) -> None:
    total = report(alert("a", *steps)).total
    assert total.raised == 1
    assert {name: getattr(total.outcomes, name) for name in OUTCOMES} == {
        name: int(name == outcome) for name in OUTCOMES
    }
    for field, value in expected.items():
        assert getattr(total, field) == value, field


def test_unknown_extra_event_fields_are_ignored() -> None:
    events = alert("a", ("escalated", 60, {"notify": 7, "ladder": {"x": [1]}, "escalation": "x"}))
    total = report(events).total
    assert total.escalated == 1
    assert total.escalated_to == {}


def test_shares_and_target_divide_by_the_alerts_raised() -> None:
    alerts = [
        alert("fast", ("acknowledged", 300)),
        alert("slow", ("escalated", 1800), ("acknowledged", 2400)),
        alert("never", ("escalated", 1800)),
        alert("gone", ("resolved", 100, {"reason": "discharged"})),
    ]
    total = report(*alerts, ack_target=timedelta(minutes=15)).total
    assert total.acknowledged_within_target == 1
    assert total.share_acknowledged_within_target == 0.25
    assert total.escalated == 2
    assert total.share_escalated == 0.5
    assert msgspec.to_builtins(total.outcomes) == {
        "acknowledged": 2,
        "escalated_unacknowledged": 1,
        "stood_down": 1,
        "open_unacknowledged": 0,
    }
    without = report(*alerts).total
    assert (without.acknowledged_within_target, without.share_acknowledged_within_target) == (
        None,
        None,
    )


# -- the window --------------------------------------------------------------------------------


def test_alerts_count_in_the_window_they_were_raised_in() -> None:
    before = alert(  # raised before the window, acknowledged and resolved inside it
        "before", ("acknowledged", 7200), ("resolved", 9000), raised=SINCE - timedelta(hours=1)
    )
    at_since = alert("at-since", ("acknowledged", 60), raised=SINCE)
    last = alert("last", raised=UNTIL - timedelta(microseconds=1))
    at_until = alert("at-until", raised=UNTIL)
    after = alert("after", raised=UNTIL + timedelta(hours=3))
    rep = report(before, at_since, last, at_until, after)
    assert rep.total.raised == 2
    assert rep.total.acknowledged == 1
    assert rep.total.ack_median_seconds == 60
    assert rep.alerts_start_unknown == 0


def test_without_its_first_event_an_alert_is_placed_by_raised_at() -> None:
    inside = alert("inside", ("acknowledged", 60), ("resolved", 120), raised=T0)[1:]
    outside = alert("outside", ("acknowledged", 60), raised=SINCE - timedelta(minutes=1))[1:]
    lost = alert("lost", ("acknowledged", 60), raised=T0, raised_at=False)[1:]
    rep = report(inside, outside, lost)
    assert rep.total.raised == 1
    assert rep.total.ack_median_seconds == 60
    assert rep.total.outcomes.acknowledged == 1
    assert rep.alerts_start_unknown == 1


def test_a_repeated_event_counts_once() -> None:
    events = alert("a", ("acknowledged", 60))
    rep = report(events, events, [events[1]])
    assert (rep.total.raised, rep.total.acknowledged) == (1, 1)


@pytest.mark.parametrize(
    ("since", "until", "shifts", "message"),
    [
        (datetime(2026, 11, 22), UNTIL, DEFAULT_SHIFTS, "timezone-aware"),
        (UNTIL, SINCE, DEFAULT_SHIFTS, "empty window"),
        (SINCE, SINCE, DEFAULT_SHIFTS, "empty window"),
        (SINCE, UNTIL, (), "at least one shift"),
        (SINCE, UNTIL, (Shift("a", time(7)), Shift("a", time(19))), "names must differ"),
        (SINCE, UNTIL, (Shift("a", time(7)), Shift("b", time(7))), "distinct"),
        (SINCE, UNTIL, (Shift("a", time(7, tzinfo=UTC)),), "without a zone"),
    ],
)
def test_a_bad_window_or_shift_list_is_refused(
    since: datetime, until: datetime, shifts: Sequence[Shift], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        alert_report([], since=since, until=until, tz=LONDON, shifts=shifts)


# -- shifts ------------------------------------------------------------------------------------


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "shift_date", "shift"),
    [
        # Winter (GMT = UTC).
        (utc(2026, 11, 22, 7, 29, 59), date(2026, 11, 21), "night"),
        (utc(2026, 11, 22, 7, 30, 0), date(2026, 11, 22), "day"),
        (utc(2026, 11, 22, 19, 29, 59), date(2026, 11, 22), "day"),
        (utc(2026, 11, 22, 19, 30, 0), date(2026, 11, 22), "night"),
        (utc(2026, 11, 22, 23, 59, 59), date(2026, 11, 22), "night"),
        (utc(2026, 11, 23, 0, 0, 0), date(2026, 11, 22), "night"),  # past midnight: its start
        (utc(2026, 11, 23, 3, 0, 0), date(2026, 11, 22), "night"),
        # Summer (BST = UTC+1): 07:30 local is 06:30 UTC.
        (utc(2026, 7, 1, 6, 29, 59), date(2026, 6, 30), "night"),
        (utc(2026, 7, 1, 6, 30, 0), date(2026, 7, 1), "day"),
        (utc(2026, 7, 1, 7, 29, 59), date(2026, 7, 1), "day"),
        (utc(2026, 7, 1, 18, 30, 0), date(2026, 7, 1), "night"),
        # 2026-03-29: clocks forward at 01:00 UTC; that night is 11 hours long.
        (utc(2026, 3, 28, 19, 30, 0), date(2026, 3, 28), "night"),
        (utc(2026, 3, 29, 0, 59, 59), date(2026, 3, 28), "night"),  # 00:59:59 GMT
        (utc(2026, 3, 29, 1, 0, 0), date(2026, 3, 28), "night"),  # 02:00 BST
        (utc(2026, 3, 29, 6, 29, 59), date(2026, 3, 28), "night"),  # 07:29:59 BST
        (utc(2026, 3, 29, 6, 30, 0), date(2026, 3, 29), "day"),  # 07:30:00 BST
        (utc(2026, 3, 29, 18, 29, 59), date(2026, 3, 29), "day"),
        (utc(2026, 3, 29, 18, 30, 0), date(2026, 3, 29), "night"),  # 19:30 BST
        # 2026-10-25: clocks back at 01:00 UTC (01:00–02:00 local twice); that night is 13 h.
        (utc(2026, 10, 24, 18, 29, 59), date(2026, 10, 24), "day"),
        (utc(2026, 10, 24, 18, 30, 0), date(2026, 10, 24), "night"),  # 19:30 BST
        (utc(2026, 10, 25, 0, 30, 0), date(2026, 10, 24), "night"),  # 01:30 BST
        (utc(2026, 10, 25, 1, 30, 0), date(2026, 10, 24), "night"),  # 01:30 GMT, again
        (utc(2026, 10, 25, 6, 30, 0), date(2026, 10, 24), "night"),  # 06:30 GMT
        (utc(2026, 10, 25, 7, 29, 59), date(2026, 10, 24), "night"),  # 07:29:59 GMT
        (utc(2026, 10, 25, 7, 30, 0), date(2026, 10, 25), "day"),  # 07:30:00 GMT
        (utc(2026, 10, 25, 19, 30, 0), date(2026, 10, 25), "night"),
    ],
)
def test_shift_by_local_wall_clock(moment: datetime, shift_date: date, shift: str) -> None:
    day, found = shift_of(moment, LONDON)
    assert (day, found.name) == (shift_date, shift)
    rep = report(alert("a", raised=moment), since=moment, until=moment + timedelta(hours=1))
    [row] = rep.by_shift
    assert (row.shift_date, row.shift) == (shift_date, shift)
    assert row.shift_start <= moment


def test_the_night_the_clocks_go_forward_is_one_shift_from_its_start() -> None:
    start = utc(2026, 3, 28, 19, 30)
    alerts = [alert(f"a{h}", raised=start + timedelta(hours=h)) for h in range(11)]
    alerts.append(alert("day", raised=start + timedelta(hours=11)))
    rep = report(*alerts, since=start, until=start + timedelta(days=1))
    assert [(r.shift_date, r.shift, r.raised) for r in rep.by_shift] == [
        (date(2026, 3, 28), "night", 11),
        (date(2026, 3, 29), "day", 1),
    ]
    assert rep.by_shift[0].shift_start.isoformat() == "2026-03-28T19:30:00+00:00"
    assert rep.by_shift[1].shift_start.isoformat() == "2026-03-29T07:30:00+01:00"


def test_three_shifts_any_order() -> None:
    shifts = (Shift("late", time(14)), Shift("early", time(7)), Shift("night", time(21, 30)))
    for hour, expected in [(6, "night"), (7, "early"), (13, "early"), (14, "late"), (22, "night")]:
        assert shift_of(utc(2026, 11, 22, hour), LONDON, shifts)[1].name == expected
    assert shift_of(utc(2026, 11, 22, 6), LONDON, shifts)[0] == date(2026, 11, 21)


# -- rows per ward and shift -------------------------------------------------------------------


def test_rows_per_ward_and_shift_then_ward_then_total() -> None:
    night = utc(2026, 11, 22, 2)  # night of the 21st
    day = utc(2026, 11, 22, 10)
    alerts = [
        alert("m1", ("acknowledged", 60), raised=night, ward="MED1"),
        alert("m2", ("acknowledged", 180), raised=day, ward="MED1"),
        alert("m3", ("escalated", 1800), raised=day, ward="MED1", kind="feed"),
        alert("s1", ("resolved", 30, {"reason": "discharged"}), raised=day, ward="SURG"),
    ]
    rep = report(*alerts)
    assert [(r.ward, r.shift_date.isoformat(), r.shift, r.raised) for r in rep.by_shift] == [
        ("MED1", "2026-11-21", "night", 1),
        ("MED1", "2026-11-22", "day", 2),
        ("SURG", "2026-11-22", "day", 1),
    ]
    med = rep.by_ward[0]
    assert (med.ward, med.raised, med.raised_by_kind) == ("MED1", 3, {"feed": 1, "score": 2})
    assert med.ack_median_seconds == 120
    assert med.share_escalated == pytest.approx(1 / 3)
    assert [w.ward for w in rep.by_ward] == ["MED1", "SURG"]
    assert rep.total.raised == 4
    assert rep.total.outcomes.stood_down == 1
    only = report(*alerts, wards=["SURG"])
    assert [w.ward for w in only.by_ward] == ["SURG"]
    assert only.total.raised == 1
    assert only.wards == ["SURG"]
    assert report(*alerts, wards="SURG").total.raised == 1  # a string is one ward
    assert report(*alerts, wards="MED").total.raised == 0  # not a prefix


def test_an_alert_stays_on_the_ward_it_was_raised_on() -> None:
    raised, acked = alert("a", ("acknowledged", 60), ward="MED1")
    moved = [raised, replace(acked, ward="SURG")]  # transferred, then acknowledged
    assert [w.ward for w in report(moved).by_ward] == ["MED1"]


def test_report_as_json() -> None:
    rep = report(alert("a", ("acknowledged", 75)), ack_target=timedelta(minutes=5))
    data = msgspec.json.decode(rep.to_json())
    assert data == rep.to_builtins()
    assert data["since"] == "2026-11-22T00:00:00Z"
    assert data["timezone"] == "Europe/London"
    assert data["shifts"] == [
        {"name": "day", "start": "07:30:00"},
        {"name": "night", "start": "19:30:00"},
    ]
    assert data["ack_target_seconds"] == 300
    [row] = data["by_shift"]
    assert row["ward"] == "7A"
    assert row["shift_date"] == "2026-11-22"
    assert row["shift"] == "day"
    assert row["shift_start"] == "2026-11-22T07:30:00Z"
    assert row["ack_median_seconds"] == 75
    assert row["outcomes"] == {
        "acknowledged": 1,
        "escalated_unacknowledged": 0,
        "stood_down": 0,
        "open_unacknowledged": 0,
    }


def test_table_columns_line_up() -> None:
    alerts = [
        alert("m1", ("acknowledged", 75), ward="MED1"),
        alert("m2", ("acknowledged", 4000), ward="MED1", raised=utc(2026, 11, 22, 20)),
        alert("c1", ("escalated", 1800), ward="CHILDRENS"),
    ]
    out = io.StringIO()
    format_table(report(*alerts, ack_target=timedelta(minutes=15)), out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Alerts raised 2026-11-22 00:00 to 2026-11-23 00:00 (Europe/London")
    header = lines[1]
    assert header.split("  ")[0].strip() == "ward"
    table = [line for line in lines[1:] if line and not line.startswith("Outcomes")]
    ends = {len(line) for line in table}
    assert len(ends) == 1, out.getvalue()  # right-aligned numbers: every row ends together
    assert any("2026-11-22 night" in line and "1:06:40" in line for line in lines)
    assert any(line.startswith("MED1") and "all shifts" in line for line in lines)
    assert any(line.startswith("all wards") for line in lines)
    assert lines[-1] == (
        "Outcomes: 2 acknowledged, 1 escalated unacknowledged, 0 stood down, "
        "0 open unacknowledged = 3 raised"
    )
    by_ward = io.StringIO()
    format_table(report(*alerts), by_ward, by="ward")
    assert "night" not in by_ward.getvalue()
    assert (
        len(by_ward.getvalue().splitlines()) == 7
    )  # title, header, 2 wards, blank, total, outcomes


# -- properties --------------------------------------------------------------------------------

STATES = st.sampled_from(["raised", "acknowledged", "escalated", "resolved", "something-new"])


@st.composite
def alert_histories(draw: st.DrawFn) -> list[AlertRecord]:
    records: list[AlertRecord] = []
    for i in range(draw(st.integers(0, 12))):
        raised = SINCE + timedelta(seconds=draw(st.integers(-3 * 86400, 2 * 86400)))
        steps: list[Step] = []
        for _ in range(draw(st.integers(0, 5))):
            extra = draw(st.sampled_from([{}, {"notify": "outreach"}, {"reason": "x"}]))
            seconds = draw(st.integers(-60, 86400))  # a few out of order, as a clock step gives
            steps.append((draw(STATES), seconds, extra))
        events = alert(
            f"a{i}",
            *steps,
            raised=raised,
            ward=draw(st.sampled_from(["MED1", "SURG", "7A"])),
            kind=draw(st.sampled_from(["score", "feed"])),
            raised_at=draw(st.booleans()),
        )
        drop_first = draw(st.booleans()) and len(events) > 1
        records.extend(events[1:] if drop_first else events)
    return draw(st.permutations(records))


@settings(max_examples=300, deadline=None)
@given(alert_histories(), st.integers(0, 86400 * 2), st.integers(1, 86400 * 3))
def test_outcomes_sum_to_raised_and_times_are_never_negative(
    records: list[AlertRecord], start: int, length: int
) -> None:
    since = SINCE - timedelta(days=1) + timedelta(seconds=start)
    until = since + timedelta(seconds=length)
    rep = alert_report(
        records, since=since, until=until, tz=LONDON, ack_target=timedelta(minutes=15)
    )
    groups = [rep.total, *rep.by_ward, *rep.by_shift]
    for stats in groups:
        assert stats.outcomes.total() == stats.raised
        assert stats.resolved + stats.open_at_until == stats.raised
        assert sum(stats.raised_by_kind.values()) == stats.raised
        assert sum(stats.resolved_reasons.values()) == stats.resolved
        assert stats.acknowledged == stats.outcomes.acknowledged
        assert stats.acknowledged_within_target is not None
        assert stats.acknowledged_within_target <= stats.acknowledged
        assert stats.escalated >= stats.outcomes.escalated_unacknowledged
        for seconds in (stats.ack_median_seconds, stats.ack_p90_seconds):
            assert seconds is None or seconds >= 0
        if stats.ack_median_seconds is not None and stats.ack_p90_seconds is not None:
            assert stats.ack_median_seconds <= stats.ack_p90_seconds + 1e-9
        for share in (stats.share_escalated, stats.share_acknowledged_within_target):
            assert share is None or 0 <= share <= 1
        assert stats.raised > 0 or stats is rep.total
    assert sum(w.raised for w in rep.by_ward) == rep.total.raised
    assert sum(s.raised for s in rep.by_shift) == rep.total.raised
    for row in rep.by_shift:
        assert since - timedelta(days=1) < row.shift_start <= until
    assert rep.to_builtins() == msgspec.json.decode(rep.to_json())


# -- the store and the command line ------------------------------------------------------------

CLI = [sys.executable, "-m", "surveillance.cli", "report"]


def surveillance_report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def ward_day() -> list[AlertRecord]:
    night = utc(2026, 3, 29, 3)  # 04:00 BST, night of the 28th
    day = utc(2026, 3, 29, 9)  # 10:00 BST
    return [
        *alert(
            "m1",
            ("acknowledged", 95, {"by": "RN A", "via": "ward-board"}),
            raised=night,
            ward="MED1",
        ),
        *alert(
            "m2",
            ("acknowledged", 200),
            ("resolved", 900, {"reason": "reviewed"}),
            raised=day,
            ward="MED1",
        ),
        *alert(
            "m3",
            ("escalated", 1800, {"escalation": 1, "notify": "medical-team"}),
            raised=day,
            ward="MED1",
        ),
        *alert(
            "s1",
            ("resolved", 40, {"by": "system", "reason": "discharged"}),
            raised=day,
            ward="SURG",
        ),
        *alert("s2", raised=day + timedelta(hours=9), ward="SURG"),  # 19:00 BST: still day
        *alert("old", ("acknowledged", 3 * 86400), raised=utc(2026, 3, 25, 9), ward="SURG"),
    ]


async def write_store(path: Path, records: list[AlertRecord]) -> str:
    url = f"sqlite:///{path}"
    async with open_store(url) as store:
        await store.write(Batch(alerts=records))
    return url


async def test_report_from_a_sqlite_store(tmp_path: Path) -> None:
    records = ward_day()
    url = await write_store(tmp_path / "store.db", records)
    since, until = utc(2026, 3, 28, 19, 30), utc(2026, 3, 29, 19, 30)
    async with open_store(url) as store:
        rep = await report_from_store(store, since=since, until=until, tz=LONDON)
    assert rep == alert_report(records, since=since, until=until, tz=LONDON)
    assert rep.total.raised == 5  # not "old": raised on the 25th, acknowledged in the window
    assert rep.total.outcomes.total() == 5


async def test_report_from_store_finds_the_first_event_within_its_margin(tmp_path: Path) -> None:
    """Without `raised_at`, the first event (read from since − margin) says when it began."""
    old = alert("old", ("acknowledged", 3 * 86400), raised=utc(2026, 3, 25, 9), raised_at=False)
    url = await write_store(tmp_path / "store.db", old)
    since, until = utc(2026, 3, 28), utc(2026, 3, 29)
    async with open_store(url) as store:
        rep = await report_from_store(store, since=since, until=until, tz=LONDON)
        short = await report_from_store(
            store, since=since, until=until, tz=LONDON, margin=timedelta(days=1)
        )
    assert (rep.total.raised, rep.alerts_start_unknown) == (0, 0)
    assert (short.total.raised, short.alerts_start_unknown) == (0, 1)


@pytest.mark.process
def test_cli_report_as_json_and_as_a_table(tmp_path: Path) -> None:
    url = asyncio.run(write_store(tmp_path / "store.db", ward_day()))
    window = ("--since", "2026-03-28T19:30", "--until", "2026-03-29T19:30")  # local times
    done = surveillance_report("--store", url, *window, "--json", "--target", "5")
    assert done.returncode == 0, done.stderr
    data = msgspec.json.decode(done.stdout)
    assert data["since"] == "2026-03-28T19:30:00Z"
    assert data["until"] == "2026-03-29T19:30:00+01:00"
    assert [(r["ward"], r["shift_date"], r["shift"], r["raised"]) for r in data["by_shift"]] == [
        ("MED1", "2026-03-28", "night", 1),
        ("MED1", "2026-03-29", "day", 2),
        ("SURG", "2026-03-29", "day", 2),
    ]
    total = data["total"]
    assert total["raised"] == 5
    assert total["acknowledged"] == 2
    assert total["ack_median_seconds"] == pytest.approx(147.5)
    assert total["acknowledged_within_target"] == 2
    assert total["escalated_to"] == {"medical-team": 1}
    assert total["outcomes"] == {
        "acknowledged": 2,
        "escalated_unacknowledged": 1,
        "stood_down": 1,
        "open_unacknowledged": 1,
    }

    done = surveillance_report("--store", url, *window)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Alerts raised 2026-03-28 19:30 to 2026-03-29 19:30 (Europe/London)"
    assert lines[1].split() == [
        "ward", "shift", "raised", "acked", "median", "ack", "p90", "ack", "escalated", "open"
    ]  # fmt: skip
    assert lines[2].split() == ["MED1", "2026-03-28", "night", "1", "1", "1:35", "1:35", "0%", "1"]
    assert lines[3].split() == ["MED1", "2026-03-29", "day", "2", "1", "3:20", "3:20", "50%", "1"]
    assert lines[4].split() == ["MED1", "all", "shifts", "3", "2", "2:28", "3:10", "33%", "2"]
    assert "all wards" in done.stdout
    assert lines[-1].endswith("= 5 raised")

    done = surveillance_report("--store", url, *window, "--by", "ward", "--ward", "SURG")
    assert done.returncode == 0, done.stderr
    assert "MED1" not in done.stdout
    assert any(line.split()[:4] == ["SURG", "all", "2", "0"] for line in done.stdout.splitlines())


@pytest.mark.process
def test_cli_refuses_bad_input_with_a_reason(tmp_path: Path) -> None:
    url = asyncio.run(write_store(tmp_path / "store.db", ward_day()))
    missing = tmp_path / "none.db"
    cases: list[tuple[list[str | Path], str]] = [
        (["--store", "http://example/x"], "is not sqlite:///PATH or postgresql://"),
        (["--store", "sqlite://relative.db"], "unsupported store URL"),
        (["--store", f"sqlite:///{missing}"], "no store at"),
        (["--store", url, "--since", "yesterday"], "not an ISO 8601 time"),
        (["--store", url, "--until", "2026-13-01"], "not an ISO 8601 time"),
        (["--store", url, "--since", "2026-03-30", "--until", "2026-03-29"], "window is empty"),
        (["--store", url, "--hours", "-3"], "--hours"),
        (["--store", url, "--shifts", "day"], "NAME=HH:MM"),
        (["--store", url, "--shifts", "a=07:00,a=19:00"], "names must differ"),
        (["--store", url, "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--store", url, "--target", "-1"], "--target"),
        (["--config", tmp_path / "missing.toml"], "missing.toml"),
    ]
    for args, reason in cases:
        done = surveillance_report(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert reason in done.stderr, (args, done.stderr)
        assert done.stdout == ""
    assert not missing.exists()
    done = surveillance_report("--store", url, "--since", "2026-03-29", "--hours", "3")
    assert done.returncode == 2  # one or the other


@pytest.mark.process
def test_cli_reads_the_store_and_zone_from_the_settings_file(tmp_path: Path) -> None:
    url = asyncio.run(write_store(tmp_path / "store.db", ward_day()))
    config = tmp_path / "service.toml"
    config.write_text(f'[store]\nurl = "{url}"\n[scorer]\ntimezone = "UTC"\n', encoding="utf-8")
    done = surveillance_report(
        "--config", config, "--since", "2026-03-29T00:00", "--until", "2026-03-30", "--json"
    )
    assert done.returncode == 0, done.stderr
    data = msgspec.json.decode(done.stdout)
    assert data["timezone"] == "UTC"
    assert data["total"]["raised"] == 5
    # In UTC the 03:00 alert is before 07:30: the night of the 28th; 09:00 is the day of the 29th.
    assert {(r["shift_date"], r["shift"]) for r in data["by_shift"]} == {
        ("2026-03-28", "night"),
        ("2026-03-29", "day"),
    }
