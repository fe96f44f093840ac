"""`surveillance evaluate` (CONTRACT §11): how well the chart scores predicted the outcomes in
recordings.

- `_replay`: `replay` feeds recordings through the service's `OnlineScorer` in event time and
  keeps the scores, stays and outcomes (`Replayed`); `evaluate` labels them and gives the
  CONTRACT §11 object; `suppress` hides a group's small counts;
- `_metrics`: the figures as pure functions of plain numbers (`auroc`, `auprc`, `label`,
  `episodes`, `at_threshold`).
"""

from surveillance.evaluation._metrics import (
    AtThreshold,
    Series,
    at_threshold,
    auprc,
    auroc,
    episodes,
    label,
    per_100,
)
from surveillance.evaluation._replay import (
    DEFAULT_OUTCOME,
    NEWS2_THRESHOLD,
    SYSTEMS,
    Replayed,
    evaluate,
    replay,
    suppress,
)

__all__ = [
    "DEFAULT_OUTCOME",
    "NEWS2_THRESHOLD",
    "SYSTEMS",
    "AtThreshold",
    "Replayed",
    "Series",
    "at_threshold",
    "auprc",
    "auroc",
    "episodes",
    "evaluate",
    "label",
    "per_100",
    "replay",
    "suppress",
]
