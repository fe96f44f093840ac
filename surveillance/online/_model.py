"""The learned deterioration risk (issue 15) as the scorer meets it: behind a guard.

The model (`surveillance.risk.Risk`) is code the chart scores must never depend on. Every call
the scorer makes goes through `ModelGuard`: an exception, or an answer that is not a usable
estimate (not a `LearnedRisk`, a probability outside 0..1, a value that cannot be encoded), is
caught, counted by kind (`failures`, for `/healthz`) and logged once per kind, and the scorer
carries on without the estimate. Nothing the model does can stop scoring or alerting.

The estimate travels with the score as an extension field, `learned_risk`, spliced into the
score's encoded JSON (`with_learned`): the chart's fields stay byte for byte what they would
have been without a model.

Logs name where a failure was raised, never its message (it may quote a patient id).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import datetime
from typing import Final, TypeGuard

import msgspec

from ingest import failure_site
from scoring import Context, ScoreResult
from surveillance.risk import LearnedRisk, Risk

log = logging.getLogger("surveillance.online.model")

_FIELD: Final = b',"learned_risk":'
_encode = msgspec.json.Encoder().encode


def with_learned(payload: bytes, learned: bytes) -> bytes:
    """A score's JSON object (`payload`) with `"learned_risk": learned` added as its last
    field; every other byte as it was."""
    return b"".join((payload[:-1], _FIELD, learned, b"}"))


class ModelGuard:
    """A `Risk` whose failures are caught, counted and logged once per kind.

    `shadow`: what every estimate's `shadow` says (True unless the trust turned model alerts
    on): the scorer, not the model file, decides whether the model alerts. `learn`: False, and
    the model is told of no outcome and matures nothing (it still forgets who left).
    """

    def __init__(self, risk: Risk, *, shadow: bool = True, learn: bool = True) -> None:
        self.risk = risk
        self.shadow = shadow
        self.learn = learn
        self.estimates = 0
        self.failures: Counter[str] = Counter()
        self.last_failure: str | None = None

    def estimate(
        self, result: ScoreResult, context: Context, source: str
    ) -> tuple[LearnedRisk, bytes] | None:
        """The model's estimate for this score and its JSON, or None (the model has none, or
        failed: counted)."""
        try:
            learned = self.risk.estimate(result, _clinical(context), source)
            if learned is None:
                return None
            problem = _problem(learned)
            if problem is not None:
                self._failed("estimate", problem)
                return None
            learned = LearnedRisk(  # its own fields only (a subclass may carry more)
                probability=float(learned.probability),
                horizon_hours=float(learned.horizon_hours),
                reasons=_shown_reasons(learned.reasons, result.patient_id),
                model=_cut(learned.model),
                shadow=self.shadow,
            )
            encoded = _encode(learned)
        except Exception as error:  # the model must never stop scoring
            self._failed("estimate", failure_site(error), type(error).__name__)
            return None
        self.estimates += 1
        return learned, encoded

    def outcome(self, patient_id: str, time: datetime) -> None:
        """The patient's composite outcome started at `time` (nothing unless `learn`)."""
        if not self.learn:
            return
        try:
            self.risk.outcome(patient_id, time)
        except Exception as error:
            self._failed("outcome", failure_site(error), type(error).__name__)

    def leave(self, patient_id: str, time: datetime) -> None:
        """The patient left the bed (discharge, transfer out, bed given to another)."""
        try:
            self.risk.leave(patient_id, time)
        except Exception as error:
            self._failed("leave", failure_site(error), type(error).__name__)

    def mature(self, now: datetime) -> int:
        """Learn from the predictions whose horizon has passed (0 if the model failed, or
        does not `learn`)."""
        if not self.learn:
            return 0
        try:
            return int(self.risk.mature(now))
        except Exception as error:
            self._failed("mature", failure_site(error), type(error).__name__)
            return 0

    def _failed(self, call: str, where: str, kind: str | None = None) -> None:
        key = f"{call}: {kind or where}"
        self.failures[key] += 1
        self.last_failure = f"{call}: {where}"
        if self.failures[key] == 1:
            log.error(
                "the learned risk failed in %s (%s); scoring and alerting go on without it "
                "(counted on /healthz as %r; logged once)",
                call,
                where,
                key,
            )


MAX_REASONS: Final = 3
MAX_WORDS: Final = 200
"""At most this many reasons, each (and the model's name) at most this many characters: what
the model says is published with every score and quoted in its alert (the wallboard refuses
longer)."""


def _clinical(context: Context) -> Context:
    """The patient's context without what is for equity analysis or the bed's label only
    (needs, ethnicity, deprivation, initials): never a feature, never a reason on a board."""
    return msgspec.structs.replace(
        context, needs=None, ethnicity=None, imd_decile=None, initials=None
    )


def _shown_reasons(reasons: list[str], patient_id: str) -> list[str]:
    """The model's reasons as they may be published: none naming the patient, at most
    `MAX_REASONS`, each cut to `MAX_WORDS` characters."""
    kept = [r for r in reasons if not patient_id or patient_id not in r]
    return [_cut(r) for r in kept[:MAX_REASONS]]


def _cut(words: str) -> str:
    return words if len(words) <= MAX_WORDS else words[: MAX_WORDS - 1] + "…"


def _problem(learned: object) -> str | None:
    """Why `learned` is not a usable estimate, or None."""
    if not isinstance(learned, LearnedRisk):
        return f"not a LearnedRisk but {type(learned).__name__}"
    # A Struct is not checked when made: the model could have put anything in it.
    p: object = learned.probability
    horizon: object = learned.horizon_hours
    reasons: object = learned.reasons
    name: object = learned.model
    if not _number(p) or not math.isfinite(p) or not 0 <= p <= 1:
        return "a probability outside 0..1"
    if not _number(horizon) or not math.isfinite(horizon) or horizon <= 0:
        return "a horizon that is not a positive number of hours"
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return "reasons that are not a list of words"
    if not isinstance(name, str):
        return "a model name that is not text"
    return None


def _number(value: object) -> TypeGuard[float]:
    """A number as JSON writes one (a bool is an int to Python, `true` to JSON)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
