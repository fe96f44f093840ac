"""NEWS2 "think sepsis" (SPEC §5.2): total ≥ 5 with known or suspected infection, or at risk.

Infection comes from the set (`vitals.suspected_infection`) or the patient's context
(`context.infection`: suspected, confirmed, at-risk). The expected values are read from
SPEC §5.2 and §1.1, not from the chart file. Every case is scored on the single path and the
batch path, which must agree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import product
from typing import Any

import numpy as np
import pytest

from scoring import (
    ChartSet,
    Columns,
    Context,
    InvalidObservation,
    ObservationSet,
    ScoreResult,
    score,
    score_batch,
    score_columns,
)
from tests import ROOT
from tests.factories import (
    CONTRACT_OBSERVATION,
    NEWS2_NORMAL,
    PEWS_NORMAL_5_12Y,
    make_ctx,
    make_obs,
)

# Complete NEWS2 sets (SPEC §1.1): RR 21 → 2, HR 111 → 2, T 38.1 → 1, RR 25 → 3, T 39.1 → 2.
TOTAL_4: dict[str, Any] = {"resp_rate": 21, "heart_rate": 111}
TOTAL_5: dict[str, Any] = {"resp_rate": 21, "heart_rate": 111, "temperature": 38.1}
TOTAL_7: dict[str, Any] = {"resp_rate": 25, "heart_rate": 111, "temperature": 39.1}
TOTALS: dict[int, dict[str, Any]] = {4: TOTAL_4, 5: TOTAL_5, 7: TOTAL_7}
FLAGS = (None, False, True)
INFECTION = (None, "suspected", "confirmed", "at-risk")


def both_paths(charts: ChartSet, obs: ObservationSet, ctx: Context) -> ScoreResult:
    """The single path's result, after checking that the batch path gives the same."""
    single = score(obs, ctx, charts)
    [batch] = score_batch([(obs, ctx)], charts)
    assert batch == single
    return single


def news2(
    charts: ChartSet,
    changes: dict[str, Any],
    *,
    flag: bool | None = None,
    infection: str | None = None,
    drop: tuple[str, ...] = (),
) -> ScoreResult:
    vitals = {k: v for k, v in {**NEWS2_NORMAL, **changes}.items() if k not in drop}
    if flag is not None:
        vitals["suspected_infection"] = flag
    return both_paths(charts, make_obs(vitals), make_ctx(cohort="adult", infection=infection))


@pytest.mark.parametrize(
    ("total", "flag", "infection"),
    list(product(TOTALS, FLAGS, INFECTION)),
    ids=[f"total{t}-flag{f}-ctx{i}" for t, f, i in product(TOTALS, FLAGS, INFECTION)],
)
def test_think_sepsis_needs_total_5_and_infection(charts, total, flag, infection):
    result = news2(charts, TOTALS[total], flag=flag, infection=infection)
    assert (result.total, result.complete) == (total, True)
    infected = flag is True or infection is not None
    assert result.prompts == (["think-sepsis"] if total >= 5 and infected else [])


def test_a_sets_no_does_not_cancel_a_known_infection(charts):
    # The context says confirmed; the nurse's "no" on this set does not silence the prompt.
    result = news2(charts, TOTAL_5, flag=False, infection="confirmed")
    assert result.prompts == ["think-sepsis"]


@pytest.mark.parametrize(
    ("changes", "drop", "missing", "total", "prompted"),
    [
        # Lower bound ≥ 5: whatever is missing, the full total is ≥ 5 too.
        (
            {"resp_rate": 25, "heart_rate": 111},
            ("spo2", "temperature"),
            ["spo2", "temperature"],
            5,
            True,
        ),
        (
            {"resp_rate": 25, "heart_rate": 131},
            ("systolic_bp", "consciousness"),
            ["systolic_bp", "consciousness"],
            6,
            True,
        ),
        # Lower bound below 5 says nothing: no prompt (the missing values might be normal).
        (TOTAL_4, ("temperature",), ["temperature"], 4, False),
        (
            {},
            ("resp_rate", "spo2", "on_oxygen", "systolic_bp"),
            ["resp_rate", "spo2", "air_or_oxygen", "systolic_bp"],
            0,
            False,
        ),
    ],
)
def test_an_incomplete_sets_total_is_a_lower_bound(charts, changes, drop, missing, total, prompted):
    result = news2(charts, changes, flag=True, drop=drop)
    assert (result.total, result.complete, result.missing) == (total, False, missing)
    assert ("think-sepsis" in result.prompts) is prompted


def test_a_red_score_alone_does_not_prompt(charts):
    # New confusion scores 3 (low-medium response) but the total is 3, below 5.
    result = news2(charts, {"consciousness": "C"}, flag=True, infection="suspected")
    assert (result.total, result.level, result.prompts) == (3, "low-medium", [])


def test_scale_2_total_counts_like_any_other(charts):
    # Scale 2 on oxygen, SpO2 97 → 3, plus oxygen 2 = 5 (SPEC §1.2).
    vitals = {**NEWS2_NORMAL, "spo2": 97, "on_oxygen": True, "suspected_infection": True}
    result = both_paths(charts, make_obs(vitals), make_ctx(cohort="adult", spo2_scale=2))
    assert (result.total, result.prompts) == (5, ["think-sepsis"])


