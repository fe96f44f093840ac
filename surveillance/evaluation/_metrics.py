"""The figures of `surveillance evaluate` (CONTRACT §11), as pure functions of plain numbers.

Times are hours (any origin, the same for a patient's observations and their outcome), so the
functions can be tested with hand-computed cases and generated ones; `surveillance.evaluation._replay`
turns a replayed recording into these inputs.

- `label`: which of a patient's observations count, and which are followed by the outcome
  within the horizon (an observation at or after the outcome's start is left out);
- `auroc`, `auprc`: scikit-learn's `roc_auc_score` (ties count one half) and
  `average_precision_score` (the step-wise area, no interpolation); None when the labels hold
  only one class, where neither is defined;
- `at_threshold`: alert episodes and what they caught (`AtThreshold`).

An alert episode is a run of a patient's consecutive observations at or above the threshold
(the next observation below it ends the run): what a nurse sees as one alert, however often
the patient is observed while it lasts. An episode is true when the patient's outcome starts
after its first observation and no later than the horizon after its last. An outcome is
detected when at least one observation at or above the threshold falls in the horizon before
it; its lead time runs from the first such observation to the outcome.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AtThreshold",
    "Series",
    "at_threshold",
    "auprc",
    "auroc",
    "episodes",
    "label",
    "per_100",
]


def _classes(labels: Sequence[bool]) -> bool:
    return 0 < sum(labels) < len(labels)


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting one half; None unless both classes are present."""
    if len(scores) != len(labels):
        msg = f"{len(scores)} scores but {len(labels)} labels"
        raise ValueError(msg)
    if not _classes(labels):
        return None
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415  # ~1 s to import: only when used

    return float(roc_auc_score(np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float)))


def auprc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds, highest first (tied
    scores enter together); None unless both classes are present."""
    if len(scores) != len(labels):
        msg = f"{len(scores)} scores but {len(labels)} labels"
        raise ValueError(msg)
    if not _classes(labels):
        return None
    from sklearn.metrics import average_precision_score  # noqa: PLC0415

    return float(
        average_precision_score(np.asarray(labels, dtype=bool), np.asarray(scores, dtype=float))
    )


def label(
    times: Sequence[float], onset: float | None, horizon: float
) -> tuple[list[bool], list[bool]]:
    """(kept, positive) for each observation: kept unless at or after the outcome's start;
    positive when the outcome starts after it and within `horizon` hours."""
    if onset is None:
        return [True] * len(times), [False] * len(times)
    kept = [t < onset for t in times]
    positive = [t < onset <= t + horizon for t in times]
    return kept, positive


def episodes(times: Sequence[float], alerts: Sequence[bool]) -> list[tuple[float, float]]:
    """(first, last) time of each run of consecutive alerting observations (times ascending)."""
    runs: list[tuple[float, float]] = []
    start: float | None = None
    last = 0.0
    for t, alert in zip(times, alerts, strict=True):
        if alert:
            if start is None:
                start = t
            last = t
        elif start is not None:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return runs


@dataclass(frozen=True, slots=True)
class Series:
    """One patient's kept observations (times ascending, whether each is at or above the
    threshold), the start of their outcome if they had one, and their days in a bed."""

    times: Sequence[float]
    alerts: Sequence[bool]
    onset: float | None
    days: float


@dataclass(frozen=True, slots=True)
class AtThreshold:
    """What alerting at a threshold gives: episodes (`alerts`), the true ones, the outcomes
    and those detected, lead times in hours, and the rates derived from them."""

    alerts: int
    true_alerts: int
    alert_observations: int
    events: int
    detected: int
    lead_times: tuple[float, ...]
    patient_days: float

    @property
    def alerts_per_100_patient_days(self) -> float | None:
        return per_100(self.alerts, self.patient_days)

    @property
    def sensitivity(self) -> float | None:
        return self.detected / self.events if self.events else None

    @property
    def ppv(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None

    @property
    def nne(self) -> float | None:
        """Number needed to evaluate: alerts per true alert (1 / PPV)."""
        return self.alerts / self.true_alerts if self.true_alerts else None

    @property
    def median_lead_time_hours(self) -> float | None:
        return statistics.median(self.lead_times) if self.lead_times else None


def per_100(count: float, patient_days: float) -> float | None:
    """`count` per 100 patient-days; None when there were none."""
    return 100.0 * count / patient_days if patient_days > 0 else None


def at_threshold(patients: Iterable[Series], horizon: float) -> AtThreshold:
    """Alert episodes, true alerts, detected outcomes and lead times over `patients`."""
    alerts = true_alerts = alert_obs = events = detected = 0
    leads: list[float] = []
    days = 0.0
    for p in patients:
        days += p.days
        runs = episodes(p.times, p.alerts)
        alerts += len(runs)
        alert_obs += sum(p.alerts)
        if p.onset is None:
            continue
        onset = p.onset
        events += 1
        true_alerts += sum(1 for first, last in runs if first < onset <= last + horizon)
        before = [
            t for t, a in zip(p.times, p.alerts, strict=True) if a and onset - horizon <= t < onset
        ]
        if before:
            detected += 1
            leads.append(onset - min(before))
    return AtThreshold(alerts, true_alerts, alert_obs, events, detected, tuple(leads), days)


def brier(probabilities: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Mean squared difference between the probability and the outcome (0 or 1); None when
    there is nothing to judge."""
    if len(probabilities) != len(labels):
        msg = f"{len(probabilities)} probabilities but {len(labels)} labels"
        raise ValueError(msg)
    if not probabilities:
        return None
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(labels, dtype=float)
    return float(np.mean((p - y) ** 2))


