"""Splitting a shared route's cost among the carriers on it, exactly to the fen, with the working shown.

Competing express brands share one van out to the village stations; the route's actual cost (``total_fen``)
is split among them by one of five rules. Every rule gives each carrier a non-negative *weight* and the
total is then split in proportion by ``largest_remainder``, so the parts always sum to the total exactly,
a carrier with nothing on the route pays 0, and carriers with equal weights pay within 1 fen of each other
(the odd fen goes to the alphabetically first carrier codes).

Rules (a carrier "has parcels at a stop" when it has at least one piece there):

``per_piece``   weight = the carrier's pieces on the route.
``per_weight``  weight = the carrier's grams on the route.
``per_stop``    the total is split equally over the stops where anyone has parcels, and each stop's part
                among the carriers there in proportion to their pieces at that stop; the carrier's parts
                are summed. Exactly: weight = Σ over its stops of (its pieces there / all pieces there),
                rounded once, at the end (no rounding per stop).
``standalone``  weight = the carrier's stand-alone cost: the tour from the depot through only its stops.
``shapley``     weight = the carrier's Shapley value in the route game below, negatives (heuristic noise)
                taken as 0.

The route game. The value of a coalition S of carriers, v(S), is the cost of a closed tour from the depot
through the stops where some member of S has parcels (a stop shared by several members is visited once),
on the given matrix, by ``routing.tsp`` (exact Held–Karp up to ``ShapleyParams.exact_max_stops`` stops,
cheapest insertion + 2-opt + Or-opt above); v(∅) = 0. Values are memoized by stop set. A carrier's Shapley
value is φ_i = Σ_{S ⊆ N∖{i}} |S|! (n−|S|−1)! / n! · (v(S∪{i}) − v(S)), computed exactly in rationals over
the n carriers with parcels (carriers without parcels are null players: 0, and leaving them out changes no
one else's value). Σ φ_i = v(N), the computed tour's cost for everyone. That is not the actual route's cost
(the van drove its own order, and the fen include more than distance), so the actual ``total_fen`` is split
in proportion to φ: part_i = total · φ_i / v(N), rounded by ``largest_remainder``.

Note what a null player is here: a carrier whose stops are all also someone else's is *not* one (it still
adds its stops to any coalition without that someone); only a carrier whose stops cost nothing to add to
any coalition (none, or all at the depot's location) has φ = 0.

Beyond ``ShapleyParams.exact_max_carriers`` carriers with parcels, φ is estimated by Monte-Carlo over
orders of the carriers: each carrier's marginal cost when it joins the ones before it, averaged. The orders
come in blocks: one seeded random order and its n rotations, so within a block every carrier joins once at
every position (stratified by position, which carries most of a marginal's spread: about 4 times smaller
error than independent orders on the benchmark route). Each order's marginals sum to v(N), so the estimates
still sum to v(N) exactly. The error bound per carrier is a half-width at ``confidence`` that holds for all
carriers at once (normal approximation, Bonferroni over the n carriers), from the sample standard deviation
of the carrier's block means over √blocks.

The matrix may be in any integer unit (metres, or fen when the caller priced the legs): only ratios of tour
costs reach the split. Units of every cost in the explanation are the matrix's.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from statistics import NormalDist

from routing.problem import RoutingError
from routing.tsp import DEFAULT_EXACT_MAX_STOPS, HELD_KARP_MAX_STOPS, Matrix, TourSolver

MAX_EXACT_CARRIERS = 16
"""Ceiling for ``ShapleyParams.exact_max_carriers``: exact Shapley evaluates 2^n coalitions."""


class SplitError(RoutingError):
    """A split that cannot mean anything: ``field`` names the input, ``reason`` says why."""


# --- largest remainder -------------------------------------------------------------------------------


def largest_remainder(
    total_fen: int, weights: Mapping[str, int | Fraction], *, equal_if_all_zero: bool = False
) -> dict[str, int]:
    """Split ``total_fen`` into integer fen parts in proportion to ``weights``; the parts sum to it exactly.

    Each key first gets the floor of its exact quota ``total_fen · w / Σw``; the fen left over go one each
    to the keys with the largest remainders, ties to the key that sorts first. So every part is its quota
    rounded down or up, a zero weight gets 0, equal weights get parts within 1 fen of each other, and
    raising one key's weight (the others unchanged) never lowers its part when the total is positive.

    A negative total (a credit) is split as the debit of the same size, negated: parts are ≤ 0 and the
    rounding is the same. A total of 0 gives every key 0, whatever the weights. When every weight is 0 and
    the total is not: ``equal_if_all_zero`` splits equally over the keys; otherwise ``SplitError``.

    Returns the parts keyed and ordered like ``sorted(weights)``. Raises ``SplitError`` when the total is
    not an int, a weight is negative or not an int / ``Fraction`` (floats are inexact), or there are no
    keys to give a non-zero total to.
    """
    if isinstance(total_fen, bool) or not isinstance(total_fen, int):
        raise SplitError("total_fen", f"must be an integer number of fen, not {type(total_fen).__name__}")
    keys = sorted(weights)
    exact: dict[str, Fraction] = {}
    for key in keys:
        weight = weights[key]
        if isinstance(weight, bool) or not isinstance(weight, int | Fraction):
            raise SplitError(f"weights[{key!r}]", f"must be an int or Fraction, not {type(weight).__name__}")
        if weight < 0:
            raise SplitError(f"weights[{key!r}]", f"must not be negative ({weight})")
        exact[key] = Fraction(weight)
    if total_fen == 0:
        return dict.fromkeys(keys, 0)
    if not keys:
        raise SplitError("weights", f"no one to split {total_fen} fen over")
    if not any(exact.values()):
        if not equal_if_all_zero:
            raise SplitError("weights", f"every weight is 0; no proportion to split {total_fen} fen by")
        exact = dict.fromkeys(keys, Fraction(1))
    if total_fen < 0:
        return {key: -part for key, part in largest_remainder(-total_fen, exact).items()}
    scale = math.lcm(*(w.denominator for w in exact.values()))
    scaled = {key: int(w * scale) for key, w in exact.items()}
    weight_sum = sum(scaled.values())
    parts: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key in keys:
        parts[key], remainders[key] = divmod(total_fen * scaled[key], weight_sum)
    leftover = total_fen - sum(parts.values())
    for key in sorted(keys, key=lambda k: (-remainders[k], k))[:leftover]:
        parts[key] += 1
    return parts


# --- the route ---------------------------------------------------------------------------------------


class SplitRule(enum.StrEnum):
    """How a shared route's cost is divided; see the module docstring for each rule's exact definition."""

    PER_PIECE = "per_piece"
    PER_WEIGHT = "per_weight"
    PER_STOP = "per_stop"
    STANDALONE = "standalone"
    SHAPLEY = "shapley"


@dataclass(frozen=True, slots=True)
class CarrierStopLoad:
    """Parcels of one carrier for one stop; several rows for the same pair add up."""

    carrier: str
    """Carrier (brand) code, e.g. ``zto``."""
    location: int
    """The stop's location: an index into the route's matrix."""
    pieces: int
    """At least 1."""
    weight_g: int = 0


@dataclass(frozen=True, slots=True)
class SharedRoute:
    """One van route shared by carriers, as far as splitting its cost needs.

    ``matrix`` is square, integer, non-negative with a zero diagonal, in any one unit (metres or fen);
    ``depot`` and ``stops`` are locations (indices into it). ``carriers`` may name carriers that share the
    route but have nothing on it this time (they pay 0); carriers named only in ``loads`` count too.
    """

    matrix: Matrix
    depot: int
    stops: tuple[int, ...]
    loads: tuple[CarrierStopLoad, ...]
    carriers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShapleyParams:
    """Knobs of the Shapley rule; every default is deterministic."""

    exact_max_carriers: int = 10
    """Exact over all 2^n coalitions up to this many carriers with parcels; sampled above (0 = always)."""
    samples: int = 600
    """Carrier orders for the Monte-Carlo estimate, rounded up to whole blocks of n rotations (at least
    2 blocks)."""
    seed: int = 0
    confidence: float = 0.95
    """Of the Monte-Carlo half-width, simultaneous over the carriers."""
    exact_max_stops: int = DEFAULT_EXACT_MAX_STOPS
    """Coalition tours through up to this many stops are solved exactly (Held–Karp); above, heuristically."""

    def validate(self) -> None:
        """Raise ``SplitError`` for a knob out of range."""
        if not 0 <= self.exact_max_carriers <= MAX_EXACT_CARRIERS:
            raise SplitError("exact_max_carriers", f"must be between 0 and {MAX_EXACT_CARRIERS}")
        if self.samples < 1:
            raise SplitError("samples", "must be at least 1")
        if not 0 < self.confidence < 1:
            raise SplitError("confidence", "must be strictly between 0 and 1")
        if not 0 <= self.exact_max_stops <= HELD_KARP_MAX_STOPS:
            raise SplitError("exact_max_stops", f"must be between 0 and {HELD_KARP_MAX_STOPS}")


@dataclass(frozen=True, slots=True)
class StopLoad:
    location: int
    pieces: int
    weight_g: int


@dataclass(frozen=True, slots=True)
class CarrierInputs:
    """What one carrier brought to the route and what the rule made of it."""

    carrier: str
    pieces: int
    weight_g: int
    loads: tuple[StopLoad, ...]
    """Its parcels per stop, by location."""
    standalone_cost: int
    """Tour from the depot through only its stops, in the matrix's unit (0 when it has none)."""
    rule_weight: Fraction
    """The weight the rule gave it; its part is ``total_fen`` split in proportion to these."""
    part_fen: int

    @property
    def stops(self) -> tuple[int, ...]:
        return tuple(load.location for load in self.loads)