def test_the_prompt_does_not_change_the_score(charts):
    plain = news2(charts, TOTAL_7)
    prompted = news2(charts, TOTAL_7, flag=True, infection="at-risk")
    for field in ("total", "parameters", "risk", "level", "response", "complete", "missing"):
        assert getattr(prompted, field) == getattr(plain, field), field
    assert prompted.prompts == ["think-sepsis"]


def test_suspected_infection_is_never_scored_or_missing(charts):
    result = news2(charts, {}, drop=("temperature",))
    assert "suspected_infection" not in result.missing
    assert "suspected_infection" not in result.parameters
    complete = news2(charts, {})
    assert (complete.complete, complete.missing, complete.total) == (True, [], 0)
    # Echoed in the scored vitals when given, left out when not.
    assert news2(charts, {}, flag=False).vitals.suspected_infection is False
    assert complete.vitals.suspected_infection is None


def test_suspected_infection_may_be_not_recorded_but_not_both(charts):
    obs = make_obs(NEWS2_NORMAL, not_recorded={"suspected_infection": "not asked"})
    result = both_paths(charts, obs, make_ctx(cohort="adult"))
    assert (result.complete, result.missing) == (True, [])
    clash = make_obs(
        {**NEWS2_NORMAL, "suspected_infection": True},
        not_recorded={"suspected_infection": "not asked"},
    )
    with pytest.raises(InvalidObservation) as info:
        score(clash, make_ctx(cohort="adult"), charts)
    assert info.value.code == "contradictory"
    [batch] = score_batch([(clash, make_ctx(cohort="adult"))], charts)
    assert isinstance(batch, InvalidObservation)
    assert str(batch) == str(info.value)


@pytest.mark.parametrize("chart", ["meows-send", "mews-subbe-2001", "pews-nhse-2023-5-12y"])
def test_other_charts_take_the_inputs_without_a_total_prompt(charts, chart):
    # Only NEWS2 has the total prompt; the inputs are accepted on every chart, never refused.
    vitals = {**PEWS_NORMAL_5_12Y, "resp_rate": 60, "heart_rate": 160, "suspected_infection": True}
    ctx = make_ctx(chart=chart, infection="confirmed")
    result = both_paths(charts, make_obs(vitals), ctx)
    assert result.total >= 5
    assert "think-sepsis" not in result.prompts  # temperature 37.0: PEWS box not ticked


@pytest.mark.parametrize(("temperature", "prompted"), [(38.0, True), (37.9, False)])
def test_pews_temperature_prompt_is_unchanged(charts, temperature, prompted):
    vitals = {**PEWS_NORMAL_5_12Y, "temperature": temperature}
    for flag, infection in [(None, None), (True, "confirmed")]:
        v = vitals if flag is None else {**vitals, "suspected_infection": flag}
        ctx = make_ctx(cohort="child", age_band="5-12y", infection=infection)
        result = both_paths(charts, make_obs(v), ctx)
        assert result.total == 0
        assert result.prompts == (["think-sepsis"] if prompted else [])


def test_columns_ready_made_take_infection(charts):
    chart = charts.charts["news2"]
    n = 6
    numeric = {k: np.full(n, float(v)) for k, v in NEWS2_NORMAL.items() if k not in
               ("on_oxygen", "consciousness")}  # fmt: skip
    numeric["resp_rate"] = np.array([21, 21, 21, 21, 25, 21], dtype=np.float64)
    numeric["heart_rate"] = np.full(n, 111.0)
    numeric["temperature"] = np.array([38.1, 38.1, 38.1, 38.1, 39.1, 37.0])
    flag = np.array([-1, 0, 1, -1, -1, 1], dtype=np.int16)  # codes into (false, true)
    infection = np.array([-1, -1, -1, 2, 0, 1], dtype=np.int16)  # at-risk, suspected, confirmed
    cols = Columns.from_arrays(
        n,
        numeric=numeric,
        categorical={"consciousness": np.zeros(n, dtype=np.int16), "suspected_infection": flag},
        on_oxygen=np.zeros(n),
        infection=infection,
    )
    scores = score_columns(chart, cols)
    assert scores.total.tolist() == [5, 5, 5, 5, 7, 4]
    assert scores.prompts["think-sepsis"].tolist() == [False, False, True, True, True, False]


@pytest.mark.process
def test_surveillance_score_takes_context_infection():
    def request(msg_id: str, context: dict[str, Any], **vitals: Any) -> bytes:
        line = {
            **CONTRACT_OBSERVATION,
            "msg_id": msg_id,
            "vitals": {**CONTRACT_OBSERVATION["vitals"], **vitals},
            "context": {"cohort": "adult", **context},
        }
        return json.dumps(line).encode() + b"\n"

    stdin = b"".join(
        [
            request("a", {"infection": "suspected"}),
            request("b", {}, suspected_infection=True),
            request("c", {}),
            request("d", {"infection": "probably"}),
        ]
    )
    proc = subprocess.run(
        [sys.executable, "-m", "surveillance.cli", "score"],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    results = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(r["obs_msg_id"], r["total"], r["prompts"]) for r in results] == [
        ("a", 6, ["think-sepsis"]),
        ("b", 6, ["think-sepsis"]),
        ("c", 6, []),
    ]
    assert results[1]["vitals"]["suspected_infection"] is True
    assert "suspected_infection" not in results[0]["vitals"]
    assert proc.stderr.decode().startswith("line 4: invalid:")
    assert "infection" in proc.stderr.decode()