EPSILON = 1e-9


def _logit(probabilities: Sequence[float]) -> np.ndarray:
    p = np.clip(np.asarray(probabilities, dtype=float), EPSILON, 1 - EPSILON)
    logits: np.ndarray = np.log(p / (1 - p))
    return logits


def _newton(
    columns: np.ndarray, y: np.ndarray, offset: np.ndarray, steps: int = 100
) -> np.ndarray | None:
    """Maximum-likelihood logistic coefficients for `columns` (n × k) with a fixed `offset`
    (Newton-Raphson); None when they do not converge (separated data)."""
    beta = np.zeros(columns.shape[1])
    for _ in range(steps):
        eta = columns @ beta + offset
        mu = 1.0 / (1.0 + np.exp(-eta))
        weight = mu * (1 - mu)
        hessian = columns.T @ (columns * weight[:, None])
        gradient = columns.T @ (y - mu)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            return None
        if np.max(np.abs(step)) < 1e-10:
            return beta
    return beta if np.max(np.abs(step)) < 1e-6 else None


def calibration(
    probabilities: Sequence[float], labels: Sequence[bool]
) -> tuple[float | None, float | None]:
    """(slope, intercept) of logistic recalibration: the slope is b of logit P(y) = a + b ·
    logit(p); the intercept is a of logit P(y) = a + logit(p) (calibration-in-the-large, the
    slope held at 1), as Van Calster et al. (2016, 2019) define them. A calibrated model has
    slope 1 and intercept 0; a slope below 1 means its estimates are too extreme. None unless
    both classes are present."""
    if len(probabilities) != len(labels):
        msg = f"{len(probabilities)} probabilities but {len(labels)} labels"
        raise ValueError(msg)
    if not _classes(labels):
        return None, None
    z = _logit(probabilities)
    y = np.asarray(labels, dtype=float)
    ones = np.ones_like(z)
    fit = _newton(np.column_stack([ones, z]), y, np.zeros_like(z))
    large = _newton(ones[:, None], y, z)
    return (
        None if fit is None else float(fit[1]),
        None if large is None else float(large[0]),
    )


def threshold_for_rate(
    patients: Sequence[tuple[Sequence[float], Sequence[float], float | None, float]],
    horizon: float,
    target: float,
) -> tuple[float, AtThreshold] | None:
    """The threshold on `patients`' estimates — (times, estimates, onset, days) each — whose
    alert episodes per 100 patient-days come closest to `target`, and what alerting at it
    gives; None when there are no estimates. The rate falls (nearly always) as the threshold
    rises: bisection over the distinct estimates, then the nearest neighbours either side
    (ties: the higher threshold, fewer alerts)."""
    candidates = sorted({p for _, estimates, _, _ in patients for p in estimates})
    if not candidates:
        return None

    def at(threshold: float) -> AtThreshold:
        return at_threshold(
            (
                Series(times, [p >= threshold for p in estimates], onset, days)
                for times, estimates, onset, days in patients
            ),
            horizon,
        )

    def rate(threshold: float) -> float:
        value = at(threshold).alerts_per_100_patient_days
        return 0.0 if value is None else value

    low, high = 0, len(candidates) - 1  # find the lowest index whose rate is <= target
    if rate(candidates[high]) > target:
        low = high
    while low < high:
        middle = (low + high) // 2
        if rate(candidates[middle]) <= target:
            high = middle
        else:
            low = middle + 1
    best = min(
        range(max(0, low - 3), min(len(candidates), low + 4)),
        key=lambda i: (abs(rate(candidates[i]) - target), -i),
    )
    return candidates[best], at(candidates[best])
