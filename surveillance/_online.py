"""Moved to `surveillance.online` (issue 13); these names stay importable from here."""

from surveillance.online import (
    AKI_LOOKBACK,
    DEFAULT_ALERT_RESPONSES,
    DEFAULT_FRESHNESS,
    GROUPS,
    Arrival,
    OnlineScorer,
    OnlineSettings,
    content_digest,
    digest,
)

__all__ = [
    "AKI_LOOKBACK",
    "DEFAULT_ALERT_RESPONSES",
    "DEFAULT_FRESHNESS",
    "GROUPS",
    "Arrival",
    "OnlineScorer",
    "OnlineSettings",
    "content_digest",
    "digest",
]
