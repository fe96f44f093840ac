"""The rule helpers, table by table, as NHSRplotthedots' own tests state them.

Each table is `tests/testthat/test-ptd_calculate_point_type.R` (CRAN 0.2.0) translated: the
`test_that` name is in the comment above it. R's numeric 0/1 results are ints here.
"""

from __future__ import annotations

import pytest

from surveillance.spc import rules
from surveillance.spc.rules import (
    part_of_seven,
    part_of_two_in_three,
    point_type,
    seven_point_one_side_mean,
    seven_point_trend,
    special_cause,
    two_in_three,
)

# "ptd_seven_point_one_side_mean works as expected"
SEVEN_ONE_SIDE = [
    ([], []),
    ([1] * 6, [0] * 6),
    ([1] * 6 + [-1], [0] * 7),
    ([1] * 8 + [-1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    ([-1] * 8 + [1], [0, 0, 0, 0, 0, 0, 1, 1, 0]),
    # derived: a point on the mean (0) breaks the run and starts none
    ([1] * 3 + [0] + [1] * 6, [0] * 10),
    ([0] * 9, [0] * 9),
]


@pytest.mark.parametrize(("relative", "expected"), SEVEN_ONE_SIDE)
def test_seven_point_one_side_mean(relative, expected):
    assert seven_point_one_side_mean(relative) == expected


# "ptd_part_of_seven_trend works as expected"
PART_OF_SEVEN = [
    ([], []),
    ([0] * 6, [0] * 6),
    ([0] * 6 + [1, 0], [1] * 7 + [0]),
    ([0] * 7 + [1, 0], [0] + [1] * 7 + [0]),
    ([0] * 6 + [-1, 0], [1] * 7 + [0]),
    ([0] * 7 + [-1, 0], [0] + [1] * 7 + [0]),
]


@pytest.mark.parametrize(("ends", "expected"), PART_OF_SEVEN)
def test_part_of_seven(ends, expected):
    assert part_of_seven(ends) == expected


# "ptd_seven_point_trend works as expected"
SEVEN_TREND = [
    ([], []),
    (list(range(1, 7)), [0] * 6),
    ([1, 2, 3, 3, 4, 5, 6], [0] * 7),  # c(1:3, 3:6): the tie breaks the trend
    (list(range(1, 8)), [0, 0, 0, 0, 0, 0, 1]),
    ([2, *range(1, 8), 3], [0, 0, 0, 0, 0, 0, 0, 1, 0]),
    (list(range(7, 0, -1)), [0, 0, 0, 0, 0, 0, -1]),
    ([2, *range(7, 0, -1), 3], [0, 0, 0, 0, 0, 0, 0, -1, 0]),
    # derived: eight rising end two trends; a tie anywhere inside ends none
    (list(range(1, 9)), [0, 0, 0, 0, 0, 0, 1, 1]),
    ([1, 2, 3, 4, 5, 6, 6, 7], [0] * 8),
]


@pytest.mark.parametrize(("ys", "expected"), SEVEN_TREND)
def test_seven_point_trend(ys, expected):
    assert seven_point_trend([float(y) for y in ys]) == expected


# "ptd_two_in_three works as expected" and "... when points are on opposite sides of the mean"
# (the package's `ptd_two_in_three(numeric(3), numeric(1))` relies on R recycling a shorter
# vector, which this API does not take.)
TWO_IN_THREE = [
    ([], [], []),
    ([1, 0, 1], [1, 1, 1], [1, 1, 1]),
    ([0, 1, 1], [1, 1, 1], [1, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 1]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 1, 1, 0, 0]),
    ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 1, 1, 1, 1, 0, 0]),
    ([1, 0, 1], [1, -1, 1], [0, 0, 0]),
    ([0, 1, 1], [1, -1, 1], [0, 0, 0]),
    ([1, 1, 0], [1, -1, 1], [0, 0, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1], [0] * 7),
    ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1], [0] * 7),
    # derived: the third point on the mean (0) is on neither side
    ([1, 1, 0], [1, 1, 0], [0, 0, 0]),
    # derived: two close points need a third point: two alone are never a window
    ([1, 1], [1, 1], [0, 0]),
]


@pytest.mark.parametrize(("close", "relative", "expected"), TWO_IN_THREE)
def test_two_in_three(close, relative, expected):
    assert two_in_three([bool(c) for c in close], relative) == expected


# "ptd_part_of_two_in_three works as expected": only the close points are flagged
PART_OF_TWO_IN_THREE = [
    ([], [], []),
    ([0, 0, 0], [1, 1, 1], [0, 0, 0]),
    ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
    ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
    ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
    ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
    ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
    ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
]


