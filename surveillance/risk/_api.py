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

from scoring import Context, ScoreResult
from surveillance.risk._model import load_model
from surveillance.risk._types import LearnedRisk, ModelError

__all__ = ["LearnedRisk", "ModelError", "Risk", "load"]


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

    Raises `ModelError` when the file cannot be read, is damaged, or was made by another
    river version or for other features (the message says which and what to do)."""
    return load_model(path)
