"""Hypothesis strategies for observation sets and contexts, including hostile values."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from hypothesis import strategies as st

from scoring import Context, ObservationSet
from tests.factories import make_ctx, make_obs


def numbers(low: float, high: float) -> st.SearchStrategy[float]:
    """Values as devices and people send them: integers, 1–2 decimals, and odd precision."""
    return st.one_of(
        st.integers(math.ceil(low), math.floor(high)).map(float),
        st.integers(math.ceil(low * 10), math.floor(high * 10)).map(lambda k: k / 10),
        st.integers(math.ceil(low * 100), math.floor(high * 100)).map(lambda k: k / 100),
        st.floats(low, high, allow_nan=False, allow_infinity=False),
    )


VITALS: dict[str, st.SearchStrategy[Any]] = {
    "resp_rate": numbers(-1, 130),
    "spo2": numbers(-1, 102),
    "on_oxygen": st.booleans(),
    "oxygen_device": st.sampled_from(["air", "NP", "FM", "HB", "NRB", "V", "HF", "CP", "BiP"]),
    "oxygen_flow_lpm": numbers(0, 90),
    "oxygen_percent": numbers(0, 101),
    "systolic_bp": numbers(-1, 410),
    "diastolic_bp": numbers(-1, 310),
    "bp_code": st.sampled_from(["NCO", "U0", "U4"]),
    "heart_rate": numbers(-1, 320),
    "consciousness": st.sampled_from(["A", "C", "V", "P", "U"]),
    "temperature": numbers(5, 55),
    "resp_distress": st.sampled_from(["none", "mild", "moderate", "severe"]),
    "crt_seconds": numbers(0, 25),
    "concern": st.sampled_from([True, False, "low", "medium", "high", "emergency"]),
    "carer_question": st.sampled_from(["W", "S", "B", "A", "U"]),
    "suspected_infection": st.booleans(),
}

INFECTION = st.sampled_from([None, "suspected", "confirmed", "at-risk"])
"""A context's infection status (None: none known)."""


@st.composite
def vitals(draw: st.DrawFn, keys: tuple[str, ...] = tuple(VITALS)) -> dict[str, Any]:
    """Any subset of vitals with any values (many sets are refused, which is tested too)."""
    chosen = draw(st.lists(st.sampled_from(keys), unique=True))
    return {k: draw(VITALS[k]) for k in chosen}


@st.composite
def plausible_vitals(draw: st.DrawFn) -> dict[str, Any]:
    """Vitals that pass the plausibility and contradiction checks of every chart."""
    out: dict[str, Any] = {}
    for key, strategy in {
        "resp_rate": numbers(1, 70),
        "spo2": numbers(10, 100),
        "heart_rate": numbers(1, 300),
        "temperature": numbers(11, 49),
        "crt_seconds": numbers(0, 20),
    }.items():
        if draw(st.booleans()) or draw(st.booleans()):
            out[key] = draw(strategy)
    if draw(st.booleans()):
        sbp = draw(numbers(2, 399))
        out["systolic_bp"] = sbp
        if draw(st.booleans()):
            out["diastolic_bp"] = draw(numbers(1, max(1.0, sbp - 1)))
    oxygen = draw(st.sampled_from(["none", "air", "device", "level", "both"]))
    if oxygen == "air":
        out["on_oxygen"] = False
    elif oxygen in ("device", "both"):
        out["oxygen_device"] = draw(
            st.sampled_from(["NP", "FM", "HB", "NRB", "V", "HF", "CP", "BiP"])
        )
    if oxygen in ("level", "both"):
        if draw(st.booleans()):
            out["oxygen_flow_lpm"] = draw(numbers(0.01, 80))
        else:
            out["oxygen_percent"] = draw(numbers(0.01, 100))
    for key in ("consciousness", "resp_distress", "carer_question", "suspected_infection"):
        if draw(st.booleans()):
            out[key] = draw(VITALS[key])
    return out


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    """Contexts for every chart: by cohort (children by birth date or age band) or forced;
    any infection status."""
    how = draw(st.sampled_from(["adult", "child", "child-band", "maternity", "forced"]))
    scale = draw(st.sampled_from([1, 2]))
    infection = draw(INFECTION)
    if how == "adult":
        return make_ctx(cohort="adult", spo2_scale=scale, infection=infection)
    if how == "child":
        born = draw(st.dates(date(2005, 1, 1), date(2026, 11, 21)))
        return make_ctx(cohort="child", birth_date=born.isoformat(), infection=infection)
    if how == "child-band":
        return make_ctx(
            cohort="child",
            age_band=draw(st.sampled_from(["0-11m", "1-4y", "5-12y", "13+y"])),
            infection=infection,
        )
    if how == "maternity":
        return make_ctx(cohort="maternity", infection=infection)
    chart = draw(
        st.sampled_from(["news2", "meows-send", "mews-subbe-2001", "pews-nhse-2023-5-12y"])
    )
    return make_ctx(chart=chart, spo2_scale=scale, infection=infection)


@st.composite
def observations(draw: st.DrawFn, plausible: bool = False) -> ObservationSet:
    v = draw(plausible_vitals() if plausible else vitals())
    return make_obs(v, msg_id=f"obs-{draw(st.integers(0, 10**6))}")
