"""The learned deterioration risk (issue 15): a river model beside the chart scores, in shadow
unless a trust turns its alerts on.

- `_api`: the protocol the scorer and `surveillance evaluate` use (`Risk`, `load`);
- `_model`: the river pipeline, its calibration, delayed labels and its file (`RiverRisk`);
- `_features`: each patient's features and their reasons in words (pure).
"""

from surveillance.risk._api import LearnedRisk, ModelError, Risk, load
from surveillance.risk._features import FEATURES, PatientState, features, observe, reasons
from surveillance.risk._model import DEFAULT_MODEL, Hyper, Platt, RiverRisk, load_model

__all__ = [
    "DEFAULT_MODEL",
    "FEATURES",
    "Hyper",
    "LearnedRisk",
    "ModelError",
    "PatientState",
    "Platt",
    "Risk",
    "RiverRisk",
    "features",
    "load",
    "load_model",
    "observe",
    "reasons",
]