@dataclass(frozen=True, slots=True)
class StopTotals:
    """All carriers' parcels at one stop (``per_stop`` splits a stop's part by these pieces)."""

    location: int
    pieces: int
    weight_g: int
    carriers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CoalitionValue:
    """v(S): the tour through ``stops`` (where the coalition has parcels), in the matrix's unit."""

    carriers: tuple[str, ...]
    stops: tuple[int, ...]
    cost: int


@dataclass(frozen=True, slots=True)
class ShapleyDetail:
    """Shapley values of the route game and everything needed to check them."""

    method: str
    """``exact`` (all coalitions) or ``monte_carlo`` (sampled carrier orders)."""
    values: Mapping[str, Fraction]
    """φ per carrier (0 for carriers without parcels), in the matrix's unit; they sum to ``grand_cost``."""
    grand_cost: int
    """v(N): the tour through every stop with parcels."""
    coalitions: tuple[CoalitionValue, ...]
    """Every coalition whose value was used (all 2^n for ``exact``), by carriers."""
    stop_sets_solved: int
    """Distinct stop sets whose tour was computed (coalitions with the same stops share one)."""
    exact_tours: int
    heuristic_tours: int
    negative: tuple[str, ...] = ()
    """Carriers whose φ came out below 0 (heuristic noise, or a matrix breaking the triangle inequality):
    the ``shapley`` rule charges them nothing."""
    samples: int | None = None
    """Monte-Carlo only: carrier orders evaluated (blocks × n)."""
    seed: int | None = None
    confidence: float | None = None
    std_error: Mapping[str, float] = field(default_factory=dict)
    """Monte-Carlo only: standard error of each φ, in the matrix's unit."""
    half_width: Mapping[str, float] = field(default_factory=dict)
    """Monte-Carlo only: |φ_estimate − φ_exact| ≤ half_width for all carriers at once, at ``confidence``."""

    @property
    def coalitions_evaluated(self) -> int:
        return len(self.coalitions)


