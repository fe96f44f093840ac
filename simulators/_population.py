"""Who a simulated patient is: the equity fields of CONTRACT §2 (recorded needs included),
frailty, chronic conditions, and the inequities a run can be told to build in.

Proportions and parameters are in `data/population.toml`, each with its source. Pure: the
`draw_*` functions take the random generator; nothing here reads a clock.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from simulators._physiology import Cohort

Floats = npt.NDArray[np.float64]

INEQUITIES = ("spo2-overread", "night-escalation")
"""The inequities `SimConfig.inequity` can build in (none by default)."""

CATCHMENTS = ("england", "london")
"""The stated ethnic mixes `SimConfig.catchment` can draw from (`population.toml`: England's
census by default, `london` a diverse catchment)."""

ETHNIC_GROUP = {
    **dict.fromkeys("ABC", "White"),
    **dict.fromkeys("DEFG", "Mixed"),
    **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"),
    **dict.fromkeys("RS", "Other"),
}
"""NHS ethnic category → its ONS group (Z not stated and 99 not known have none)."""

NEEDS = ("learning-disability", "autism", "physical-disability", "mental-health", "dementia")
"""CONTRACT §2's recorded needs, in its order (the ADT's `needs` list keeps this order)."""


@cache
def population() -> dict[str, Any]:
    """`data/population.toml`: shares and parameters, each with its source."""
    text = resources.files("simulators").joinpath("data/population.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class Person:
    """A patient's equity characteristics (CONTRACT §2) and latent traits.

    `frailty` (0 fit … 1 very frail) and `chronic` (names in `population.toml`'s `chronic`)
    are never published on the patient's own topics: only the ground truth records them.
    """

    sex: str
    ethnicity: str
    imd_decile: int
    frailty: float = 0.0
    chronic: tuple[str, ...] = field(default=())
    needs: tuple[str, ...] = field(default=())

    @property
    def ethnic_group(self) -> str | None:
        return ETHNIC_GROUP.get(self.ethnicity)


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([float(weights[k]) for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def frailty_mean(age_years: float) -> float:
    """The mean frailty at this age: `mean_at_50` up to 50, rising linearly to `mean_at_90`."""
    f = population()["frailty"]
    low, high = float(f["mean_at_50"]), float(f["mean_at_90"])
    share = min(1.0, max(0.0, (age_years - 50.0) / 40.0))
    return low + (high - low) * share


def draw_frailty(rng: np.random.Generator, age_years: float) -> float:
    """An adult's frailty: a beta draw around `frailty_mean(age_years)`."""
    mean = frailty_mean(age_years)
    k = float(population()["frailty"]["concentration"])
    return float(rng.beta(mean * k, (1 - mean) * k))


def draw_person(
    rng: np.random.Generator,
    cohort: Cohort,
    *,
    frailty: float = 0.0,
    copd: bool = False,
    catchment: str = "england",
) -> Person:
    """Sex, ethnicity (the stated mix of `catchment`) and IMD decile for any cohort; chronic
    conditions for adults not on Scale 2 (whose COPD is a scenario of its own). Every
    catchment makes the same draws, so it changes nothing but ethnicity."""
    table = population()
    sex = _choice(rng, table["sex"][cohort]["weights"])
    eth = table["ethnicity"]
    draw = float(rng.random())
    if draw < eth["not_stated"]:
        ethnicity = "Z"
    elif draw < eth["not_stated"] + eth["not_known"]:
        ethnicity = "99"
    else:
        stated = (
            eth["stated"] if catchment == "england" else table["catchment"][catchment]["stated"]
        )
        ethnicity = _choice(rng, stated)
    imd = [float(w) for w in table["imd"]["weights"]]
    decile = 1 + int(rng.choice(len(imd), p=np.array(imd) / sum(imd)))
    if cohort != "adult":
        return Person(sex, ethnicity, decile)
    # Chronic conditions gather in the frail: each one's share is scaled by
    # `comorbidity_base` + `comorbidity_slope` × frailty (about 1 at the adult mean).
    f = table["frailty"]
    scale = float(f["comorbidity_base"]) + float(f["comorbidity_slope"]) * frailty
    chronic = tuple(
        name
        for name, spec in table["chronic"].items()
        if float(rng.random()) < float(spec["share"]) * scale
    )
    return Person(sex, ethnicity, decile, frailty, () if copd else chronic)


def need_share(cohort: Cohort, need: str, age_years: float) -> float:
    """The recorded share of `need` in `cohort` at this age (`population.toml`'s `needs`: the
    share from the last of `ages` at or below the age)."""
    table = population()["needs"][cohort]
    ages = [float(a) for a in table["ages"]]
    shares = [float(x) for x in table[need]]
    index = max(0, bisect_right(ages, age_years) - 1)
    return shares[index]


def draw_needs(rng: np.random.Generator, cohort: Cohort, age_years: float) -> tuple[str, ...]:
    """A patient's recorded needs: each of `NEEDS` independently with its share for the
    cohort and age. One uniform draw per need, always all five, so the stream's use does not
    depend on what was drawn."""
    draws = rng.random(len(NEEDS))
    return tuple(
        need
        for need, u in zip(NEEDS, draws, strict=True)
        if float(u) < need_share(cohort, need, age_years)
    )


def chronic_offsets(chronic: tuple[str, ...]) -> tuple[dict[str, float], dict[str, float]]:
    """(offsets to resting values, multipliers of reading-to-reading noise) for these conditions."""
    offsets: dict[str, float] = {}
    noise: dict[str, float] = {}
    for name in chronic:
        spec = population()["chronic"][name]
        for vital in ("resp_rate", "heart_rate", "systolic_bp", "spo2"):
            if vital in spec:
                offsets[vital] = offsets.get(vital, 0.0) + float(spec[vital])
        for vital, factor in spec.get("noise", {}).items():
            noise[vital] = noise.get(vital, 1.0) * float(factor)
    return offsets, noise


def spo2_overread(true_spo2: Floats, group: str | None) -> Floats:
    """What a pulse oximeter reads for a patient of this ethnic group under `spo2-overread`:
    the true saturation plus the group's bias, growing below 96 % (0 for other groups)."""
    spec = population()["inequity"]["spo2-overread"]["groups"].get(group or "")
    if spec is None:
        return true_spo2
    below = np.maximum(0.0, 96.0 - true_spo2)
    bias = np.minimum(float(spec["cap"]), float(spec["bias"]) + float(spec["slope"]) * below)
    result: Floats = np.minimum(100.0, true_spo2 + bias)
    return result
