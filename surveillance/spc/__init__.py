"""Statistical process control (CONTRACT §10): XmR charts with the Making Data Count rules, exactly
as the NHS-R community's NHSRplotthedots package applies them. Pure: no I/O, no clock.

`xmr_chart` makes a chart; `limits` and `rules` hold its steps, one function for each of the
package's, public so that each can be checked against the package's own tests.
"""

from surveillance.spc._chart import (
    MIN_FIX_AFTER,
    Assurance,
    Chart,
    ChartPoint,
    LimitGroup,
    Point,
    SpcError,
    assurance,
    xmr_chart,
)
from surveillance.spc.limits import GroupLimits, group_limits
from surveillance.spc.rules import Improvement, PointType, Rule

__all__ = [
    "MIN_FIX_AFTER",
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
