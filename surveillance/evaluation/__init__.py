"""`surveillance evaluate` (CONTRACT §11): how well the chart scores predicted the outcomes in
recordings.

- `_replay`: `replay` feeds recordings through the service's `OnlineScorer` in event time and
  keeps the scores, stays and outcomes (`Replayed`); `evaluate` labels them and gives the
  CONTRACT §11 object; `suppress` hides a group's small counts;
- `_metrics`: the figures as pure functions of plain numbers (`auroc`, `auprc`, `label`,
  `episodes`, `at_threshold`; for the learned risk `brier`, `calibration` and
  `threshold_for_rate`).
"""

from surveillance.evaluation._metrics import (
    AtThreshold,
    Series,
    at_threshold,
    auprc,
    auroc,
    brier,
    calibration,
    episodes,
    label,
    per_100,
    threshold_for_rate,
)
from surveillance.evaluation._replay import (
    DEFAULT_OUTCOME,
    NEWS2_THRESHOLD,
    SYSTEMS,
    Replayed,
    evaluate,
    history,
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
    "brier",
    "calibration",
    "episodes",
    "evaluate",
    "history",
    "label",
    "per_100",
    "replay",
    "suppress",
    "threshold_for_rate",
]