@pytest.mark.parametrize(("close", "relative", "expected"), PART_OF_TWO_IN_THREE)
def test_part_of_two_in_three(close, relative, expected):
    flags = [bool(c) for c in close]
    assert part_of_two_in_three(two_in_three(flags, relative), flags) == expected


def test_special_cause_priority_and_labels(monkeypatch):
    """From "ptd_special_cause_type works as expected": the helpers stubbed with the package's own
    mock values, so only the priority and the direction of each label are under test."""
    part_of_seven_results = iter([[1, -1, 0, 0, 0, 0, 0, 0], [0, 0, 1, -1, 0, 0, 0, 0]])
    monkeypatch.setattr(rules, "seven_point_one_side_mean", lambda _: "sevenPointOneSideOfMean")
    monkeypatch.setattr(rules, "seven_point_trend", lambda _: "sevenPointTrend")
    monkeypatch.setattr(rules, "part_of_seven", lambda _: next(part_of_seven_results))
    monkeypatch.setattr(rules, "two_in_three", lambda *_: "twoInThree")
    monkeypatch.setattr(rules, "part_of_two_in_three", lambda *_: [0, 0, 0, 0, 1, 0, 0, 0])

    causes = rules.special_cause(
        [float(y) for y in range(1, 9)],
        [1, 1, 1, 1, -1, -1, -1, -1],
        [False] * 8,  # "relative_to_mean" in the package's test: unused once stubbed
        [0, 0, 0, 0, 0, 1, -1, 0],  # type: ignore[list-item]  # R's numeric flags
    )

    assert causes == [
        ("trend", 1),  # 7 Point Trend (Increasing)
        ("trend", 1),  # 7 Point Trend (Increasing)
        ("shift", 1),  # 7 Points Above CL
        ("shift", 1),  # 7 Points Above CL
        ("two-in-three", -1),  # 2 in 3 Below CL
        ("outside-limits", -1),  # Below LCL
        ("outside-limits", -1),  # Below LCL
        None,  # Common Cause
    ]


# derived from ptd_point_type: the direction oriented by the improvement direction
POINT_TYPES = [
    (None, "increase", "common_cause"),
    (None, "neutral", "common_cause"),
    (1, "increase", "special_cause_improvement"),
    (-1, "increase", "special_cause_concern"),
    (1, "decrease", "special_cause_concern"),
    (-1, "decrease", "special_cause_improvement"),
    (1, "neutral", "special_cause_neutral_high"),
    (-1, "neutral", "special_cause_neutral_low"),
]


@pytest.mark.parametrize(("direction", "improvement", "expected"), POINT_TYPES)
def test_point_type(direction, improvement, expected):
    assert point_type(direction, improvement) == expected


def test_outside_beats_trend():
    ys = [1.0, 2, 3, 4, 5, 6, 7]
    relative = [-1, -1, -1, 0, 1, 1, 1]
    outside = [True, False, False, False, False, False, True]
    causes = special_cause(ys, relative, [False] * 7, outside)
    assert [c[0] if c else None for c in causes] == ["outside-limits"] + ["trend"] * 5 + [
        "outside-limits"
    ]


def test_trend_beats_two_in_three_and_shift():
    ys = [1.0, 2, 3, 4, 5, 6, 7]
    relative = [1] * 7  # also a run of seven above the mean
    close = [True, True, True, False, False, False, False]  # and two in three
    causes = special_cause(ys, relative, close, [False] * 7)
    assert causes == [("trend", 1)] * 7


def test_two_in_three_beats_shift():
    relative = [1] * 7
    close = [False, False, True, True, False, False, False]
    ys = [5.0, 4, 5, 4, 5, 4, 5]  # no trend
    causes = special_cause(ys, relative, close, [False] * 7)
    assert [c[0] if c else None for c in causes] == [
        "shift",
        "shift",
        "two-in-three",
        "two-in-three",
        "shift",
        "shift",
        "shift",
    ]


def test_a_tie_where_two_trends_touch_is_labelled_decreasing_as_the_package_does():
    """R: `ifelse(sdy == 1, "In", "De")` with sdy the step to the next trend point, 0 at a tie."""
    ys = [float(y) for y in [1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13]]
    causes = special_cause(ys, [0] * 14, [False] * 14, [False] * 14)
    assert causes[6] == ("trend", -1)  # the first 7: its next step is the tie
    assert causes[5] == ("trend", 1)
    assert causes[7] == ("trend", 1)
