"""What the online scorer and `surveillance evaluate` need of a learned deterioration risk
(issue 15): the estimate shown beside a score, and the protocol a model keeps.

The model sees what the scorer already has (the chart's result, the patient's ADT context and
the observation's source) and never changes the chart's score, response or ladder. Labels
arrive only after the horizon: `outcome` marks a patient's composite outcome (an unplanned
ICU/HDU admission, a cardiac arrest, a death), and `mature` learns from the predictions
whose horizon has passed. No clock and no I/O: times come from the caller.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import msgspec

from scoring import Context, ScoreResult

__all__ = ["LearnedRisk", "ModelError", "Risk", "load"]


class ModelError(Exception):
    """A model file that cannot be used (unreadable, or made by another river version or for
    other features): the message says which and what to do."""


class LearnedRisk(msgspec.Struct, kw_only=True, frozen=True):
    """A learned estimate, shown beside (never instead of) the chart's score."""

    probability: float
    """Calibrated probability of the composite outcome within `horizon_hours`, 0..1."""
    horizon_hours: float
    reasons: list[str]
    """The top contributing features in words, most first ("respiratory rate rising over
    6 h"); at most three."""
    model: str
    """The model's name and version, as its file says."""
    shadow: bool = True
    """True unless the trust has turned model alerts on."""


class Risk(Protocol):
    """A learned deterioration risk that learns online with delayed labels."""

    horizon_hours: float

    def estimate(self, result: ScoreResult, context: Context, source: str) -> LearnedRisk | None:
        """Update this patient's features from a scored observation and estimate their risk;
        None when the model does not cover them (another cohort) or does not re-estimate
        this observation (a device snapshot too soon after the last estimate)."""
        ...

    def outcome(self, patient_id: str, time: datetime) -> None:
        """The patient's composite outcome started at `time`: their predictions within the
        horizon before it are positives; later observations are not learned from."""
        ...

    def leave(self, patient_id: str, time: datetime) -> None:
        """The patient left the bed: forget their features (pending predictions still mature,
        an outcome recorded after the ADT message still labels them)."""
        ...

    def mature(self, now: datetime) -> int:
        """Learn from the predictions whose horizon has passed by `now` without an outcome
        (negatives); returns how many were learned from."""
        ...

    def save(self, path: Path) -> None:
        """Write the model, what it has learned and its pending predictions to `path`
        (atomically: a crash mid-write leaves the old file)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Name, version, river's version, features, what it was trained on and how many
        labels it has learned from since: for `/healthz` and the README."""
        ...


def load(path: Path | None = None) -> Risk:
    """The model in `path`, or the default one shipped with the project when None.

    Raises `ModelError` (the model is being built, issue 15: until then, always)."""
    raise ModelError("the learned risk model is not built yet (issue 15)")
