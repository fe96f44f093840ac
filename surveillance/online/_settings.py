"""How the online scorer behaves (`OnlineSettings`), and what it is handed (`Arrival`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import msgspec

from ingest import Inbound, Rejected
from scoring import LONDON
from surveillance.online._lifecycle import DEFAULT_LADDERS, Ladder
from surveillance.online._snapshot import DEFAULT_FRESHNESS

AKI_LOOKBACK: Final = timedelta(days=366)
"""How far back creatinine results are kept per patient (an AKI baseline looks back a year)."""

DEFAULT_ALERT_RESPONSES: Final = frozenset({"urgent-ward", "urgent", "rapid-review", "emergency"})
"""Chart responses that call someone beyond the bedside nurse: these raise alerts."""

DEFAULT_MODEL_OUTCOMES: Final = frozenset({"icu-admission", "cardiac-arrest", "death"})
"""The clinical events (CONTRACT §9) that make up the learned risk's composite outcome."""


@dataclass(frozen=True, slots=True)
class OnlineSettings:
    """How the online scorer behaves; README, "Configuration" lists the defaults' reasons."""

    freshness: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FRESHNESS))
    device_persistence: float = 60.0
    feed_timeout: float = 300.0
    dedupe_window: float = 900.0
    dedupe_max: int = 1_000_000
    max_skew: float = 300.0
    max_age: float = 7 * 24 * 3600.0
    flood_per_minute: float = 60.0
    alert_responses: frozenset[str] = DEFAULT_ALERT_RESPONSES
    ladders: Mapping[str, Ladder] = field(default_factory=lambda: dict(DEFAULT_LADDERS))
    hysteresis: float = 3600.0
    quiet_after_ack: float = 1800.0
    overdue_alerts: bool = True
    first_set: float = 3600.0
    action_key: bytes | None = field(default=None, repr=False)
    """The key an alert command's identity must be signed with to be believed
    (`ingest.identity_verified`); without it no identity is."""
    event_grace: float = 24 * 3600.0
    model_alerts: bool = False
    """The learned risk raises `learned-risk` alerts of its own (`rules.model`); False: it runs
    in shadow (stored and shown with each score, never alerting)."""
    model_threshold: float = 0.2
    """The learned probability at or above which a `learned-risk` alert is raised."""
    model_outcomes: frozenset[str] = DEFAULT_MODEL_OUTCOMES
    """Clinical events that start a patient's composite outcome (the model's positive label)."""
    model_learn: bool = True
    """The learned risk learns online (outcomes and matured predictions); False: it only
    estimates, as it was loaded."""
    prefix: str = ""
    tz: ZoneInfo = LONDON

    def __post_init__(self) -> None:
        unknown = set(self.freshness) - set(DEFAULT_FRESHNESS)
        if unknown:
            msg = f"freshness: unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_FRESHNESS)})"
            raise ValueError(msg)
        for name in (
            "device_persistence",
            "feed_timeout",
            "dedupe_window",
            "hysteresis",
            "quiet_after_ack",
            "max_skew",
            "max_age",
            "first_set",
            "event_grace",
        ):
            if getattr(self, name) < 0:
                msg = f"{name} must be ≥ 0 seconds"
                raise ValueError(msg)
        if not 0 < self.model_threshold <= 1:
            msg = "model_threshold must be a probability above 0 and at most 1"
            raise ValueError(msg)


class Arrival(msgspec.Struct, frozen=True):
    """One input message: what ingest made of it, as received, and when it arrived. (A
    Struct, not a frozen dataclass: one is made per message, and msgspec's is ~10x cheaper.)"""

    item: Inbound | Rejected
    topic: str
    payload: bytes
    received: datetime
