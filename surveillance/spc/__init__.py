"""Statistical process control (CONTRACT §10): XmR charts with the Making Data Count rules, exactly
as the NHS-R community's NHSRplotthedots package applies them. Pure: no I/O, no clock."""

from surveillance.spc._chart import (
    Assurance,
    Chart,
    ChartPoint,
    LimitGroup,
    Point,
    SpcError,
    assurance,
    xmr_chart,
)
from surveillance.spc._limits import GroupLimits, group_limits
from surveillance.spc._rules import Improvement, PointType, Rule

__all__ = [
    "Assurance",
    "Chart",
    "ChartPoint",
    "GroupLimits",
    "Improvement",
    "LimitGroup",
    "Point",
    "PointType",
    "Rule",
    "SpcError",
    "assurance",
    "group_limits",
    "xmr_chart",
]
