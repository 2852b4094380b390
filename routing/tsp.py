"""Closed tours from a depot through a set of locations: exact for small sets, a heuristic for the rest.

Every function takes an integer cost matrix over locations (metres, seconds or fen: whatever unit the caller
uses, the result is in the same unit) that is square, non-negative, has a zero diagonal and need not be
symmetric. A tour leaves the depot, visits every given location once and returns to the depot. A location
equal to the depot is served without leaving it; repeated locations are visited once.

* ``held_karp`` is exact (dynamic programming over subsets, O(2^k k^2)), for up to ``HELD_KARP_MAX_STOPS``.
* ``heuristic_tour`` is cheapest insertion, then 2-opt and Or-opt (segments of 1 to 3 locations, either
  orientation) with best improvement until no move helps. It is deterministic: the same locations, in
  any order, give the same tour (ties go to the lowest position). Its cost is never below the exact one.
* ``solve_tour`` / ``tour_cost`` use the exact solver up to ``exact_max_stops`` locations, else the heuristic.
* ``TourSolver`` does the same against one matrix, validated once, with the costs memoized by location set.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.problem import RoutingError

Matrix = Sequence[Sequence[int]] | npt.NDArray[np.integer[Any]]
"""Square integer cost matrix over locations (row = from, column = to)."""

IntArray = npt.NDArray[np.int64]

MAX_ENTRY = 1 << 40
"""Largest matrix entry accepted (about 1.1e12): tour sums of up to a million legs stay exact in int64."""

HELD_KARP_MAX_STOPS = 16
"""The exact solver's limit: its table holds 2^k × k entries."""

DEFAULT_EXACT_MAX_STOPS = 12

_INF = 1 << 62


@dataclass(frozen=True, slots=True)
class Tour:
    """A closed tour: ``order`` lists the visited locations after leaving ``depot``, before returning."""

    depot: int
    order: tuple[int, ...]
    cost: int
    """Sum of the legs depot → order[0] → … → order[-1] → depot, in the matrix's unit."""
    exact: bool
    """True when the cost is proven minimal (Held–Karp, or three locations or fewer)."""


def as_matrix(matrix: Matrix) -> IntArray:
    """The matrix as a read-only int64 array, checked.

    Raises ``RoutingError`` (field ``matrix``) when it is empty, not square, not integers, has a negative
    entry, an entry above ``MAX_ENTRY`` or a non-zero diagonal entry.
    """
    if isinstance(matrix, np.ndarray):
        if matrix.dtype.kind not in "iu":
            raise RoutingError("matrix", f"entries must be integers, not {matrix.dtype}")
        array = np.array(matrix, dtype=np.int64)
    else:
        rows = list(matrix)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if not isinstance(value, int | np.integer) or isinstance(value, bool):
                    raise RoutingError(f"matrix[{i}][{j}]", "not an integer")
        try:
            array = np.array(rows, dtype=np.int64)
        except (ValueError, OverflowError) as exc:
            raise RoutingError("matrix", f"not a square integer matrix ({exc})") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise RoutingError("matrix", f"must be square and non-empty, is {array.shape}")
    if (array < 0).any():
        i, j = np.argwhere(array < 0)[0]
        raise RoutingError(f"matrix[{i}][{j}]", "must not be negative")
    if (array > MAX_ENTRY).any():
        i, j = np.argwhere(array > MAX_ENTRY)[0]
        raise RoutingError(f"matrix[{i}][{j}]", f"above {MAX_ENTRY}")
    if np.diagonal(array).any():
        i = int(np.flatnonzero(np.diagonal(array))[0])
        raise RoutingError(f"matrix[{i}][{i}]", "a location must be 0 away from itself")
    array.setflags(write=False)
    return array


def _locations(size: int, depot: int, stops: Iterable[int]) -> list[int]:
    if not 0 <= depot < size:
        raise RoutingError("depot", f"location {depot} is outside the {size}-location matrix")
    out = set()
    for stop in stops:
        if not 0 <= stop < size:
            raise RoutingError("stops", f"location {stop} is outside the {size}-location matrix")
        if stop != depot:
            out.add(int(stop))
    return sorted(out)


def _path_cost(cost: IntArray, path: Sequence[int]) -> int:
    p = np.asarray(path, dtype=np.intp)
    return int(cost[p[:-1], p[1:]].sum())


