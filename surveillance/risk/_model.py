"""The learned deterioration risk: a river pipeline (standardised features into a logistic
regression) under an online Platt calibration, learning with delayed labels.

- `estimate` updates the patient's features (`surveillance.risk._features`) from a scored
  adult observation and gives the calibrated probability with its reasons. Nurses' sets are
  always estimated; a device snapshot at most every `estimate_interval` seconds per patient.
  Each estimate becomes a pending prediction (a device snapshot's at most every
  `learn_interval` seconds, so a patient on a wearable does not outweigh a hundred on
  nurses' rounds), unless the patient's outcome has already started.
- `outcome` labels the patient's pending predictions made within the horizon before it as
  positives (those older as negatives; those at or after it are dropped) and learns them;
  `mature(now)` learns as negatives the predictions whose horizon has passed by `now`.
  Learning a label: the calibrator first learns (raw logit → label) with the raw model as it
  is, so the calibration is fitted on predictions the raw model has not learned from; then the
  raw pipeline learns (features → label).
- Calibration (`Platt`): online Platt scaling, one calibrator for nurses' sets and one for
  device snapshots (they are different populations: a calibrator fitted on both was judged
  too extreme on nurses' sets, slope 0.52-0.58). Each keeps its labels counted by raw-logit
  bin (0.25 wide), decayed so old wards weigh less, and refits sigmoid(a·z + b) to them by
  Newton's method every `REFIT` labels: exact, where SGD on two parameters crawled.
- The file (`save`, `load_model`) is gzip-compressed JSON, never a pickle: a header line (the
  format, model name and version, river's version, the features, the horizon, what it was
  trained on, and the sha256 of the state line) and a state line (the scaler's counts, means
  and variances, the regression's weights and intercept, the calibrator's, each patient's
  feature history, the pending predictions, the patients whose outcome has started). The
  river objects are rebuilt from those numbers; another river version or feature list is
  refused with `ModelError`.

No clock and no I/O except in `save` and `load_model`.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
from collections import deque
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

import msgspec
from river import compose, linear_model, optim, preprocessing

from scoring import Context, ScoreResult
from surveillance.risk._features import FEATURES, PatientState, features, observe, reasons
from surveillance.risk._types import LearnedRisk, ModelError

__all__ = [
    "DEFAULT_MODEL",
    "FORMAT",
    "MODEL_NAME",
    "MODEL_VERSION",
    "RiverRisk",
    "load_model",
]

FORMAT: Final = "ward-surveillance-risk"
FORMAT_VERSION: Final = 2  # 2: one binned Platt calibrator per source
MODEL_NAME: Final = "news2-trends-logistic"
MODEL_VERSION: Final = "1"
DEFAULT_MODEL: Final = Path(__file__).parent / "models" / "default.json.gz"
ADULT_COHORTS: Final = frozenset({None, "adult"})
RIVER: Final = version("river")  # the installed release (the project pins it exactly)


class Pending(msgspec.Struct, array_like=True):
    """A prediction waiting for its label."""

    patient: str
    time: float
    x: dict[str, float]
    done: bool = False


class Hyper(msgspec.Struct, kw_only=True, frozen=True):
    """The model's settings (saved with it)."""

    horizon_hours: float = 24.0
    estimate_interval: float = 300.0
    learn_interval: float = 3600.0
    lr: float = 0.01
    online_lr: float = 0.001
    """The learning rate once trained: a model read from its file learns on at this rate. At
    the training rate, learning on held-out wards undid what training had taught (AUROC 0.85
    frozen, 0.74 learning, on the same wards): a burst of labels from one patient (every
    estimate of the day before their outcome) moved the weights more than a trained model's
    should move."""
    l2: float = 1e-4


