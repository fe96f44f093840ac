"""Early warning scores as data-driven charts: NEWS2, national PEWS and maternity charts.

Pure: no I/O beyond reading the chart files once, no clock. See `scoring/charts/` for the
tables and `shared/clinical/SPEC.md` for their sources.
"""

from scoring._aki import (
    DEFAULT_AKI_RULES,
    AkiResult,
    AkiRules,
    Creatinine,
    aki_stage,
    load_aki_rules,
)
from scoring._bands import BandTable, round_half_up
from scoring._batch import BatchScores, score_batch, score_columns
from scoring._charts import LONDON, AgeFamily, Chart, ChartSet, completed_years, load_charts
from scoring._columns import Columns
from scoring._display import chart_display
from scoring._engine import score, score_on_chart
from scoring._errors import ChartError, InvalidObservation, Problem, ScoringError
from scoring._items import BandPrompt, BandsItem, SupportItem, TotalPrompt
from scoring._model import (
    AwareDatetime,
    Context,
    Initials,
    ObservationSet,
    ScoreRequest,
    ScoreResult,
    Vitals,
)
from scoring._timing import LATE_FRACTION, MISSED_FRACTION, ObsStatus, ObsTiming, obs_timing

__all__ = [
    "DEFAULT_AKI_RULES",
    "LATE_FRACTION",
    "LONDON",
    "MISSED_FRACTION",
    "AgeFamily",
    "AkiResult",
    "AkiRules",
    "AwareDatetime",
    "BandPrompt",
    "BandTable",
    "BandsItem",
    "BatchScores",
    "Chart",
    "ChartError",
    "ChartSet",
    "Columns",
    "Context",
    "Creatinine",
    "Initials",
    "InvalidObservation",
    "ObsStatus",
    "ObsTiming",
    "ObservationSet",
    "Problem",
    "ScoreRequest",
    "ScoreResult",
    "ScoringError",
    "SupportItem",
    "TotalPrompt",
    "Vitals",
    "aki_stage",
    "chart_display",
    "completed_years",
    "load_aki_rules",
    "load_charts",
    "obs_timing",
    "round_half_up",
    "score",
    "score_batch",
    "score_columns",
    "score_on_chart",
]
