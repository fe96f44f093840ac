"""Invariants of the scoring core, checked over generated inputs (Hypothesis)."""

from __future__ import annotations

from bisect import bisect_left

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scoring import (
    BandsItem,
    BandTable,
    ChartSet,
    Context,
    InvalidObservation,
    ObservationSet,
    SupportItem,
    round_half_up,
    score,
    score_batch,
)
from tests.factories import CHART_IDS, make_ctx, make_obs
from tests.strategies import INFECTION, contexts, numbers, observations, plausible_vitals


def _tables(charts: ChartSet) -> list[tuple[str, BandTable[int], bool]]:
    """Every points table of every chart: (name, table, rounds)."""
    out = []
    for chart_id in CHART_IDS:
        chart = charts.charts[chart_id]
        for item in chart.items:
            if isinstance(item, BandsItem):
                for i, v in enumerate(item.variants):
                    out.append((f"{chart_id}.{item.key}[{i}]", v.lookup.table, chart.rounds))
            elif isinstance(item, SupportItem):
                out.append((f"{chart_id}.{item.key}.percent", item.percent.table, False))
                out.append((f"{chart_id}.{item.key}.flow", item.flow.table, False))
    return out


def _reference(table: BandTable[int], x: float, precision: int | None) -> int:
    """The printed-band reading: round (if the chart rounds), find the band; in a gap, the worse."""
    if precision is not None:
        x = round_half_up(x, precision)
    bands = table.bands
    for i, band in enumerate(bands):
        if band.contains(x):
            return band.value
        if i + 1 < len(bands) and band.high is not None and band.high <= x:
            nxt = bands[i + 1]
            if nxt.low is not None and x <= nxt.low and not nxt.contains(x):
                return max(band.value, nxt.value)
    raise AssertionError(f"{x} has no band")


@settings(max_examples=300)
@given(data=st.data())
def test_lookup_equals_printed_bands_read_by_the_spec_rule(charts, data):
    name, table, rounds = data.draw(st.sampled_from(_tables(charts)), label="table")
    precision = None
    if rounds:
        precision = 1 if "temperature" in name else 0
    x = data.draw(
        st.one_of(
            numbers(-5, 300),
            # exact half-way points and their neighbours, where rounding bites
            st.integers(0, 4000).map(lambda k: k / 10 + 0.05),
            st.integers(0, 400).map(lambda k: k + 0.5),
            st.sampled_from(table.cuts),
            # values just either side of every cut, in hundredths and as raw floats
            st.tuples(st.sampled_from(table.cuts), st.integers(-100, 100)).map(
                lambda ck: round(ck[0]) + ck[1] / 100
            ),
            st.sampled_from(table.cuts).flatmap(lambda c: st.floats(c - 1, c + 1)),
        ),
        label="x",
    )
    assert table.lookup(x) == _reference(table, x, precision), name


@pytest.mark.parametrize(
    ("value", "precision", "rounded"),
    [
        (35.05, 1, 35.1),
        (36.04, 1, 36.0),
        (38.05, 1, 38.1),
        (38.0, 1, 38.0),
        (110.5, 0, 111.0),
        (24.5, 0, 25.0),
        (24.49, 0, 24.0),
    ],
)
def test_round_half_up_is_decimal_not_binary(value, precision, rounded):
    assert round_half_up(value, precision) == rounded


@given(obs=observations(plausible=True), ctx=contexts())
def test_total_is_the_sum_of_parameter_points(charts, obs, ctx):
    try:
        result = score(obs, ctx, charts)
    except InvalidObservation:
        return
    assert result.total == sum(result.parameters.values())
    chart_keys = set(charts.charts[result.chart].item_keys)
    assert set(result.parameters) | set(result.missing) == chart_keys
    assert not set(result.parameters) & set(result.missing)
    assert result.complete == (not result.missing)


@settings(max_examples=300)
@given(data=st.data())
def test_points_never_fall_as_a_value_moves_away_from_normal(charts, data):
    name, table, _ = data.draw(st.sampled_from(_tables(charts)), label="table")
    normal = [b for b in table.bands if b.value == 0]
    low = min(b.low if b.low is not None else float("-inf") for b in normal)
    high = max(b.high if b.high is not None else float("inf") for b in normal)
    x = data.draw(numbers(-5, 300), label="x")
    y = data.draw(numbers(-5, 300), label="y")
    x, y = sorted((x, y))
    if x >= high:  # both above normal: y is further away
        assert table.lookup(y) >= table.lookup(x), name
    if y <= low:  # both below normal: x is further away
        assert table.lookup(x) >= table.lookup(y), name