class Platt(msgspec.Struct, kw_only=True):
    """Online Platt scaling on a raw logit z: p = sigmoid(a·z + b), refitted by Newton's
    method to the labels counted by bin of z (pure; the state is these numbers)."""

    positives: list[float] = msgspec.field(default_factory=lambda: [0.0] * BINS)
    negatives: list[float] = msgspec.field(default_factory=lambda: [0.0] * BINS)
    a: float = 1.0
    b: float = 0.0
    since_fit: int = 0

    def __call__(self, z: float) -> float:
        return _sigmoid(self.a * z + self.b)

    def learn(self, z: float, positive: bool) -> None:
        if not math.isfinite(z):
            return
        i = min(BINS - 1, max(0, int((z - LOW) / WIDTH)))
        if positive:
            self.positives[i] += 1.0
        else:
            self.negatives[i] += 1.0
        self.since_fit += 1
        if self.since_fit >= REFIT:
            self.fit()

    def fit(self) -> None:
        """Decay the counts for the labels since the last fit, then fit a and b (kept as they
        are until there are `MIN_POSITIVES` positives and as many negatives)."""
        keep = DECAY**self.since_fit
        self.since_fit = 0
        self.positives = [c * keep for c in self.positives]
        self.negatives = [c * keep for c in self.negatives]
        if sum(self.positives) < MIN_POSITIVES or sum(self.negatives) < MIN_POSITIVES:
            return
        rows = [
            (LOW + (i + 0.5) * WIDTH, pos, pos + neg)
            for i, (pos, neg) in enumerate(zip(self.positives, self.negatives, strict=True))
            if pos + neg > 0
        ]
        a, b = self.a, self.b
        for _ in range(50):
            ga = gb = haa = hab = hbb = 0.0
            for z, pos, n in rows:
                p = _sigmoid(a * z + b)
                r = n * p - pos
                w = n * p * (1.0 - p)
                ga += r * z
                gb += r
                haa += w * z * z
                hab += w * z
                hbb += w
            haa += RIDGE
            hbb += RIDGE
            det = haa * hbb - hab * hab
            if det <= 0:
                return
            da = (hbb * ga - hab * gb) / det
            db = (haa * gb - hab * ga) / det
            a, b = a - da, b - db
            if abs(da) < 1e-9 and abs(db) < 1e-9:
                break
        if math.isfinite(a) and math.isfinite(b):
            self.a, self.b = a, b


BINS: Final = 96
LOW: Final = -16.0
WIDTH: Final = 0.25
REFIT: Final = 200
DECAY: Final = 0.99995  # per label: a label 14,000 labels ago weighs half
MIN_POSITIVES: Final = 20.0
RIDGE: Final = 1e-6


class _Linear(msgspec.Struct):
    weights: dict[str, float]
    intercept: float
    n_iterations: int


class _Scaler(msgspec.Struct):
    counts: dict[str, int]
    means: dict[str, float]
    vars: dict[str, float]


class _State(msgspec.Struct, kw_only=True):
    hyper: Hyper
    scaler: _Scaler
    model: _Linear
    calibrators: dict[str, Platt]
    patients: dict[str, PatientState]
    pending: list[Pending]
    ended: dict[str, float]


class Header(msgspec.Struct, kw_only=True):
    """The first line of a model file."""

    format: str
    format_version: int
    model: str
    model_version: str
    river: str
    features: list[str]
    horizon_hours: float
    trained_on: dict[str, Any]
    learned: dict[str, int]
    """Labels learned from, all told: positives and negatives."""
    sha256: str = ""
    """Of the state line, as written."""