@dataclass(frozen=True, slots=True)
class Allocation:
    """The split of ``total_fen`` and the explanation a carrier can check it with."""

    rule: SplitRule
    total_fen: int
    parts_fen: Mapping[str, int]
    """Per carrier, summing to ``total_fen`` exactly; carriers in sorted order."""
    carriers: tuple[CarrierInputs, ...]
    stops: tuple[StopTotals, ...]
    """Stops with parcels, by location."""
    depot: int
    exact_max_stops: int
    """Tours (stand-alone, coalitions) through up to this many stops were solved exactly: anyone can
    recompute each with ``routing.tsp.tour_cost(matrix, depot, stops, exact_max_stops=…)``."""
    shapley: ShapleyDetail | None = None

    def to_payload(self) -> dict[str, object]:
        """The allocation as JSON-ready data: fractions as ``"p/q"`` strings, costs in the matrix's unit."""
        payload: dict[str, object] = {
            "rule": self.rule.value,
            "total_fen": self.total_fen,
            "parts_fen": dict(self.parts_fen),
            "depot": self.depot,
            "exact_max_stops": self.exact_max_stops,
            "carriers": [
                {
                    "carrier": c.carrier,
                    "pieces": c.pieces,
                    "weight_g": c.weight_g,
                    "loads": [
                        {"location": s.location, "pieces": s.pieces, "weight_g": s.weight_g} for s in c.loads
                    ],
                    "standalone_cost": c.standalone_cost,
                    "rule_weight": str(c.rule_weight),
                    "part_fen": c.part_fen,
                }
                for c in self.carriers
            ],
            "stops": [
                {
                    "location": s.location,
                    "pieces": s.pieces,
                    "weight_g": s.weight_g,
                    "carriers": list(s.carriers),
                }
                for s in self.stops
            ],
        }
        if self.shapley is not None:
            detail = self.shapley
            scale = _fen_per_unit(self.total_fen, detail)
            payload["shapley"] = {
                "method": detail.method,
                "values": {k: str(v) for k, v in detail.values.items()},
                "grand_cost": detail.grand_cost,
                "negative": list(detail.negative),
                "samples": detail.samples,
                "seed": detail.seed,
                "confidence": detail.confidence,
                "std_error": dict(detail.std_error),
                "half_width": dict(detail.half_width),
                "half_width_fen": {k: v * scale for k, v in detail.half_width.items()},
                "stop_sets_solved": detail.stop_sets_solved,
                "coalitions": [
                    {"carriers": list(c.carriers), "stops": list(c.stops), "cost": c.cost}
                    for c in detail.coalitions
                ],
            }
        return payload


