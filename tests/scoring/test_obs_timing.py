"""When observations are due, late and missed (issues #5 and #6): every boundary, both sides."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring import ChartSet, chart_display, obs_timing

LAST = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("hours", "after_due", "status"),
    [
        (12, -TICK, "ok"),
        (12, timedelta(0), "due"),
        (12, timedelta(hours=12 * 0.33) - TICK, "due"),
        (12, timedelta(hours=12 * 0.33), "late"),  # 3 h 57 min 36 s
        (12, timedelta(hours=12 * 0.67) - TICK, "late"),
        (12, timedelta(hours=12 * 0.67), "missed"),  # 8 h 2 min 24 s
        (1, timedelta(minutes=19, seconds=48) - TICK, "due"),
        (1, timedelta(minutes=19, seconds=48), "late"),
        (1, timedelta(minutes=40, seconds=12) - TICK, "late"),
        (1, timedelta(minutes=40, seconds=12), "missed"),
        (0.5, timedelta(days=3), "missed"),
    ],
)
def test_status_at_each_boundary(hours: float, after_due: timedelta, status: str) -> None:
    due = LAST + timedelta(hours=hours)
    assert obs_timing(LAST, due, due + after_due).status == status


def test_without_a_due_time_the_status_is_unknown() -> None:
    timing = obs_timing(LAST, None, LAST + timedelta(days=1))
    assert (timing.status, timing.late_at, timing.missed_at) == ("unknown", None, None)
    assert obs_timing(LAST, LAST, LAST).status == "unknown"  # no interval to measure by


ORDER = ["ok", "due", "late", "missed"]


@given(
    st.integers(1, 24 * 60),
    st.integers(-48 * 3600, 48 * 3600),
    st.integers(0, 48 * 3600),
)
def test_status_never_improves_as_time_passes(minutes: int, offset: int, later: int) -> None:
    due = LAST + timedelta(minutes=minutes)
    now = due + timedelta(seconds=offset)
    first = obs_timing(LAST, due, now)
    second = obs_timing(LAST, due, now + timedelta(seconds=later))
    assert ORDER.index(second.status) >= ORDER.index(first.status)
    assert first.late_at is not None
    assert first.missed_at is not None
    assert due < first.late_at < first.missed_at


def test_chart_display_keeps_the_printed_bands(charts: ChartSet) -> None:
    news2 = chart_display(charts.charts["news2"])
    spo2 = next(item for item in news2["items"] if item["key"] == "spo2")
    scales = {(v["spo2_scale"], v["on_oxygen"]) for v in spo2["variants"]}
    assert (1, None) in scales
    assert (2, True) in scales
    consciousness = next(c for c in news2["categories"] if c["input"] == "consciousness")
    assert consciousness["points"]["C"] == 3
    assert [level["risk"] for level in news2["levels"]][-1] == "high"
    for chart in charts.charts.values():  # every band of every chart, ascending, no overlap
        for item in chart_display(chart)["items"]:
            for variant in item["variants"]:
                bands = variant["bands"]
                assert bands[0]["low"] is None
                assert bands[-1]["high"] is None
                for lower, upper in itertools.pairwise(bands):
                    assert lower["high"] <= upper["low"]