def _logistic(lr: float, l2: float = 0.0) -> linear_model.LogisticRegression:
    return linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2, intercept_lr=lr)


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class RiverRisk:
    """A learned deterioration risk (`surveillance.risk.Risk`)."""

    def __init__(
        self,
        hyper: Hyper | None = None,
        *,
        trained_on: dict[str, Any] | None = None,
        learn: bool = True,
    ) -> None:
        self.hyper = hyper or Hyper()
        self.horizon_hours = self.hyper.horizon_hours
        self.learn = learn
        self.trained_on: dict[str, Any] = dict(trained_on or {})
        self.scaler = preprocessing.StandardScaler()
        self.model = _logistic(self.hyper.lr, self.hyper.l2)
        self.pipeline = compose.Pipeline(self.scaler, self.model)
        # Platt scaling, one for nurses' sets and one for device snapshots; the identity at first.
        self.calibrators = {"manual": Platt(), "device": Platt()}
        self.patients: dict[str, PatientState] = {}
        self.pending: deque[Pending] = deque()
        self.by_patient: dict[str, list[Pending]] = {}
        self.ended: dict[str, float] = {}
        self.learned = {"positives": 0, "negatives": 0}
        self.since_load = {"positives": 0, "negatives": 0, "estimates": 0}

    # -- the protocol ---------------------------------------------------------------------

    def estimate(self, result: ScoreResult, context: Context, source: str) -> LearnedRisk | None:
        if result.system != "NEWS2" or context.cohort not in ADULT_COHORTS:
            return None
        patient = result.patient_id
        now = result.time.timestamp()
        state = self.patients.get(patient)
        if state is None:
            state = self.patients[patient] = PatientState(first=now)
        observe(state, result, source)
        manual = source == "manual"
        if (
            not manual
            and state.last_estimate is not None
            and 0 <= now - state.last_estimate < self.hyper.estimate_interval
        ):
            return None
        state.last_estimate = now
        x = features(state, result, context, source)
        probability, contributions, scaled = self.explain(x)
        self.since_load["estimates"] += 1
        if self.learn and patient not in self.ended:
            last = state.last_learned
            if manual or last is None or not 0 <= now - last < self.hyper.learn_interval:
                state.last_learned = now
                entry = Pending(patient, now, x)
                self.pending.append(entry)
                self.by_patient.setdefault(patient, []).append(entry)
        return LearnedRisk(
            probability=probability,
            horizon_hours=self.horizon_hours,
            reasons=reasons(contributions, x, scaled),
            model=f"{MODEL_NAME} {MODEL_VERSION}",
        )

    def outcome(self, patient_id: str, time: datetime) -> None:
        when = time.timestamp()
        self.ended[patient_id] = min(when, self.ended.get(patient_id, when))
        start = when - self.horizon_hours * 3600.0
        for entry in self.by_patient.pop(patient_id, []):
            if entry.done:
                continue
            entry.done = True
            if entry.time < when:
                self._learn(entry.x, entry.time >= start)

    def leave(self, patient_id: str, time: datetime) -> None:
        self.patients.pop(patient_id, None)

    def mature(self, now: datetime) -> int:
        cut = now.timestamp() - self.horizon_hours * 3600.0
        learned = 0
        while self.pending and (self.pending[0].done or self.pending[0].time <= cut):
            entry = self.pending.popleft()
            if entry.done:
                continue
            entry.done = True
            own = self.by_patient.get(entry.patient)
            if own is not None:
                own.remove(entry)
                if not own:
                    del self.by_patient[entry.patient]
            self._learn(entry.x, False)
            learned += 1
        return learned

    def save(self, path: Path) -> None:
        header, state = self._encode()
        blob = gzip.compress(header + b"\n" + state + b"\n", compresslevel=6, mtime=0)
        path = Path(path)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
                out.flush()
                os.fsync(out.fileno())
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def describe(self) -> dict[str, Any]:
        return {
            "model": MODEL_NAME,
            "model_version": MODEL_VERSION,
            "river": RIVER,
            "features": list(FEATURES),
            "horizon_hours": self.horizon_hours,
            "trained_on": self.trained_on,
            "learned": dict(self.learned),
            "since_load": dict(self.since_load),
            "learning": self.learn,
            "patients": len(self.patients),
            "pending": sum(1 for p in self.pending if not p.done),
            "shadow": True,
        }

    # -- beyond the protocol ----------------------------------------------------------------

    def explain(self, x: dict[str, float]) -> tuple[float, dict[str, float], dict[str, float]]:
        """(calibrated probability, each feature's contribution to the raw logit, the
        standardised features) for the input `x`."""
        scaled = self._scale(x)
        weights = self.model._weights  # a VectorDict: missing weights read as 0
        contributions = {k: weights[k] * v for k, v in scaled.items() if k in weights}
        z = self.model.intercept + sum(contributions.values())
        return self._calibrator(x)(z), contributions, scaled

    def raw_logit(self, x: dict[str, float]) -> float:
        return float(self.model._raw_dot_one(self._scale(x)))

    def _scale(self, x: dict[str, float]) -> dict[str, float]:
        scaled: dict[str, float] = self.scaler.transform_one(x)  # type: ignore[no-untyped-call]
        return scaled

    def _calibrator(self, x: dict[str, float]) -> Platt:
        return self.calibrators["device" if x.get("device") else "manual"]

    def _learn(self, x: dict[str, float], positive: bool) -> None:
        self._calibrator(x).learn(self.raw_logit(x), positive)
        self.pipeline.learn_one(x, positive)
        self.learned["positives" if positive else "negatives"] += 1
        self.since_load["positives" if positive else "negatives"] += 1

    def end_recording(self, now: datetime) -> int:
        """The end of a recording (training and `surveillance evaluate`, where each file is a
        hospital of its own): learn what has matured by `now`, then drop the predictions whose
        label is unknown (censored: the horizon had not passed) and forget every patient.
        Returns how many were dropped."""
        self.mature(now)
        dropped = sum(1 for p in self.pending if not p.done)
        self.pending.clear()
        self.by_patient.clear()
        self.patients.clear()
        self.ended.clear()
        return dropped

    # -- the file -------------------------------------------------------------------------

    def _encode(self) -> tuple[bytes, bytes]:
        state = _State(
            hyper=self.hyper,
            scaler=_Scaler(
                counts=dict(self.scaler.counts),
                means=dict(self.scaler.means),
                vars=dict(self.scaler.vars),
            ),
            model=_linear(self.model),
            calibrators=self.calibrators,
            patients=self.patients,
            pending=[p for p in self.pending if not p.done],
            ended=self.ended,
        )
        # Dicts in their own order: the weights' order is the order river sums them in, so a
        # restored model computes bit for bit what the saved one would have.
        body = msgspec.json.encode(state)
        header = Header(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            model=MODEL_NAME,
            model_version=MODEL_VERSION,
            river=RIVER,
            features=list(FEATURES),
            horizon_hours=self.horizon_hours,
            trained_on=self.trained_on,
            learned=dict(self.learned),
            sha256=hashlib.sha256(body).hexdigest(),
        )
        return msgspec.json.encode(header, order="sorted"), body