def _fen_per_unit(total_fen: int, detail: ShapleyDetail) -> float:
    charged = sum(max(v, Fraction(0)) for v in detail.values.values())
    return float(Fraction(total_fen) / charged) if charged else 0.0


# --- preparing the game ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Route:
    carriers: list[str]
    """Everyone sharing the route, sorted."""
    loads: dict[str, dict[int, tuple[int, int]]]
    """carrier -> location -> (pieces, grams); only carriers with parcels."""
    stop_bit: dict[int, int]
    """location -> bit, for the stops with parcels."""
    solver: TourSolver
    costs: dict[int, int] = field(default_factory=dict)
    """Memo: stop bitmask -> tour cost."""

    def stop_mask(self, carrier: str) -> int:
        mask = 0
        for location in self.loads.get(carrier, {}):
            mask |= 1 << self.stop_bit[location]
        return mask

    def locations(self, mask: int) -> tuple[int, ...]:
        return tuple(loc for loc, bit in self.stop_bit.items() if mask >> bit & 1)

    def cost(self, mask: int) -> int:
        if not mask:
            return 0
        found = self.costs.get(mask)
        if found is None:
            found = self.costs[mask] = self.solver.tour(self.locations(mask)).cost
        return found


def _prepare(route: SharedRoute, exact_max_stops: int) -> _Route:
    solver = TourSolver(route.matrix, route.depot, exact_max_stops=exact_max_stops)
    size = solver.size
    if len(set(route.stops)) != len(route.stops):
        raise SplitError("stops", "a location is listed twice")
    for location in route.stops:
        if isinstance(location, bool) or not isinstance(location, int) or not 0 <= location < size:
            raise SplitError("stops", f"location {location!r} is outside the {size}-location matrix")
    on_route = set(route.stops)
    carriers = set(route.carriers)
    loads: dict[str, dict[int, tuple[int, int]]] = {}
    for i, load in enumerate(route.loads):
        where = f"loads[{i}]"
        if not isinstance(load.carrier, str) or not load.carrier:
            raise SplitError(f"{where}.carrier", "must be a non-empty carrier code")
        if load.location not in on_route:
            raise SplitError(f"{where}.location", f"location {load.location} is not one of the route's stops")
        if isinstance(load.pieces, bool) or not isinstance(load.pieces, int) or load.pieces < 1:
            raise SplitError(f"{where}.pieces", f"must be an integer of at least 1, not {load.pieces!r}")
        if isinstance(load.weight_g, bool) or not isinstance(load.weight_g, int) or load.weight_g < 0:
            raise SplitError(f"{where}.weight_g", f"must be a non-negative integer, not {load.weight_g!r}")
        carriers.add(load.carrier)
        at = loads.setdefault(load.carrier, {})
        pieces, grams = at.get(load.location, (0, 0))
        at[load.location] = (pieces + load.pieces, grams + load.weight_g)
    for carrier in carriers:
        if not isinstance(carrier, str) or not carrier:
            raise SplitError("carriers", f"{carrier!r} is not a carrier code")
    used = sorted({location for at in loads.values() for location in at})
    return _Route(
        carriers=sorted(carriers),
        loads={c: dict(sorted(loads[c].items())) for c in sorted(loads)},
        stop_bit={location: bit for bit, location in enumerate(used)},
        solver=solver,
    )


