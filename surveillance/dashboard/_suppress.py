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

While a primary cell is recoverable, more cells are hidden, in rounds. A primary cell is
safe only inside a closed pattern of hidden cells (in a table with margins, a cycle of rows
and columns; with a family's numerators too, a box of them), and the recoverable cells beside
it show where the pattern is still open. So each round, in every group of linked hidden cells
(cells sharing a relation) that holds a recoverable primary cell, every relation holding a
recoverable cell above 0 takes one more: its smallest shown cell above 0, else its smallest
shown cell; when none has a shown cell left, one cell of a relation holding any hidden cell,
and when there is none either, every cell of that table but those always shown (nothing safe
is left to show). A recoverable cell that is not primary is left so (it is 0 or 8 and more:
it identifies nobody). `Suppression.hidden` is the result;
`tests/surveillance/dashboard/test_suppress.py` checks with an independent solver (a linear
programme) that no primary cell can be recovered.

Speed: cells that share no relation, directly or through other cells, are independent tables
and are solved apart (an identical one, such as a denominator many measures share, once: the
results are cached). Whether a hidden cell is determined is decided per group of linked hidden
cells, and only a group that changed is solved again. Cells that are alone in a relation are
determined and peeled off first; what is left is, for a table with margins, a graph (rows and
columns the nodes, hidden cells the edges) where a cell is determined if and only if it is a
bridge; otherwise sparse elimination modulo a prime (see `recoverable`).
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import Final, Generic, TypeVar

K = TypeVar("K", bound=Hashable)

SUPPRESSED: Final = "*"
PRIMARY_BELOW: Final = 8
"""Counts above 0 and below this are suppressed (NHS Digital: 1 to 7)."""

Relation = tuple[K, Sequence[K]]
"""`(total, parts)`: the value of `total` is the sum of the values of `parts`."""

_Terms = tuple[tuple[int, int], ...]
"""A relation over cell numbers: `(cell, coefficient)`, the coefficients adding up to 0."""


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
        unpublished: cells never shown (a reader does not know them) that still take part in
            relations, such as a proportion's "not" count (denominator - numerator): with it,
            a relation says the numerator is at most the denominator (both are counts, and
            a denominator known to be 0 makes its numerator 0). Never in `hidden`.
    """

    def __init__(
        self,
        values: Mapping[K, float],
        relations: Sequence[Relation[K]],
        always_shown: Collection[K] = (),
        unpublished: Collection[K] = (),
    ) -> None:
        for total, parts in relations:
            for key in (total, *parts):
                if key not in values:
                    raise ValueError(f"suppression: relation names an unknown cell {key!r}")
        self.values = dict(values)
        self.relations = [(total, tuple(parts)) for total, parts in relations]
        self.always_shown = frozenset(always_shown)
        unknown = frozenset(unpublished)
        self.primary = frozenset(
            k
            for k, v in self.values.items()
            if is_primary(v) and k not in self.always_shown and k not in unknown
        )
        keys = list(self.values)
        layout = Layout.of(keys, self.relations, self.always_shown, unknown)
        self.hidden = frozenset(keys[i] for i in layout.hidden([self.values[k] for k in keys]))

    def show(self, key: K) -> float | str:
        """The cell as shown: its value, or `*`."""
        return SUPPRESSED if key in self.hidden else self.values[key]


class Layout:
    """A table's cells (by number) and relations without their values: its independent
    tables found once, for the hidden cells of many tables of that shape (`Suppression` is
    one; a dashboard's families of measures are many of one shape).

    Args:
        n: the number of cells.
        terms: the relations over cell numbers (`_terms`).
        always_shown: the cells always shown (`Suppression`).
        unpublished: the cells never shown (`Suppression`).
    """

    def __init__(
        self,
        n: int,
        terms: list[_Terms],
        always_shown: Collection[int] = (),
        unpublished: Collection[int] = (),
    ) -> None:
        self.n = n
        self.unpublished = frozenset(unpublished)
        always = frozenset(always_shown)
        self.blocks: list[_Block] = []
        for cells, block_terms in _blocks(n, terms):
            local = {cell: i for i, cell in enumerate(cells)}
            self.blocks.append(
                _Block(
                    cells,
                    frozenset(i for i, c in enumerate(cells) if c in always),
                    frozenset(i for i, c in enumerate(cells) if c in self.unpublished),
                    [tuple((local[c], a) for c, a in t) for t in block_terms],
                )
            )
        self.solved: dict[tuple[int, tuple[float, ...]], frozenset[int]] = {}
        """The hidden cells of each independent table (by number) and its values met so far:
        a dashboard's families meet a shared denominator's again and again."""

    @classmethod
    def of(
        cls,
        keys: Sequence[K],
        relations: Iterable[Relation[K]],
        always_shown: Collection[K] = (),
        unpublished: Collection[K] = (),
    ) -> Layout:
        """The layout of the cells `keys`, numbered in that order (`Suppression`'s arguments;
        the relations' keys must be in `keys`; each relation is read once)."""
        number = {k: i for i, k in enumerate(keys)}
        return cls(
            len(keys),
            [_terms(number, total, parts) for total, parts in relations],
            [number[k] for k in always_shown if k in number],
            [number[k] for k in unpublished if k in number],
        )

    def hidden(self, values: Sequence[float]) -> set[int]:
        """The hidden cells (by number) of the table of these values (one a cell)."""
        if len(values) != self.n:
            raise ValueError(f"suppression: {len(values)} values for {self.n} cells")
        hidden: set[int] = set()
        for number, block in enumerate(self.blocks):
            key = (number, tuple(float(values[c]) for c in block.cells))
            found = self.solved.get(key)
            if found is None:
                table = _Table(list(key[1]), block.terms, block.holding)
                found = self.solved[key] = frozenset(
                    table.suppress(block.always, block.unpublished)
                )
            hidden.update(block.cells[i] for i in found)
        return hidden - self.unpublished


class _Block:
    """An independent table of a `Layout`: its cells (by number in the layout), those always
    shown and never published and its relations (by position in it), and the relations
    holding each cell."""

    __slots__ = ("always", "cells", "holding", "terms", "unpublished")

    def __init__(
        self,
        cells: list[int],
        always: frozenset[int],
        unpublished: frozenset[int],
        terms: list[_Terms],
    ) -> None:
        self.cells = cells
        self.always = always
        self.unpublished = unpublished
        self.terms = terms
        self.holding = _holding(len(cells), terms)


def recoverable(
    values: Mapping[K, float], hidden: set[K] | frozenset[K], relations: Sequence[Relation[K]]
) -> set[K]:
    """The hidden cells whose value follows from the shown ones and the relations (see the
    module): linear determination and zero sums, until nothing more follows.

    Whether a cell is determined depends only on which cells are hidden, not on the values
    (the value it is determined to is its own). A cell alone in a relation is determined; in
    a graph of rows and columns a cell is determined if and only if it is a bridge; otherwise
    elimination runs on the coefficients alone, modulo the prime 2**61 - 1 (exact integer
    arithmetic; a rational determination is missed only if that prime divides one of the
    system's minors, which for matrices of +-1 of the sizes of a dashboard is not a practical
    possibility, and the tests check it independently with a linear programme), and a cell is
    taken as determined when it is 0 in two null vectors drawn at random (a cell the equations
    do not fix is 0 in such a vector with chance 2**-61; mistaking it for fixed only hides
    more). A relation's hidden cells must add up to 0 when the shown cells and the cells known
    so far already make its total: each is then 0."""
    keys = list(values)
    number = {k: i for i, k in enumerate(keys)}
    table = _Table([float(values[k]) for k in keys], [_terms(number, t, p) for t, p in relations])
    found = table.recoverable(frozenset(number[k] for k in hidden))
    return {keys[i] for i in found}


def _terms(number: Mapping[K, int], total: K, parts: Sequence[K]) -> _Terms:
    cells = [number[total], *[number[p] for p in parts]]
    if len(set(cells)) == len(cells):
        return ((cells[0], 1), *[(cell, -1) for cell in cells[1:]])
    coefficients: dict[int, int] = {}
    for i, cell in enumerate(cells):
        coefficients[cell] = coefficients.get(cell, 0) + (1 if i == 0 else -1)
    return tuple((cell, c) for cell, c in coefficients.items() if c)


def _blocks(n: int, terms: list[_Terms]) -> list[tuple[list[int], list[_Terms]]]:
    """The independent tables: cells linked through relations, each with its relations (in
    the order given), by their first cell."""
    holding: list[list[int]] = [[] for _ in range(n)]
    for r, t in enumerate(terms):
        for cell, _ in t:
            holding[cell].append(r)
    block = [-1] * n
    seen = [False] * len(terms)
    for first in range(n):
        if block[first] >= 0:
            continue
        block[first] = first
        stack = [first]
        while stack:
            for r in holding[stack.pop()]:
                if not seen[r]:
                    seen[r] = True
                    for cell, _ in terms[r]:
                        if block[cell] < 0:
                            block[cell] = first
                            stack.append(cell)
    cells: dict[int, list[int]] = {}
    for i in range(n):
        cells.setdefault(block[i], []).append(i)
    rels: dict[int, list[_Terms]] = {}
    for t in terms:
        if t:
            rels.setdefault(block[t[0][0]], []).append(t)
    return [(cells[first], rels.get(first, [])) for first in cells]


def _holding(n: int, terms: Sequence[_Terms]) -> list[tuple[int, ...]]:
    """The relations (by number) holding each of `n` cells (tuples: the garbage collector
    stops tracking tuples of numbers, not lists)."""
    holding: list[list[int]] = [[] for _ in range(n)]
    for r, t in enumerate(terms):
        for cell, _ in t:
            holding[cell].append(r)
    return [tuple(h) for h in holding]


class _Table:
    """A table over cell numbers: values and relations (and the relations holding each cell,
    when known), with the hidden sets of linked cells already solved."""

    def __init__(
        self, values: list[float], terms: list[_Terms], holding: list[tuple[int, ...]] | None = None
    ) -> None:
        self.values = values
        self.terms = terms
        self.holding = _holding(len(values), terms) if holding is None else holding
        self.solved: dict[frozenset[int], frozenset[int]] = {}
        self.parts: dict[_Part, frozenset[int]] = {}
        """The unknowns each part of equations fixes (`_determined`): the same part comes
        again in the next round, or in the next pass of a group, when nothing near it changed."""

    def suppress(
        self, always: frozenset[int], unpublished: frozenset[int] = frozenset()
    ) -> set[int]:
        """The hidden cells; `unpublished` cells are unknown to the reader from the start (in
        the result too) and need no protection."""
        primary = {
            i
            for i, v in enumerate(self.values)
            if is_primary(v) and i not in always and i not in unpublished
        }
        hidden = primary | unpublished
        while True:
            groups = self.linked(hidden)
            found = {g: self.solve(g) for g in groups}
            exposed = {g: f for g, f in found.items() if f & primary}
            if not exposed:
                return hidden
            open_cells = sorted(c for f in exposed.values() for c in f if self.values[c] > 0)
            picks: set[int] = set()
            taken = hidden | always
            done: set[int] = set()
            for cell in open_cells:
                for r in self.holding[cell]:
                    if r not in done:
                        done.add(r)
                        pick = self.smallest_shown([r], taken)
                        if pick is not None:
                            picks.add(pick)
                            taken.add(pick)
            if not picks:
                near = sorted({r for c in hidden for r in self.holding[c]})
                pick = self.smallest_shown(near, hidden | always)
                if pick is None:  # every cell of every relation holding them is hidden:
                    return set(range(len(self.values))) - always  # nothing safe to show
                picks.add(pick)
            hidden |= picks

    def smallest_shown(self, relations: Iterable[int], taken: set[int]) -> int | None:
        """Of the cells of `relations` not in `taken`, the smallest above 0 (a 0 hidden beside
        a count is soon known to be 0 again), else the smallest; None when there is none."""
        best: tuple[bool, float, int] | None = None
        for r in relations:
            for cell, _ in self.terms[r]:
                if cell not in taken:
                    v = self.values[cell]
                    rank = (v <= 0, v, cell)
                    if best is None or rank < best:
                        best = rank
        return None if best is None else best[2]

    def linked(self, hidden: Collection[int]) -> list[frozenset[int]]:
        """The groups of hidden cells linked through relations holding them, by their first
        cell."""
        group: dict[int, int] = {}
        seen: set[int] = set()
        out: list[frozenset[int]] = []
        for first in sorted(hidden):
            if first in group:
                continue
            group[first] = first
            members = [first]
            stack = [first]
            while stack:
                for r in self.holding[stack.pop()]:
                    if r not in seen:
                        seen.add(r)
                        for cell, _ in self.terms[r]:
                            if cell in hidden and cell not in group:
                                group[cell] = first
                                members.append(cell)
                                stack.append(cell)
            out.append(frozenset(members))
        return out

    def recoverable(self, hidden: frozenset[int]) -> set[int]:
        return {c for g in self.linked(hidden) for c in self.solve(g)}

    def solve(self, group: frozenset[int]) -> frozenset[int]:
        """The recoverable cells of a group of linked hidden cells (cached)."""
        if group not in self.solved:
            self.solved[group] = self._solve(group)
        return self.solved[group]

    def _solve(self, group: frozenset[int]) -> frozenset[int]:
        if len(group) == 1:  # most: alone in each relation holding it, so determined by any
            (cell,) = group
            return group if self.holding[cell] else frozenset()
        known: set[int] = set()
        unknown = set(group)
        while True:
            equations: list[dict[int, int]] = []
            found: set[int] = set()
            for r in sorted({r for c in unknown for r in self.holding[c]}):
                coefficients: dict[int, int] = {}
                rest = 0.0  # the sum the unknowns make up, from the values of the known cells
                for cell, c in self.terms[r]:
                    if cell in unknown:
                        coefficients[cell] = c
                    else:
                        rest -= c * self.values[cell]
                equations.append(coefficients)
                if abs(rest) < 1e-9 and len({c > 0 for c in coefficients.values()}) == 1:
                    found.update(coefficients)  # one sign, adding up to 0: each is 0
            found |= _determined(equations, self.parts)
            if not found:
                return frozenset(known)
            known |= found
            unknown -= found


_Part = frozenset[int]
"""A part of linked equations by its unknowns. Of the equations of one table's relations
(`_Table._solve`: each relation holding an unknown, in order, with every unknown it holds),
a part is the relations holding its unknowns, each with those of them it holds (peeling
leaves no equation with one unknown), so its unknowns say which part it is."""


def _determined(
    rows: list[dict[int, int]], parts: dict[_Part, frozenset[int]] | None = None
) -> set[int]:
    """The unknowns the equations fix: those alone in an equation, peeled off until none is
    left alone, then, linked part by linked part, the bridges of a graph or elimination. The
    equations are used up (the peeled unknowns taken out of them). `parts`: the answers of
    the parts seen before (filled in), when the equations are a table's (`_Part`)."""
    holding: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        for cell in row:
            holding.setdefault(cell, []).append(i)
    found: set[int] = set()
    alone = [i for i, row in enumerate(rows) if len(row) == 1]
    while alone:
        i = alone.pop()
        if len(rows[i]) != 1:
            continue
        (cell,) = rows[i]
        found.add(cell)
        for j in holding[cell]:
            rows[j].pop(cell, None)
            if len(rows[j]) == 1:
                alone.append(j)
    core = [row for row in rows if len(row) >= 2]
    bridges = _bridges(core)
    if bridges is not None:
        return found | bridges
    for part in _parts(core):
        key = frozenset[int]().union(*part)
        fixed = None if parts is None else parts.get(key)
        if fixed is None:
            bridges = _bridges(part)
            fixed = frozenset(bridges if bridges is not None else _eliminated(part))
            if parts is not None:
                parts[key] = fixed
        found |= fixed
    return found


def _parts(rows: list[dict[int, int]]) -> list[list[dict[int, int]]]:
    """Rows linked through shared unknowns, part by part."""
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[int, int] = {}
    for i, row in enumerate(rows):
        for cell in row:
            j = first.setdefault(cell, i)
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    parts: dict[int, list[dict[int, int]]] = {}
    for i, row in enumerate(rows):
        parts.setdefault(find(i), []).append(row)
    return [parts[k] for k in sorted(parts)]


def _bridges(rows: list[dict[int, int]]) -> set[int] | None:
    """When every unknown is in exactly two rows and the rows can be signed so that each
    unknown comes in once with +1 and once with -1 (a graph: rows the nodes, unknowns the
    edges; the null space is its cycle space): the unknowns fixed, the bridges. None
    otherwise."""
    ends: dict[int, list[tuple[int, int]]] = {}
    for i, row in enumerate(rows):
        for cell, c in row.items():
            if cell in ends:
                ends[cell].append((i, c))
            else:
                ends[cell] = [(i, c)]
    adjacent: list[list[tuple[int, int, bool]]] = [[] for _ in rows]
    for cell in sorted(ends):
        e = ends[cell]
        if len(e) != 2:
            return None
        (u, a), (v, b) = e
        if abs(a) != abs(b):
            return None
        adjacent[u].append((v, cell, a == b))  # same sign: the two ends signed apart
        adjacent[v].append((u, cell, a == b))
    sign = [0] * len(rows)
    for root in range(len(rows)):
        if sign[root]:
            continue
        sign[root] = 1
        stack = [root]
        while stack:  # sign[u] * a == -sign[v] * b on every edge, or it is not a graph
            u = stack.pop()
            for v, _, same in adjacent[u]:
                want = -sign[u] if same else sign[u]
                if not sign[v]:
                    sign[v] = want
                    stack.append(v)
                elif sign[v] != want:
                    return None
    # Bridges: iterative Tarjan on the multigraph (an edge is known by its cell).
    order = [0] * len(rows)
    low = [0] * len(rows)
    counter = 0
    bridges: set[int] = set()
    for root in range(len(rows)):
        if order[root]:
            continue
        counter += 1
        order[root] = low[root] = counter
        walk: list[tuple[int, int, int]] = [(root, -1, 0)]
        while walk:
            u, via, k = walk[-1]
            if k < len(adjacent[u]):
                walk[-1] = (u, via, k + 1)
                v, cell, _ = adjacent[u][k]
                if cell == via:
                    continue
                if order[v]:
                    low[u] = min(low[u], order[v])
                else:
                    counter += 1
                    order[v] = low[v] = counter
                    walk.append((v, cell, 0))
            else:
                walk.pop()
                if walk:
                    up = walk[-1][0]
                    low[up] = min(low[up], low[u])
                    if low[u] > order[up]:
                        bridges.add(via)
    return bridges


_P: Final = (1 << 61) - 1


def _eliminated(equations: list[dict[int, int]]) -> set[int]:
    """The unknowns the equations fix, modulo the prime `_P`: row echelon form (each pivot on
    a shortest row and its least used unknown, which keeps the rows sparse), then two null
    vectors drawn at random by back substitution. An unknown the equations do not fix is 0 in
    a random null vector with chance 1 / `_P`; one 0 in both is taken as fixed, which errs on
    the safe side (it is then protected). The draws are seeded by the unknowns' numbers: the
    same equations give the same answer."""
    rows = [{cell: c % _P for cell, c in e.items()} for e in equations]
    using: dict[int, set[int]] = {}
    for i, row in enumerate(rows):
        for cell in row:
            using.setdefault(cell, set()).add(i)
    active = set(range(len(rows)))
    queue = [(len(row), i) for i, row in enumerate(rows)]  # shortest first (stale entries
    heapq.heapify(queue)  # are skipped: a row's length is checked when it comes out)
    pivots: list[tuple[int, dict[int, int]]] = []
    while queue:
        length, i = heapq.heappop(queue)
        if i not in active or length != len(rows[i]):
            continue
        active.discard(i)
        row = rows[i]
        if not row:
            continue
        col = min(row, key=lambda cell: (len(using[cell]), cell))
        if row[col] != 1:  # mostly 1 or -1 (= _P - 1, its own inverse)
            inverse = _P - 1 if row[col] == _P - 1 else pow(row[col], _P - 2, _P)
            row = {cell: v * inverse % _P for cell, v in row.items()}
        for cell in row:
            using[cell].discard(i)
        for j in sorted(using[col]):
            other = rows[j]
            factor = other[col]
            for cell, v in row.items():
                value = (other.get(cell, 0) - factor * v) % _P
                if value:
                    if cell not in other:
                        using[cell].add(j)
                    other[cell] = value
                elif cell in other:
                    del other[cell]
                    using[cell].discard(j)
            heapq.heappush(queue, (len(other), j))
        pivots.append((col, row))
    fixed: set[int] | None = None
    bound = {col for col, _ in pivots}
    for draw in (1, 2):
        x = {cell: _draw(cell, draw) for cell in using if cell not in bound}  # free: drawn
        for col, row in reversed(pivots):
            x[col] = -sum(v * x[cell] for cell, v in row.items() if cell != col) % _P
        zero = {cell for cell, v in x.items() if not v}
        fixed = zero if fixed is None else fixed & zero
        if not fixed:  # none 0 in the first: none fixed, whatever the second
            break
    return fixed or set()


def _draw(cell: int, draw: int) -> int:
    """A pseudo-random number modulo `_P`, the same for the same arguments (splitmix64)."""
    z = (cell * 0x9E3779B97F4A7C15 + draw * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) % _P