def _outcome(obs: ObservationSet, ctx: Context, charts: ChartSet) -> object:
    try:
        return score(obs, ctx, charts)
    except InvalidObservation as exc:
        return ("refused", str(exc))


@settings(max_examples=200)
@given(pairs=st.lists(st.tuples(observations(), contexts()), min_size=1, max_size=40))
@example(pairs=[(make_obs({"temperature": 35.05, "resp_rate": 24.5}), make_ctx(cohort="adult"))])
@example(
    pairs=[
        (make_obs({"resp_rate": 25, "heart_rate": 111}), make_ctx(cohort="adult", infection="at-risk")),
        (make_obs({"resp_rate": 25, "heart_rate": 111, "suspected_infection": True}), make_ctx(cohort="adult")),
        (make_obs({"resp_rate": 25, "heart_rate": 111, "suspected_infection": False}), make_ctx(cohort="adult")),
        (make_obs({"resp_rate": 24, "heart_rate": 111, "suspected_infection": True}), make_ctx(cohort="adult")),
    ]
)  # fmt: skip
def test_batch_path_equals_single_path(charts, pairs):
    batch = score_batch(pairs, charts)
    assert len(batch) == len(pairs)
    for (obs, ctx), got in zip(pairs, batch, strict=True):
        want = _outcome(obs, ctx, charts)
        if isinstance(got, InvalidObservation):
            assert want == ("refused", str(got))
        else:
            assert got == want


@settings(max_examples=300)
@given(v=plausible_vitals(), infection=INFECTION, scale=st.sampled_from([1, 2]))
def test_news2_think_sepsis_is_total_5_or_more_with_infection(charts, v, infection, scale):
    # SPEC §5.2, on any set, complete or not (an incomplete total is a lower bound).
    ctx = make_ctx(cohort="adult", infection=infection, spo2_scale=scale)
    try:
        result = score(make_obs(v), ctx, charts)
    except InvalidObservation:
        return
    infected = v.get("suspected_infection") is True or infection is not None
    assert ("think-sepsis" in result.prompts) == (result.total >= 5 and infected)
    assert "suspected_infection" not in result.missing


@given(v=plausible_vitals(), ctx=contexts())
def test_scoring_is_deterministic_and_leaves_input_unchanged(charts, v, ctx):
    obs = make_obs(dict(v))
    first = _outcome(obs, ctx, charts)
    assert _outcome(obs, ctx, charts) == first
    assert obs == make_obs(dict(v))


def test_lookup_uses_one_bisection(charts):
    # The single path reads a table exactly as bisect_left over its cuts does.
    item = charts.charts["news2"].items[0]
    assert isinstance(item, BandsItem)
    table = item.variants[0].lookup.table
    for x in (8.0, 8.49, 8.5, 20.4999, 20.5):
        assert table.lookup(x) == table.values[bisect_left(table.cuts, x)]


@settings(max_examples=300)
@given(obs=st.one_of(observations(), observations(plausible=True)), ctx=contexts())
def test_what_is_listed_as_ignored_changes_nothing_and_nothing_else_is_left_out(charts, obs, ctx):
    # Issue 12: an item the chart does not read is listed, never dropped in silence; and it is
    # truly not read: the set without it scores the same.
    try:
        result = score(obs, ctx, charts)
    except InvalidObservation:
        return
    given_keys = {k for k in obs.vitals.__struct_fields__ if getattr(obs.vitals, k) is not None}
    assert result.ignored == sorted(result.ignored)
    assert set(result.ignored) <= given_keys
    chart = charts.charts[result.chart]
    assert given_keys - set(result.ignored) <= set(obs.vitals.__struct_fields__) - set(chart.unread)
    without = msgspec.structs.replace(
        obs, vitals=msgspec.structs.replace(obs.vitals, **dict.fromkeys(result.ignored))
    )
    again = score(without, ctx, charts)
    assert msgspec.structs.replace(again, ignored=result.ignored, vitals=obs.vitals) == result