def _linear(model: linear_model.LogisticRegression) -> _Linear:
    return _Linear(
        weights={str(k): float(v) for k, v in model.weights.items()},
        intercept=float(model.intercept),
        n_iterations=int(model.optimizer.n_iterations),
    )


def _restore_linear(model: linear_model.LogisticRegression, saved: _Linear) -> None:
    for k, v in saved.weights.items():
        model._weights[k] = v
    model.intercept = saved.intercept
    model.optimizer.n_iterations = saved.n_iterations


def read_header(path: Path) -> tuple[Header, bytes]:
    """A model file's header and its state line, unchecked."""
    try:
        with gzip.open(path, "rb") as f:
            first = f.readline()
            rest = f.read()
    except FileNotFoundError as exc:
        raise ModelError(f"model file {path}: not found") from exc
    except (OSError, EOFError) as exc:
        raise ModelError(f"model file {path}: cannot read it ({exc})") from exc
    try:
        header = msgspec.json.decode(first, type=Header)
    except msgspec.DecodeError as exc:
        raise ModelError(f"model file {path}: not a {FORMAT} file ({exc})") from exc
    return header, rest.rstrip(b"\n")


def load_model(path: Path | None = None, *, learn: bool = True) -> RiverRisk:
    """The model in `path` (the shipped default when None); `learn=False` freezes it."""
    path = DEFAULT_MODEL if path is None else Path(path)
    header, body = read_header(path)
    if header.format != FORMAT or header.format_version != FORMAT_VERSION:
        msg = (
            f"model file {path}: format {header.format!r} version {header.format_version}, "
            f"this program reads {FORMAT!r} version {FORMAT_VERSION}"
        )
        raise ModelError(msg)
    if header.model != MODEL_NAME:
        msg = f"model file {path}: holds model {header.model!r}, this program runs {MODEL_NAME!r}"
        raise ModelError(msg)
    if header.river != RIVER:
        msg = (
            f"model file {path}: made with river {header.river}, this installation has river "
            f"{RIVER}; retrain it with this version (surveillance train, or "
            "scripts/train-default-model for the shipped model) or install river "
            f"{header.river}"
        )
        raise ModelError(msg)
    if header.features != list(FEATURES):
        missing = [f for f in FEATURES if f not in header.features]
        extra = [f for f in header.features if f not in FEATURES]
        msg = (
            f"model file {path}: made for other features (this version computes {missing} "
            f"that it lacks, and it has {extra} that this version does not); retrain it "
            "(surveillance train)"
        )
        raise ModelError(msg)
    if hashlib.sha256(body).hexdigest() != header.sha256:
        msg = f"model file {path}: damaged (its state does not match the sha256 in its header)"
        raise ModelError(msg)
    try:
        state = msgspec.json.decode(body, type=_State)
    except msgspec.DecodeError as exc:
        raise ModelError(f"model file {path}: its state cannot be read ({exc})") from exc
    risk = RiverRisk(state.hyper, trained_on=header.trained_on, learn=learn)
    risk.model.optimizer = optim.SGD(state.hyper.online_lr)
    risk.model.intercept_lr = optim.schedulers.Constant(state.hyper.online_lr)
    risk.scaler.counts.update(state.scaler.counts)
    risk.scaler.means.update(state.scaler.means)
    risk.scaler.vars.update(state.scaler.vars)
    _restore_linear(risk.model, state.model)
    risk.calibrators.update(state.calibrators)
    risk.patients = state.patients
    for entry in state.pending:
        risk.pending.append(entry)
        risk.by_patient.setdefault(entry.patient, []).append(entry)
    risk.ended = state.ended
    risk.learned = {"positives": 0, "negatives": 0, **header.learned}
    return risk
