"""Small-number suppression (NHS Digital's rule), primary and secondary; pure.

Primary: a count from 1 to 7 is shown as `*` (0 is shown: nobody is identified by it). A
non-integer count (patient-days) is hidden when above 0 and below 8.

Secondary: a table also shows totals (a ward's count is the sum of its groups'; the hospital's
group count is the sum of the wards'), and a hidden cell must not be recoverable from what is
shown. The reader is taken to know every shown value and every additive relation
(`total = sum(parts)`) and that a hidden cell is a count (an integer 0 or more; they cannot
tell a primary `*` from a secondary one). A hidden cell is then recoverable when the relations
determine it: linearly (it is a combination of the shown values), or because a relation's
hidden cells must add up to 0 (so each is 0), which is carried on until nothing more follows.
While a primary cell is recoverable, one more cell of a relation that holds it is hidden: the
smallest shown cell above 0, else the smallest shown cell. `Suppression.hidden` is the result;
`tests/surveillance/dashboard/test_suppress.py` checks with an independent solver that no
primary cell can be recovered.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from fractions import Fraction
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)

SUPPRESSED: Final = "*"
PRIMARY_BELOW: Final = 8
"""Counts above 0 and below this are suppressed (NHS Digital: 1 to 7)."""

Relation = tuple[K, Sequence[K]]
"""`(total, parts)`: the value of `total` is the sum of the values of `parts`."""


def is_primary(value: float) -> bool:
    """Whether a count is hidden for itself (1 to 7; above 0 and below 8 when not whole)."""
    return 0 < value < PRIMARY_BELOW


class Suppression(Generic[K]):
    """Which cells of a table to show as `*`.

    Args:
        values: every cell's count (totals too).
        relations: the additive relations the table shows (`(total, parts)`), every key in
            `values`.
        always_shown: cells shown whatever their value (a total published elsewhere in full,
            such as a ward's own count on its chart): never hidden, so never chosen to protect
            another; they still count as known in every relation.
    """

    def __init__(
        self,
        values: Mapping[K, float],
        relations: Sequence[Relation[K]],
        always_shown: Collection[K] = (),
    ) -> None:
        for total, parts in relations:
            for key in (total, *parts):
                if key not in values:
                    raise ValueError(f"suppression: relation names an unknown cell {key!r}")
        self.values = dict(values)
        self.relations = [(total, tuple(parts)) for total, parts in relations]
        self.always_shown = frozenset(always_shown)
        self.primary = frozenset(
            k for k, v in self.values.items() if is_primary(v) and k not in self.always_shown
        )
        self.hidden = frozenset(self._secondary())

    def _secondary(self) -> set[K]:
        hidden = set(self.primary)
        order = {k: i for i, k in enumerate(self.values)}
        while True:
            exposed = recoverable(self.values, hidden, self.relations) & self.primary
            if not exposed:
                return hidden
            pick = self._pick(exposed, hidden, order)
            if pick is None:  # every cell of every relation holding them is hidden already:
                return set(self.values) - self.always_shown  # nothing safe is left to show
            hidden.add(pick)

    def _pick(self, exposed: set[K], hidden: set[K], order: Mapping[K, int]) -> K | None:
        """The cell to hide next: of the shown cells of the relations holding an exposed cell,
        the smallest above 0 (a 0 hidden beside a count is soon known to be 0 again), else the
        smallest; None when there is none."""
        shown = {
            k
            for total, parts in self.relations
            if total in exposed or not exposed.isdisjoint(parts)
            for k in (total, *parts)
            if k not in hidden and k not in self.always_shown
        }
        if not shown:
            return None
        return min(shown, key=lambda k: (self.values[k] <= 0, self.values[k], order[k]))

    def show(self, key: K) -> float | str:
        """The cell as shown: its value, or `*`."""
        return SUPPRESSED if key in self.hidden else self.values[key]


def recoverable(
    values: Mapping[K, float], hidden: set[K] | frozenset[K], relations: Sequence[Relation[K]]
) -> set[K]:
    """The hidden cells whose value follows from the shown ones and the relations (see the
    module): linear determination (Gaussian elimination, exact fractions) and zero sums, until
    nothing more follows."""
    known: dict[K, Fraction] = {}
    while True:
        equations: list[tuple[dict[K, Fraction], Fraction]] = []
        for total, parts in relations:
            coefficients: dict[K, Fraction] = {}
            constant = Fraction(0)  # sum(coefficients * x) + constant == 0
            for key, sign in ((total, 1), *((p, -1) for p in parts)):
                if key in hidden and key not in known:
                    coefficients[key] = coefficients.get(key, Fraction(0)) + sign
                else:
                    value = known[key] if key in known else Fraction(values[key])
                    constant += sign * value
            coefficients = {k: c for k, c in coefficients.items() if c != 0}
            if coefficients:
                equations.append((coefficients, constant))
        found = _zero_sums(equations) | _determined(equations)
        if not found:
            return set(known)
        known.update(found)


def _zero_sums(equations: list[tuple[dict[K, Fraction], Fraction]]) -> dict[K, Fraction]:
    """Cells of an equation whose unknowns all have one sign and whose constant makes their
    sum 0: every one is 0 (counts are not negative)."""
    found: dict[K, Fraction] = {}
    for coefficients, constant in equations:
        signs = {c > 0 for c in coefficients.values()}
        if len(signs) == 1 and constant == 0:
            found.update(dict.fromkeys(coefficients, Fraction(0)))
    return found


def _determined(equations: list[tuple[dict[K, Fraction], Fraction]]) -> dict[K, Fraction]:
    """The unknowns the equations fix, by reduced row echelon form: an unknown is fixed when
    its pivot row has no other unknown."""
    columns: list[K] = []
    index: dict[K, int] = {}
    for coefficients, _ in equations:
        for key in coefficients:
            if key not in index:
                index[key] = len(columns)
                columns.append(key)
    rows = []
    for coefficients, constant in equations:
        row = [Fraction(0)] * (len(columns) + 1)
        for key, c in coefficients.items():
            row[index[key]] = c
        row[-1] = -constant
        rows.append(row)
    pivots: list[int] = []
    r = 0
    for col in range(len(columns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][col]
        rows[r] = [v / lead for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
        if r == len(rows):
            break
    found: dict[K, Fraction] = {}
    for i, col in enumerate(pivots):
        if all(rows[i][j] == 0 for j in range(len(columns)) if j != col):
            found[columns[col]] = rows[i][-1]
    return found
