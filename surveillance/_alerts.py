"""Moved to `surveillance.online` (issue 13); these names stay importable from here."""

from surveillance._lifecycle import LifecycleError
from surveillance.online import (
    SYSTEM,
    AlertDesk,
    AlertEvent,
    OpenAlert,
    Output,
    Publication,
    merge,
)

__all__ = [
    "SYSTEM",
    "AlertDesk",
    "AlertEvent",
    "LifecycleError",
    "OpenAlert",
    "Output",
    "Publication",
    "merge",
]
