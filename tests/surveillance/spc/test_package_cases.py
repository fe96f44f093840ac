"""`xmr_chart` against NHSRplotthedots' own output, case by case.

`data/nhsrplotthedots_cases.json` holds series and options chosen for these tests (the package's
testthat examples, its vignette's example, cases derived from the rules, seeded random series)
and, for each, what the package's own functions returned: `ptd_spc_standard`,
`ptd_calculate_point_type` and `ptd_calculate_assurance_type` from the CRAN 0.2.0 source, run in
R 4.2.2 on x86-64 (`case_when(.default =)` written `TRUE ~` for Debian's dplyr 1.0.10). The
numbers are R's doubles printed with 17 significant digits, so they are compared exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from surveillance.spc import Point, xmr_chart

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "nhsrplotthedots_cases.json").read_text()
)["cases"]

# ptd_special_cause_type's labels, and the rule each is in CONTRACT §10
RULES = {
    "Above UCL": "outside-limits",
    "Below LCL": "outside-limits",
    "7 Point Trend (Increasing)": "trend",
    "7 Point Trend (Decreasing)": "trend",
    "2 in 3 Above CL": "two-in-three",
    "2 in 3 Below CL": "two-in-three",
    "7 Points Above CL": "shift",
    "7 Points Below CL": "shift",
    "Common Cause": None,
}


def chart_of(case: dict[str, Any]):
    options = case["options"]
    series = [Point(str(i + 1), y) for i, y in enumerate(case["y"])]
    return xmr_chart(
        series,
        improvement=options["improvement"],
        target=options["target"],
        rebase=options["rebase"],
        fix_after=options["fix_after"],
        screen_outliers=options["screen_outliers"],
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_point_is_what_the_package_gives(case):
    chart = chart_of(case)
    assert len(chart.points) == len(case["r"])
    for i, (point, r) in enumerate(zip(chart.points, case["r"], strict=True)):
        where = f"point {i + 1}"
        # R's NaN limits (a group with no moving range) are null in the file and None here
        assert (point.mean, point.lpl, point.upl) == (r["mean"], r["lpl"], r["upl"]), where
        # R's NA flags (no limits) are null in the file; no rule counts them, here they are False
        assert point.outside_limits == bool(r["outside_limits"]), where
        assert point.close_to_limits == bool(r["close_to_limits"]), where
        assert point.relative_to_mean == r["relative_to_mean"], where
        assert point.rule == RULES[r["special_cause_type"]], where
        assert point.special_cause == r["special_cause_flag"], where
        assert point.point_type == r["point_type"], where
    assert chart.assurance == case["r_assurance"]
    assert chart.variation == case["r"][-1]["point_type"]


def test_the_cases_cover_every_rule_and_point_type():
    """The file is only evidence for what it holds: make sure it holds each outcome."""
    labels = {r["special_cause_type"] for c in CASES for r in c["r"]}
    types = {r["point_type"] for c in CASES for r in c["r"]}
    assurances = {c["r_assurance"] for c in CASES}
    assert labels == set(RULES)
    assert types == {
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
        "special_cause_neutral_high",
        "special_cause_neutral_low",
    }
    assert assurances == {None, "consistent_pass", "consistent_fail", "inconsistent"}
    assert any(r["lpl"] is None for c in CASES for r in c["r"])  # a group with no limits
    assert any(c["options"]["rebase"] for c in CASES)
    assert any(c["options"]["fix_after"] for c in CASES)
    assert any(not c["options"]["screen_outliers"] for c in CASES)
