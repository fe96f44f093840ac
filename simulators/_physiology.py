"""Physiology: resting values by cohort and age, a latent severity course, and vitals from both.

Pure and vectorised: given a patient's baseline, scenario and course, the vitals at any set of
times are a function of the severity there, the time of day and the patient's own slow noise.
Nothing here draws random numbers except the `draw_*` functions, which take the generator.

The model, in one line per vital (s is the latent severity, 0 well, about 1 critically ill):

    heart_rate  = base × (1 + effect × s) + 10/°C of fever + circadian + noise
    resp_rate   = base × (1 + effect × s) + noise
    systolic_bp = base × (1 + effect × s) + circadian + noise     (diastolic follows)
    spo2        = base + effect × s + oxygen boost + noise      (capped at 100)
    temperature = base + effect × min(1, 2s) + circadian + noise  (fever comes early)
    consciousness: C, V, P, U as s passes the scenario's thresholds
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Cohort = Literal["adult", "child", "maternity"]
Phase = Literal["antenatal", "postnatal"]

HOUR = 3600.0
CENTILES = (1, 10, 25, 50, 75, 90, 99)
_Z90 = 1.2816  # the 90th centile of the standard normal


@cache
def normal_ranges() -> dict[str, Any]:
    """`data/normal-ranges.toml`: Fleming 2011 children's centiles and the resting parameters."""
    text = resources.files("simulators").joinpath("data/normal-ranges.toml").read_text("utf-8")
    return tomllib.loads(text)


def child_centiles(vital: Literal["heart_rate", "resp_rate"], age_months: float) -> list[float]:
    """Fleming's 1st…99th centiles (see `CENTILES`) for a child of this age."""
    rows = normal_ranges()["children"][vital]["rows"]
    for row in rows:
        if row["from_months"] <= age_months < row["to_months"]:
            return [float(c) for c in row["centiles"]]
    return [float(c) for c in rows[-1]["centiles"]]


def pews_age_band(age_months: float) -> str:
    """The PEWS age chart for a child of this age (SPEC §2): `0-11m`, `1-4y`, `5-12y`, `13+y`."""
    if age_months < 12:
        return "0-11m"
    if age_months < 60:
        return "1-4y"
    if age_months < 156:
        return "5-12y"
    return "13+y"


@dataclass(frozen=True, slots=True)
class Baseline:
    """A patient's own resting values and reading-to-reading spread."""

    resp_rate: float
    heart_rate: float
    systolic_bp: float
    diastolic_bp: float
    spo2: float
    temperature: float
    noise: dict[str, float]


def draw_baseline(
    rng: np.random.Generator,
    cohort: Cohort,
    *,
    age_months: float,
    phase: Phase | None = None,
    copd: bool = False,
) -> Baseline:
    """A resting baseline: the population mean plus this patient's own offset."""
    ranges = normal_ranges()
    if cohort == "child":
        hr = child_centiles("heart_rate", age_months)
        rr = child_centiles("resp_rate", age_months)
        hr_sd = (hr[5] - hr[1]) / (2 * _Z90)
        rr_sd = (rr[5] - rr[1]) / (2 * _Z90)
        bp = ranges["children"]["systolic_bp"][pews_age_band(age_months)]
        # Between-patient and within-patient spread share the population's variance, kept a
        # little narrower: these are children at rest in a hospital bed.
        params = {
            "resp_rate": (rr[3], 0.55 * rr_sd, 0.4 * rr_sd),
            "heart_rate": (hr[3], 0.55 * hr_sd, 0.4 * hr_sd),
            "systolic_bp": (bp["mean"], bp["sd"], 4.0),
            "spo2": (98.0, 0.6, 0.6),
            "temperature": (36.9, 0.15, 0.12),
        }
    else:
        table = ranges["adult"] if cohort == "adult" else ranges["maternity"][phase or "antenatal"]
        params = {k: (v["mean"], v["sd"], v["noise"]) for k, v in table.items()}
    values = {k: mean + sd * float(rng.standard_normal()) for k, (mean, sd, _) in params.items()}
    if copd:  # hypercapnic respiratory failure: Scale 2, target 88–92 % (SPEC §1.2)
        values["spo2"] = 90.0 + 0.7 * float(rng.standard_normal())
        values["resp_rate"] += 3.0
        values["heart_rate"] += 8.0
    if cohort == "adult" and age_months > 65 * 12:  # older adults: a stiffer circulation
        values["systolic_bp"] += 8.0
    values["spo2"] = min(values["spo2"], 99.4)
    sbp = values["systolic_bp"]
    return Baseline(
        resp_rate=values["resp_rate"],
        heart_rate=values["heart_rate"],
        systolic_bp=sbp,
        diastolic_bp=0.55 * sbp + 4.0 * float(rng.standard_normal()) + 5.0,
        spo2=values["spo2"],
        temperature=values["temperature"],
        noise={k: noise for k, (_, _, noise) in params.items()},
    )


@dataclass(frozen=True, slots=True)
class Effects:
    """How a scenario moves each vital at severity 1.

    Heart rate, respiratory rate and blood pressure are fractions of the patient's baseline
    (so they scale from infants to adults); SpO2 is in %, temperature in °C, CRT in seconds.
    `consciousness` is the severity at which the patient becomes C, V, P and U (C is skipped
    on charts that use AVPU). `distress` scales the PEWS respiratory distress signs.
    """

    heart_rate: float
    resp_rate: float
    systolic_bp: float
    diastolic_bp: float
    spo2: float
    temperature: float
    consciousness: tuple[float, float, float, float]
    crt: float = 0.0
    distress: float = 0.3
    creatinine: float = 0.3