# --- Shapley -----------------------------------------------------------------------------------------


def shapley_values(route: SharedRoute, params: ShapleyParams | None = None) -> ShapleyDetail:
    """Shapley values of the route game (module docstring), exact or sampled per ``params``.

    Deterministic for a given route and params. Raises ``SplitError`` (a ``RoutingError``) for a route or
    params that cannot mean anything.
    """
    params = params or ShapleyParams()
    params.validate()
    game = _prepare(route, params.exact_max_stops)
    return _shapley(game, params)


@dataclass(frozen=True, slots=True)
class _Sampling:
    samples: int
    seed: int
    confidence: float
    std_error: dict[str, float]
    half_width: dict[str, float]


def _shapley(game: _Route, params: ShapleyParams) -> ShapleyDetail:
    # carriers without parcels are null players: 0, and leaving them out changes no one else's value
    players = sorted(game.loads)
    masks = [game.stop_mask(p) for p in players]
    sampling: _Sampling | None = None
    if len(players) <= params.exact_max_carriers or not players:
        found, coalitions = _shapley_exact(game, players, masks)
    else:
        found, coalitions, sampling = _shapley_sampled(game, players, masks, params)
    values = dict.fromkeys(game.carriers, Fraction(0)) | found
    return ShapleyDetail(
        method="exact" if sampling is None else "monte_carlo",
        values=values,
        grand_cost=game.cost(_union(masks)),
        coalitions=coalitions,
        stop_sets_solved=len(game.costs),
        exact_tours=game.solver.exact_solved,
        heuristic_tours=game.solver.heuristic_solved,
        negative=tuple(c for c, v in values.items() if v < 0),
        samples=None if sampling is None else sampling.samples,
        seed=None if sampling is None else sampling.seed,
        confidence=None if sampling is None else sampling.confidence,
        std_error={} if sampling is None else {c: sampling.std_error.get(c, 0.0) for c in game.carriers},
        half_width={} if sampling is None else {c: sampling.half_width.get(c, 0.0) for c in game.carriers},
    )