def _trivial(cost: IntArray, depot: int, nodes: list[int]) -> Tour | None:
    """Exact answers for 0 to 3 locations (the heuristic's job would be the same enumeration)."""
    k = len(nodes)
    if k == 0:
        return Tour(depot, (), 0, exact=True)
    if k > 3:
        return None
    best: tuple[int, tuple[int, ...]] | None = None
    orders = [tuple(nodes)]
    if k == 2:
        orders.append((nodes[1], nodes[0]))
    elif k == 3:
        a, b, c = nodes
        orders = [(a, b, c), (a, c, b), (b, a, c), (b, c, a), (c, a, b), (c, b, a)]
    for order in orders:
        total = _path_cost(cost, (depot, *order, depot))
        if best is None or total < best[0]:
            best = (total, order)
    assert best is not None
    return Tour(depot, best[1], best[0], exact=True)


# --- exact -------------------------------------------------------------------------------------------


@lru_cache(maxsize=HELD_KARP_MAX_STOPS + 1)
def _layers(k: int) -> tuple[npt.NDArray[np.intp], ...]:
    masks = np.arange(1 << k, dtype=np.intp)
    popcount = np.zeros(1 << k, dtype=np.intp)
    for bit in range(k):
        popcount += (masks >> bit) & 1
    return tuple(masks[popcount == p] for p in range(k + 1))


def _held_karp(cost: IntArray, depot: int, nodes: list[int]) -> Tour:
    k = len(nodes)
    idx = np.asarray(nodes, dtype=np.intp)
    inner = cost[np.ix_(idx, idx)]  # inner[i, j]: from nodes[i] to nodes[j]
    bits = (1 << np.arange(k)).astype(np.intp)
    # dp[mask, j]: cheapest path from the depot through exactly the nodes in mask, ending at node j
    dp = np.full((1 << k, k), _INF, dtype=np.int64)
    dp[bits, np.arange(k)] = cost[depot, idx]
    inner_t = inner.T[None, :, :]  # [_, j, i] = cost from i to j
    layers = _layers(k)
    for p in range(2, k + 1):
        masks = layers[p]
        prev = masks[:, None] ^ bits[None, :]  # [mask, j]: mask without j (or with it, when j ∉ mask)
        value = (dp[prev] + inner_t).min(axis=2)  # [mask, j], minimum over the node i before j
        has_j = (masks[:, None] & bits[None, :]) != 0
        dp[masks] = np.where(has_j & (value < _INF), value, _INF)
    full = (1 << k) - 1
    closing = dp[full] + cost[idx, depot]
    last = int(closing.argmin())
    total = int(closing[last])
    # walk back: the node before `last` is one whose path plus the leg to `last` makes dp[mask, last]
    order = [nodes[last]]
    mask = full
    while mask != 1 << last:
        before = mask ^ (1 << last)
        last = int((dp[before] + inner[:, last] == dp[mask, last]).argmax())
        mask = before
        order.append(nodes[last])
    order.reverse()
    return Tour(depot, tuple(order), total, exact=True)


def held_karp(matrix: Matrix, depot: int, stops: Iterable[int]) -> Tour:
    """The cheapest closed tour from ``depot`` through ``stops`` (exact), in the matrix's unit.

    Raises ``RoutingError`` for a bad matrix or location, or for more than ``HELD_KARP_MAX_STOPS``
    distinct stops other than the depot.
    """
    cost = as_matrix(matrix)
    nodes = _locations(cost.shape[0], depot, stops)
    return _exact(cost, depot, nodes)


def _exact(cost: IntArray, depot: int, nodes: list[int]) -> Tour:
    if len(nodes) > HELD_KARP_MAX_STOPS:
        raise RoutingError(
            "stops", f"{len(nodes)} stops; the exact solver takes at most {HELD_KARP_MAX_STOPS}"
        )
    return _trivial(cost, depot, nodes) or _held_karp(cost, depot, nodes)


# --- heuristic ---------------------------------------------------------------------------------------


