"""The online scorer and its alert desk (issue 13 split it by concern).

- `_scorer`: `OnlineScorer`, the facade: placement, dedupe, dead letters, batching, restarts;
- `_settings`: `OnlineSettings`, `Arrival`;
- `_snapshot`: a continuous patient's rolling snapshot of fresh values;
- `_patient`: a patient's state as data, with its `snapshot`/`restore` rows;
- `rules/`: what deserves an alert, one module per kind, returning `_decisions`;
- `_desk`: `AlertDesk`, every open alert's lifecycle and the events it publishes;
- `_lifecycle`: one alert's life on its escalation ladder (a pure state machine);
- `_model`: the learned risk behind a guard (its failures never stop scoring);
- `_flood`: dead letters rate-limited per topic;
- `_records`: every record for the store, built in one place;
- `_intake`: digests and the checks of a message's own time.
"""

from surveillance.online._corrections import folded, superseded
from surveillance.online._decisions import Decision, Escalate, Facts, Note, Raise, Resolve, Upgrade
from surveillance.online._desk import (
    SYSTEM,
    AlertDesk,
    OpenAlert,
    Output,
    Publication,
    merge,
)
from surveillance.online._event import AlertEvent
from surveillance.online._intake import content_digest, digest
from surveillance.online._lifecycle import (
    DEFAULT_LADDERS,
    SENIORITY,
    Ladder,
    LadderSpec,
    LifecycleError,
    Plan,
    Rung,
    State,
    acknowledge,
    advance,
    ladder_for,
    raise_alert,
    resolve,
)
from surveillance.online._model import ModelGuard
from surveillance.online._patient import Patient
from surveillance.online._scorer import OnlineScorer
from surveillance.online._settings import (
    AKI_LOOKBACK,
    DEFAULT_ALERT_RESPONSES,
    DEFAULT_MODEL_OUTCOMES,
    Arrival,
    OnlineSettings,
)
from surveillance.online._snapshot import DEFAULT_FRESHNESS, GROUPS

__all__ = [
    "AKI_LOOKBACK",
    "DEFAULT_ALERT_RESPONSES",
    "DEFAULT_FRESHNESS",
    "DEFAULT_LADDERS",
    "DEFAULT_MODEL_OUTCOMES",
    "GROUPS",
    "SENIORITY",
    "SYSTEM",
    "AlertDesk",
    "AlertEvent",
    "Arrival",
    "Decision",
    "Escalate",
    "Facts",
    "Ladder",
    "LadderSpec",
    "LifecycleError",
    "ModelGuard",
    "Note",
    "OnlineScorer",
    "OnlineSettings",
    "OpenAlert",
    "Output",
    "Patient",
    "Plan",
    "Publication",
    "Raise",
    "Resolve",
    "Rung",
    "State",
    "Upgrade",
    "acknowledge",
    "advance",
    "content_digest",
    "digest",
    "folded",
    "ladder_for",
    "merge",
    "raise_alert",
    "resolve",
    "superseded",
]