def _coalition(game: _Route, players: Sequence[str], members: int, stops: int, cost: int) -> CoalitionValue:
    names = tuple(p for b, p in enumerate(players) if members >> b & 1)
    return CoalitionValue(names, game.locations(stops), cost)


def _shapley_exact(
    game: _Route, players: list[str], masks: list[int]
) -> tuple[dict[str, Fraction], tuple[CoalitionValue, ...]]:
    n = len(players)
    size = 1 << n
    union = [0] * size
    value = [0] * size
    for members in range(1, size):
        low = members & -members
        union[members] = union[members ^ low] | masks[low.bit_length() - 1]
        value[members] = game.cost(union[members])
    # φ_i · n! = Σ_{S ∌ i} |S|! (n − |S| − 1)! (v(S ∪ i) − v(S)), in integers
    weight = [math.factorial(s) * math.factorial(n - s - 1) for s in range(n)]
    numerators = [0] * n
    for members in range(size):
        s = members.bit_count()
        if s == n:
            continue
        for b in range(n):
            if not members >> b & 1:
                numerators[b] += weight[s] * (value[members | 1 << b] - value[members])
    denominator = math.factorial(n)
    values = {p: Fraction(numerators[b], denominator) for b, p in enumerate(players)}
    return values, tuple(_coalition(game, players, m, union[m], value[m]) for m in range(size))