def _cheapest_insertion(cost: IntArray, depot: int, nodes: list[int]) -> list[int]:
    """Path [depot, …, depot]: repeatedly insert the (location, gap) pair that adds the least.

    Each location keeps its cheapest gap; after an insertion only the two new gaps are tried, except for
    the locations whose cheapest gap was the one just split, which look at every gap again. Ties go to
    the location listed first, then to the gap found first (deterministic).
    """
    k = len(nodes)
    local = cost[np.ix_([depot, *nodes], [depot, *nodes])].tolist()  # 0 = the depot, r = nodes[r - 1]
    succ = [0] * (k + 1)
    tour = [0]
    remaining = list(range(1, k + 1))
    best_cost = [0] + [local[0][r] + local[r][0] for r in remaining]
    best_gap = [0] * (k + 1)  # a gap is named by the location it leaves from
    while remaining:
        new = min(remaining, key=lambda r: (best_cost[r], r))
        a = best_gap[new]
        b = succ[a]
        succ[a], succ[new] = new, b
        tour.append(new)
        remaining.remove(new)
        row_a, row_new = local[a], local[new]
        close_a, close_new = row_a[new], row_new[b]
        for r in remaining:
            row_r = local[r]
            if best_gap[r] == a:
                best, gap = min((local[t][r] + row_r[succ[t]] - local[t][succ[t]], t) for t in tour)
            else:
                best, gap = best_cost[r], best_gap[r]
                via_a = row_a[r] + row_r[new] - close_a
                if via_a < best:
                    best, gap = via_a, a
                via_new = row_new[r] + row_r[b] - close_new
                if via_new < best:
                    best, gap = via_new, new
            best_cost[r], best_gap[r] = best, gap
    path = [depot]
    at = succ[0]
    while at != 0:
        path.append(nodes[at - 1])
        at = succ[at]
    path.append(depot)
    return path


def _improve(cost: IntArray, path: list[int]) -> list[int]:
    """Best-improvement 2-opt and Or-opt on a path [depot, …, depot] until no move lowers its cost."""
    n = len(path)  # k + 2 positions, the depot at both ends
    k = n - 2
    gaps = np.arange(k + 1)  # gap e: between positions e and e + 1
    two_valid = gaps[None, :] >= gaps[:, None] + 2  # 2-opt (i, j): j >= i + 2
    # Or-opt moves, one row each: positions start .. end leave the path and go into a gap that does not
    # touch them, entering at `first` and leaving from `last` (start/end, or end/start when reversed)
    rows = [
        (start, start + length - 1, reverse)
        for length in (1, 2, 3)
        if length <= k - 1
        for reverse in ((False, True) if length > 1 else (False,))
        for start in range(1, k - length + 2)
    ]
    starts = np.asarray([r[0] for r in rows], dtype=np.intp)
    ends = np.asarray([r[1] for r in rows], dtype=np.intp)
    reversed_ = np.asarray([r[2] for r in rows], dtype=bool)
    first = np.where(reversed_, ends, starts)
    last = np.where(reversed_, starts, ends)
    or_valid = (gaps[None, :] < starts[:, None] - 1) | (gaps[None, :] > ends[:, None])
    width = k + 1
    while True:
        p = np.asarray(path, dtype=np.intp)
        d = cost[np.ix_(p, p)]  # d[a, b]: from the location at position a to the one at position b
        forward = np.diagonal(d, 1)  # leg e: position e -> e + 1
        backward = np.diagonal(d, -1)  # the same leg driven the other way
        fwd = np.concatenate(([0], np.cumsum(forward)))  # fwd[e]: legs 0 .. e-1
        bwd = np.concatenate(([0], np.cumsum(backward)))

        # 2-opt: legs (i, i+1) and (j, j+1) become (i, j) and (i+1, j+1); the legs between reversed
        two = (
            d[:width, :width]
            + d[1:, 1:]
            - forward[:, None]
            - forward[None, :]
            + (bwd[None, :width] - bwd[1:, None])
            - (fwd[None, :width] - fwd[1:, None])
        )
        two = np.where(two_valid, two, 0)
        two_at = int(two.argmin())
        two_delta = int(two.flat[two_at])

        or_delta = 0
        if len(rows):
            removed = d[starts - 1, starts] + d[ends, ends + 1] - d[starts - 1, ends + 1]
            inner = np.where(reversed_, (bwd[ends] - bwd[starts]) - (fwd[ends] - fwd[starts]), 0)
            moved = d[:width, first].T + d[last][:, 1:] - forward[None, :] + (inner - removed)[:, None]
            moved = np.where(or_valid, moved, 0)
            or_at = int(moved.argmin())
            or_delta = int(moved.flat[or_at])

        if min(two_delta, or_delta) >= 0:
            return path
        if two_delta <= or_delta:
            i, j = divmod(two_at, width)
            path = path[: i + 1] + path[i + 1 : j + 1][::-1] + path[j + 1 :]
        else:
            row, gap = divmod(or_at, width)
            start, end, reverse = rows[row]
            segment = path[start : end + 1]
            if reverse:
                segment.reverse()
            rest = path[:start] + path[end + 1 :]
            # gap `gap` of the old path follows position `gap`; later positions shift left by the segment
            at = gap + 1 if gap < start else gap + 1 - len(segment)
            path = rest[:at] + segment + rest[at:]


