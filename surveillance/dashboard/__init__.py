"""The safety dashboard's measures (issue 16): observations on time, response to triggers,
sepsis and AKI, alert load and harms, per ward and hospital and per day, week or month, each
with its SPC chart (`surveillance.spc`) and its equity table (sex, ethnicity, age, deprivation,
recorded needs) with confidence intervals and small-number suppression.

Pure: `compute_dashboard` takes the store's rows (`Store.dashboard_rows`) and returns a
`Dashboard`, which the command line prints (`surveillance dashboard`) and a page can render;
`render_report` makes the monthly "ward to board" report of it (HTML).
"""

from surveillance.dashboard._dashboard import (
    ALL,
    CSV_COLUMNS,
    HOSPITAL,
    Dashboard,
    EquityRow,
    MeasureResult,
    ScopeResult,
    SeriesPoint,
    check_targets,
    compute_dashboard,
)
from surveillance.dashboard._facts import (
    ESCALATION_SEVERITIES,
    DueSet,
    Facts,
    Spell,
    Stay,
    due_sets,
    facts,
    spells_of,
    stays_of,
)
from surveillance.dashboard._groups import (
    DIMENSIONS,
    PARTITIONS,
    PERIODS,
    Period,
    PeriodSpan,
    Person,
    age_group,
    ethnicity_group,
    imd_group,
    need_groups,
    period_spans,
    sex_group,
)
from surveillance.dashboard._measures import MEASURE_IDS, MEASURES, NOT_AVAILABLE, Item, Measure
from surveillance.dashboard._report import (
    ReportMonth,
    build_report,
    render_report,
    report_month,
)
from surveillance.dashboard._stats import (
    EXACT_UP_TO,
    Z95,
    byar,
    poisson_count,
    rate_interval,
    wilson,
)
from surveillance.dashboard._suppress import SUPPRESSED, Suppression, is_primary, recoverable

__all__ = [
    "ALL",
    "CSV_COLUMNS",
    "DIMENSIONS",
    "ESCALATION_SEVERITIES",
    "EXACT_UP_TO",
    "HOSPITAL",
    "MEASURES",
    "MEASURE_IDS",
    "NOT_AVAILABLE",
    "PARTITIONS",
    "PERIODS",
    "SUPPRESSED",
    "Z95",
    "Dashboard",
    "DueSet",
    "EquityRow",
    "Facts",
    "Item",
    "Measure",
    "MeasureResult",
    "Period",
    "PeriodSpan",
    "Person",
    "ReportMonth",
    "ScopeResult",
    "SeriesPoint",
    "Spell",
    "Stay",
    "Suppression",
    "age_group",
    "build_report",
    "byar",
    "check_targets",
    "compute_dashboard",
    "due_sets",
    "ethnicity_group",
    "facts",
    "imd_group",
    "is_primary",
    "need_groups",
    "period_spans",
    "poisson_count",
    "rate_interval",
    "recoverable",
    "render_report",
    "report_month",
    "sex_group",
    "spells_of",
    "stays_of",
    "wilson",
]