def _shapley_sampled(
    game: _Route, players: list[str], masks: list[int], params: ShapleyParams
) -> tuple[dict[str, Fraction], tuple[CoalitionValue, ...], _Sampling]:
    n = len(players)
    blocks = max(2, -(-params.samples // n))
    rng = random.Random(params.seed)
    order = list(range(n))
    sums = [0] * n  # Σ over blocks of the block's total marginal per carrier
    squares = [0] * n  # Σ over blocks of its square
    seen: dict[int, tuple[int, int]] = {0: (0, 0)}  # coalition -> (stop mask, cost)
    for _ in range(blocks):
        rng.shuffle(order)
        block = [0] * n
        # the n rotations of one random order: each carrier joins once at each position, so the block
        # mean is stratified by position (first or last is most of a marginal's spread)
        for shift in range(n):
            members = stops = before = 0
            for b in order[shift:] + order[:shift]:
                members |= 1 << b
                stops |= masks[b]
                cost = game.cost(stops)
                seen.setdefault(members, (stops, cost))
                block[b] += cost - before
                before = cost
        for b in range(n):
            sums[b] += block[b]
            squares[b] += block[b] * block[b]
    # block means x = block / n are independent draws; the estimate is their mean, its standard error
    # the sample standard deviation of the x over √blocks
    z = NormalDist().inv_cdf(1 - (1 - params.confidence) / (2 * n))
    std_error: dict[str, float] = {}
    half_width: dict[str, float] = {}
    for b, p in enumerate(players):
        variance = Fraction(blocks * squares[b] - sums[b] * sums[b], n * n * blocks * (blocks - 1))
        std_error[p] = math.sqrt(variance / blocks)
        half_width[p] = z * std_error[p]
    values = {p: Fraction(sums[b], blocks * n) for b, p in enumerate(players)}
    coalitions = tuple(_coalition(game, players, c, s, v) for c, (s, v) in sorted(seen.items()))
    return values, coalitions, _Sampling(blocks * n, params.seed, params.confidence, std_error, half_width)


def _union(masks: Sequence[int]) -> int:
    out = 0
    for mask in masks:
        out |= mask
    return out


# --- allocation --------------------------------------------------------------------------------------


def allocate(
    route: SharedRoute, total_fen: int, rule: SplitRule, *, shapley: ShapleyParams | None = None
) -> Allocation:
    """Split the route's actual cost ``total_fen`` (fen; negative: a credit) among its carriers by ``rule``.

    The parts sum to ``total_fen`` exactly; carriers without parcels pay 0. The explanation carries each
    carrier's pieces, grams, stops, stand-alone tour cost and rule weight, and for ``shapley`` the values
    and every coalition value used. ``shapley`` params apply to the ``shapley`` rule and to the exactness
    of the stand-alone tours (``exact_max_stops``).

    Raises ``SplitError`` (a ``RoutingError``) for a bad route (matrix, locations, loads), for a non-zero
    total with no carrier having parcels, or when the rule gives every carrier weight 0 (e.g.
    ``per_weight`` with no grams recorded): pick another rule then.
    """
    rule = SplitRule(rule)
    params = shapley or ShapleyParams()
    params.validate()
    game = _prepare(route, params.exact_max_stops)
    if total_fen != 0 and not game.loads:
        raise SplitError("loads", f"no carrier has parcels on the route; no one to charge {total_fen} fen")
    standalone = {carrier: game.cost(game.stop_mask(carrier)) for carrier in game.carriers}
    detail = _shapley(game, params) if rule is SplitRule.SHAPLEY else None

    stop_pieces: dict[int, int] = {}
    stop_grams: dict[int, int] = {}
    stop_carriers: dict[int, list[str]] = {}
    for carrier, at in game.loads.items():
        for location, (pieces, grams) in at.items():
            stop_pieces[location] = stop_pieces.get(location, 0) + pieces
            stop_grams[location] = stop_grams.get(location, 0) + grams
            stop_carriers.setdefault(location, []).append(carrier)

    weights: dict[str, Fraction] = {}
    for carrier in game.carriers:
        at = game.loads.get(carrier, {})
        pieces = sum(p for p, _ in at.values())
        grams = sum(g for _, g in at.values())
        if rule is SplitRule.PER_PIECE:
            weights[carrier] = Fraction(pieces)
        elif rule is SplitRule.PER_WEIGHT:
            weights[carrier] = Fraction(grams)
        elif rule is SplitRule.PER_STOP:
            weights[carrier] = sum((Fraction(p, stop_pieces[loc]) for loc, (p, _) in at.items()), Fraction(0))
        elif rule is SplitRule.STANDALONE:
            weights[carrier] = Fraction(standalone[carrier])
        else:
            assert detail is not None
            weights[carrier] = max(detail.values[carrier], Fraction(0))
    if total_fen != 0 and not any(weights.values()):
        raise SplitError("rule", f"{rule.value} gives every carrier weight 0; choose another rule")
    parts = largest_remainder(total_fen, weights)

    carriers = tuple(
        CarrierInputs(
            carrier=carrier,
            pieces=sum(p for p, _ in game.loads.get(carrier, {}).values()),
            weight_g=sum(g for _, g in game.loads.get(carrier, {}).values()),
            loads=tuple(StopLoad(loc, p, g) for loc, (p, g) in game.loads.get(carrier, {}).items()),
            standalone_cost=standalone[carrier],
            rule_weight=weights[carrier],
            part_fen=parts[carrier],
        )
        for carrier in game.carriers
    )
    stops = tuple(
        StopTotals(loc, stop_pieces[loc], stop_grams[loc], tuple(sorted(stop_carriers[loc])))
        for loc in sorted(stop_pieces)
    )
    return Allocation(
        rule=rule,
        total_fen=total_fen,
        parts_fen=parts,
        carriers=carriers,
        stops=stops,
        depot=route.depot,
        exact_max_stops=params.exact_max_stops,
        shapley=detail,
    )