def _heuristic(cost: IntArray, depot: int, nodes: list[int]) -> Tour:
    trivial = _trivial(cost, depot, nodes)
    if trivial is not None:
        return trivial
    path = _improve(cost, _cheapest_insertion(cost, depot, nodes))
    return Tour(depot, tuple(path[1:-1]), _path_cost(cost, path), exact=False)


def heuristic_tour(matrix: Matrix, depot: int, stops: Iterable[int]) -> Tour:
    """A good closed tour from ``depot`` through ``stops`` (cheapest insertion + 2-opt + Or-opt).

    Deterministic; its cost, in the matrix's unit, is never below ``held_karp``'s. Raises
    ``RoutingError`` for a bad matrix or location.
    """
    cost = as_matrix(matrix)
    return _heuristic(cost, depot, _locations(cost.shape[0], depot, stops))


def solve_tour(
    matrix: Matrix, depot: int, stops: Iterable[int], *, exact_max_stops: int = DEFAULT_EXACT_MAX_STOPS
) -> Tour:
    """A closed tour from ``depot`` through ``stops``: exact up to ``exact_max_stops`` distinct stops
    (at most ``HELD_KARP_MAX_STOPS``), heuristic above. Raises ``RoutingError`` for a bad matrix, location
    or limit."""
    return TourSolver(matrix, depot, exact_max_stops=exact_max_stops).tour(stops)


def tour_cost(
    matrix: Matrix, depot: int, stops: Iterable[int], *, exact_max_stops: int = DEFAULT_EXACT_MAX_STOPS
) -> int:
    """Cost of ``solve_tour``'s tour, in the matrix's unit (0 for no stops). Raises ``RoutingError`` as it."""
    return solve_tour(matrix, depot, stops, exact_max_stops=exact_max_stops).cost


class TourSolver:
    """Tours against one matrix and depot, the matrix checked once, costs memoized by location set.

    ``cost(stops)`` is a pure function of the set of stops (never of the order calls come in), so a
    memoized value is the value anyone recomputing it with ``tour_cost`` gets.
    """

    def __init__(self, matrix: Matrix, depot: int, *, exact_max_stops: int = DEFAULT_EXACT_MAX_STOPS) -> None:
        """Raises ``RoutingError`` for a bad matrix, depot or ``exact_max_stops`` (0 to 16)."""
        self.matrix = as_matrix(matrix)
        self.size = int(self.matrix.shape[0])
        _locations(self.size, depot, ())
        if not 0 <= exact_max_stops <= HELD_KARP_MAX_STOPS:
            raise RoutingError("exact_max_stops", f"must be between 0 and {HELD_KARP_MAX_STOPS}")
        self.depot = depot
        self.exact_max_stops = exact_max_stops
        self._costs: dict[frozenset[int], int] = {}
        self.exact_solved = 0
        self.heuristic_solved = 0

    @property
    def solved(self) -> int:
        """Distinct location sets solved so far (the memo's size)."""
        return len(self._costs)

    def tour(self, stops: Iterable[int]) -> Tour:
        """The tour through ``stops``, not memoized; raises ``RoutingError`` for a location off the matrix."""
        nodes = _locations(self.size, self.depot, stops)
        if len(nodes) <= self.exact_max_stops:
            self.exact_solved += 1
            return _exact(self.matrix, self.depot, nodes)
        self.heuristic_solved += 1
        return _heuristic(self.matrix, self.depot, nodes)

    def cost(self, stops: Collection[int]) -> int:
        """Memoized tour cost through ``stops``, in the matrix's unit; raises ``RoutingError`` as ``tour``."""
        key = frozenset(stops)
        found = self._costs.get(key)
        if found is None:
            found = self._costs[key] = self.tour(key).cost
        return found
