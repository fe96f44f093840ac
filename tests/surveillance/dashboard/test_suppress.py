"""Small-number suppression: every count 1-7 hidden, and no hidden cell recoverable from what is
shown (checked by an independent solver: a linear programme over the hidden cells)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveillance.dashboard import SUPPRESSED, Suppression, is_primary, recoverable


def bounds(
    values: dict[Any, float], hidden: frozenset[Any], relations: list[Any], key: Any
) -> list[float]:
    """The least and greatest value of hidden cell `key` given the shown cells, the relations
    and that counts are not negative (scipy's linear programme)."""
    optimize = pytest.importorskip("scipy.optimize")
    order = sorted(hidden, key=repr)
    index = {k: i for i, k in enumerate(order)}
    rows, rhs = [], []
    for total, parts in relations:
        row = [0.0] * len(order)
        constant = 0.0
        for k, sign in ((total, 1), *((p, -1) for p in parts)):
            if k in index:
                row[index[k]] += sign
            else:
                constant += sign * values[k]
        if any(row):
            rows.append(row)
            rhs.append(-constant)
    result = []
    for sense in (1, -1):
        c = [0.0] * len(order)
        c[index[key]] = sense
        res = optimize.linprog(
            c, A_eq=rows or None, b_eq=rhs or None, bounds=[(0, None)] * len(order)
        )
        assert res.status in (0, 3), res.message
        result.append(sense * res.fun if res.status == 0 else float("inf"))
    return result


def table(counts: list[list[int]]) -> tuple[dict[Any, float], list[Any]]:
    """A wards x groups table with each ward's total, each group's hospital count and the
    hospital's total, and the relations a reader can add up."""
    wards, groups = len(counts), len(counts[0])
    values: dict[Any, float] = {}
    for w in range(wards):
        for g in range(groups):
            values[w, g] = counts[w][g]
        values[w, "all"] = sum(counts[w])
    for g in range(groups):
        values["H", g] = sum(counts[w][g] for w in range(wards))
    values["H", "all"] = sum(map(sum, counts))
    relations: list[Any] = [((w, "all"), [(w, g) for g in range(groups)]) for w in range(wards)]
    relations += [(("H", g), [(w, g) for w in range(wards)]) for g in range(groups)]
    relations += [(("H", "all"), [("H", g) for g in range(groups)])]
    relations += [(("H", "all"), [(w, "all") for w in range(wards)])]
    return values, relations


def test_counts_1_to_7_are_hidden_and_0_and_8_shown():
    values = {"a": 0, "b": 1, "c": 7, "d": 8, "e": 3.5, "f": 7.99}
    s = Suppression(values, [])
    assert {k: s.show(k) for k in values} == {
        "a": 0,
        "b": SUPPRESSED,
        "c": SUPPRESSED,
        "d": 8,
        "e": SUPPRESSED,
        "f": SUPPRESSED,
    }
    assert [is_primary(v) for v in (0, 1, 7, 8)] == [False, True, True, False]


def test_a_lone_hidden_cell_takes_the_smallest_other_with_it():
    values = {"all": 30, "male": 3, "female": 17, "not known": 10}
    s = Suppression(values, [("all", ["male", "female", "not known"])], always_shown=["all"])
    assert s.hidden == {"male", "not known"}


def test_a_zero_is_taken_only_when_nothing_else_is_left():
    values = {"all": 5, "male": 5, "female": 0, "not known": 0}
    s = Suppression(values, [("all", ["male", "female", "not known"])], always_shown=["all"])
    assert s.hidden == {"male", "female"}


def test_the_hospital_total_protects_a_ward():
    values, relations = table([[3, 20], [15, 12]])
    s = Suppression(values, relations)
    hidden = s.hidden
    assert (0, 0) in hidden
    assert not recoverable(values, hidden, relations)


def test_a_relation_naming_an_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="unknown cell"):
        Suppression({"a": 1}, [("a", ["b"])])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 3).flatmap(
        lambda wards: st.integers(2, 4).flatmap(
            lambda groups: st.lists(
                st.lists(st.one_of(st.integers(0, 9), st.integers(0, 40)), min_size=groups, max_size=groups),
                min_size=wards, max_size=wards,
            )
        )
    ),
    st.booleans(),
)  # fmt: skip
def test_no_small_count_can_be_recovered(counts, totals_shown):
    """Every hidden count of 1-7 stays undetermined. A hidden secondary cell may be pinned
    when it tells nothing small: a cell of a shown zero total is 0 (found by Hypothesis:
    ward counts [[0, 0], [0, 1]] with the ward totals shown hide ward 0's zeros to protect
    the 1, and they are recoverable as 0, which identifies nobody)."""
    values, relations = table(counts)
    always = [k for k in values if k[1] == "all"] if totals_shown else []
    s = Suppression(values, relations, always)
    assert s.primary <= s.hidden
    assert not s.hidden & set(always)
    for key in s.hidden:
        low, high = bounds(values, s.hidden, relations, key)
        if high - low < 1:
            assert key not in s.primary, (key, values, sorted(s.hidden, key=repr))
            assert not 0 < values[key] < 8, (key, values, sorted(s.hidden, key=repr))


def test_a_small_count_beside_a_zero_ward_stays_hidden():
    values, relations = table([[0, 0], [0, 1]])
    s = Suppression(values, relations, [k for k in values if k[1] == "all"])
    assert (1, 1) in s.hidden
    low, high = bounds(values, s.hidden, relations, (1, 1))
    assert high - low >= 1
