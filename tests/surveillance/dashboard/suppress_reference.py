"""The suppression module as it was before it was made fast: `recoverable` (one modular
Gauss-Jordan elimination of every hidden cell, in pure Python) is a slow, independent oracle
the tests compare the fast one with (same notion: linear determination and zero sums);
`Suppression` (one cell hidden per elimination, until no hidden cell at all is recoverable) is
what `bench/dashboard_suppress` compares the new one with."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Final, Generic, TypeVar

from surveillance.dashboard import is_primary

K = TypeVar("K", bound=Hashable)
Relation = tuple[K, Sequence[K]]


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
            exposed = recoverable(self.values, hidden, self.relations)
            if not exposed:
                return hidden
            pick = self._pick(exposed, hidden, order)
            if pick is None:  # every cell of every relation holding them is hidden already:
                return set(self.values) - self.always_shown  # nothing safe is left to show
            hidden.add(pick)

    def _pick(self, exposed: set[K], hidden: set[K], order: Mapping[K, int]) -> K | None:
        """The cell to hide next: of the shown cells of the relations holding an exposed cell
        (when they are all hidden already: of the relations holding any hidden cell), the
        smallest above 0 (a 0 hidden beside a count is soon known to be 0 again), else the
        smallest; None when there is none."""
        for near in (exposed, hidden):
            shown = {
                k
                for total, parts in self.relations
                if total in near or not near.isdisjoint(parts)
                for k in (total, *parts)
                if k not in hidden and k not in self.always_shown
            }
            if shown:
                return min(shown, key=lambda k: (self.values[k] <= 0, self.values[k], order[k]))
        return None


def recoverable(
    values: Mapping[K, float], hidden: set[K] | frozenset[K], relations: Sequence[Relation[K]]
) -> set[K]:
    """The hidden cells whose value follows from the shown ones and the relations (see the
    module): linear determination and zero sums, until nothing more follows.

    Whether a cell is determined depends only on which cells are hidden, not on the values
    (the value it is determined to is its own): elimination runs on the coefficients alone,
    modulo the prime 2**61 - 1 (exact integer arithmetic; a rational determination is missed
    only if that prime divides one of the system's minors, which for matrices of +-1 of the
    sizes of a dashboard is not a practical possibility, and the tests check it independently
    with a linear programme). A relation's hidden cells must add up to 0 when the shown cells
    and the cells known so far already make its total: each is then 0."""
    known: set[K] = set()
    while True:
        equations: list[dict[K, int]] = []
        sums: list[tuple[dict[K, int], float]] = []
        for total, parts in relations:
            coefficients: dict[K, int] = {}
            rest = 0.0  # the sum the unknowns must make up, from the values of the known cells
            for key, sign in ((total, 1), *((p, -1) for p in parts)):
                if key in hidden and key not in known:
                    coefficients[key] = coefficients.get(key, 0) + sign
                else:
                    rest -= sign * values[key]
            coefficients = {k: c for k, c in coefficients.items() if c}
            if coefficients:
                equations.append(coefficients)
                sums.append((coefficients, rest))
        found = _zero_sums(sums) | _determined(equations)
        if not found:
            return known
        known |= found


def _zero_sums(sums: list[tuple[dict[K, int], float]]) -> set[K]:
    """Cells of an equation whose unknowns all have one sign and must add up to 0: every one
    is 0 (counts are not negative)."""
    found: set[K] = set()
    for coefficients, rest in sums:
        if len({c > 0 for c in coefficients.values()}) == 1 and abs(rest) < 1e-9:
            found.update(coefficients)
    return found


_P: Final = (1 << 61) - 1


def _determined(equations: list[dict[K, int]]) -> set[K]:
    """The unknowns the equations fix (reduced row echelon form modulo `_P`): an unknown is
    fixed when its pivot row has no other unknown."""
    index: dict[K, int] = {}
    for coefficients in equations:
        for key in coefficients:
            index.setdefault(key, len(index))
    columns = list(index)
    rows: list[dict[int, int]] = [
        {index[k]: c % _P for k, c in coefficients.items()} for coefficients in equations
    ]
    pivots: list[tuple[int, dict[int, int]]] = []
    remaining = rows
    for col in range(len(columns)):
        pivot = next((r for r in remaining if r.get(col)), None)
        if pivot is None:
            continue
        remaining = [r for r in remaining if r is not pivot]
        inverse = pow(pivot[col], _P - 2, _P)
        pivot = {j: v * inverse % _P for j, v in pivot.items()}
        reduced = []
        for r in remaining:
            reduced.append(_eliminate(r, pivot, col))
        remaining = [r for r in reduced if r]
        pivots = [(c, _eliminate(row, pivot, col)) for c, row in pivots]
        pivots.append((col, pivot))
    return {columns[col] for col, row in pivots if len(row) == 1}


def _eliminate(row: dict[int, int], pivot: dict[int, int], col: int) -> dict[int, int]:
    """`row` less the multiple of `pivot` (1 at `col`) that clears its `col`."""
    factor = row.get(col, 0)
    if not factor:
        return row
    out = dict(row)
    for j, v in pivot.items():
        value = (out.get(j, 0) - factor * v) % _P
        if value:
            out[j] = value
        else:
            out.pop(j, None)
    return out
