"""The learned risk's plain types (`surveillance.risk._api` re-exports them)."""

from __future__ import annotations

import msgspec

__all__ = ["LearnedRisk", "ModelError"]


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