@dataclass(frozen=True, slots=True)
class Course:
    """The latent severity over time (epoch seconds).

    A logistic rise from `onset` over `rise` seconds (10 % to 90 % of `peak`); or, when
    `initial` is set, an illness already under treatment that decays from `initial` at
    admission. Treatment at `treated_at` turns the course: from there severity halves every
    `half_life` seconds. `treated_at = inf` records a response that did not turn it.
    """

    start: float
    onset: float = math.inf
    rise: float = HOUR
    peak: float = 0.0
    initial: float = 0.0
    treated_at: float | None = None
    half_life: float = 6 * HOUR

    def severity(self, t: Floats) -> Floats:
        """Severity at each time in `t`."""
        t = np.asarray(t, dtype=np.float64)
        if self.initial > 0:
            return self.initial * np.exp2(-(t - self.start) / self.half_life)
        s = self._rising(t)
        if self.treated_at is not None and math.isfinite(self.treated_at):
            turned = self._rising(np.array([self.treated_at]))[0]
            after = t > self.treated_at
            s = np.where(after, turned * np.exp2(-(t - self.treated_at) / self.half_life), s)
        return s

    def at(self, t: float) -> float:
        """Severity at one time."""
        return float(self.severity(np.array([t]))[0])

    def _rising(self, t: Floats) -> Floats:
        if self.peak <= 0 or math.isinf(self.onset):
            return np.zeros_like(t)
        k = self.rise / (2 * math.log(9))
        mid = self.onset + self.rise / 2
        return self.peak / (1 + np.exp(-np.clip((t - mid) / k, -60, 60)))


def slow_noise(rng: np.random.Generator, n: int, step: float, tau: float = HOUR) -> Floats:
    """Unit-variance AR(1) noise on a grid of `n` points `step` seconds apart (correlation `tau`)."""
    phi = math.exp(-step / tau)
    shocks = rng.standard_normal(n) * math.sqrt(1 - phi * phi)
    shocks[0] = rng.standard_normal()
    # x[i] = phi·x[i-1] + e[i], as a convolution with phi^k (truncated where phi^k < 1e-6).
    length = min(n, int(math.log(1e-6) / math.log(phi)) + 1 if phi > 0 else 1)
    kernel = phi ** np.arange(length)
    return np.convolve(shocks, kernel)[:n]


def circadian(t: Floats, utc_offset_hours: float = 0.0) -> Floats:
    """A unit circadian wave: −1 around 04:00, +1 around 16:00 local time."""
    hours = ((t / HOUR) + utc_offset_hours) % 24
    result: Floats = -np.cos((hours - 4.0) * (2 * math.pi / 24))
    return result


def vitals_at(
    baseline: Baseline,
    effects: Effects,
    *,
    s: Floats,
    day: Floats,
    slow: dict[str, Floats],
    boost: Floats,
) -> dict[str, Floats]:
    """The true (noise-free apart from `slow`) vitals at each point.

    Args:
        baseline: the patient's resting values.
        effects: the scenario's effects at severity 1.
        s: severity at each point.
        day: the circadian wave at each point (see `circadian`).
        slow: the patient's slow noise per vital, in that vital's units.
        boost: the SpO2 rise from supplemental oxygen at each point (0 on air).
    """
    fever_s = np.minimum(1.0, 2.0 * s)
    temperature = baseline.temperature + effects.temperature * fever_s + 0.25 * day
    temperature = temperature + slow["temperature"]
    fever = np.maximum(0.0, temperature - baseline.temperature)
    heart_rate = baseline.heart_rate * (1 + effects.heart_rate * s) + 10.0 * fever + 4.0 * day
    resp_rate = baseline.resp_rate * (1 + effects.resp_rate * s)
    systolic = baseline.systolic_bp * (1 + effects.systolic_bp * s) + 4.0 * day
    diastolic = baseline.diastolic_bp * (1 + effects.diastolic_bp * s) + 2.0 * day
    spo2 = baseline.spo2 + effects.spo2 * s + boost
    return {
        "heart_rate": heart_rate + slow["heart_rate"],
        "resp_rate": resp_rate + slow["resp_rate"],
        "systolic_bp": systolic + slow["systolic_bp"],
        "diastolic_bp": diastolic + 0.5 * slow["systolic_bp"],
        "spo2": np.minimum(100.0, spo2 + slow["spo2"]),
        "temperature": temperature,
    }


AVPU = ("A", "C", "V", "P", "U")


def consciousness(effects: Effects, s: float, *, acvpu: bool) -> str:
    """The ACVPU letter at severity `s`; on AVPU charts new confusion is not a level."""
    letter = "A"
    for level, threshold in zip(AVPU[1:], effects.consciousness, strict=True):
        if s >= threshold and (acvpu or level != "C"):
            letter = level
    return letter


def distress(effects: Effects, s: float) -> str:
    """PEWS respiratory distress signs at severity `s`."""
    level = s * effects.distress
    if level < 0.3:
        return "none"
    if level < 0.6:
        return "mild"
    if level < 0.9:
        return "moderate"
    return "severe"
