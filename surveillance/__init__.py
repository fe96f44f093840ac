"""Ward safety surveillance: orchestration, command line and (later) the live services."""

from surveillance.online import (
    SYSTEM,
    AlertDesk,
    AlertEvent,
    Arrival,
    OnlineScorer,
    OnlineSettings,
    OpenAlert,
    Output,
    Publication,
    content_digest,
    digest,
    merge,
)

__all__: list[str] = [
    "SYSTEM",
    "AlertDesk",
    "AlertEvent",
    "Arrival",
    "OnlineScorer",
    "OnlineSettings",
    "OpenAlert",
    "Output",
    "Publication",
    "content_digest",
    "digest",
    "merge",
]
