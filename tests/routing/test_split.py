"""Route cost split: exact to the fen for every rule, fair to symmetric carriers, Shapley checked by hand."""

from __future__ import annotations

import itertools
import json
import math
import random
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from routing.problem import RoutingError
from routing.split import (
    Allocation,
    CarrierStopLoad,
    ShapleyParams,
    SharedRoute,
    SplitError,
    SplitRule,
    allocate,
    largest_remainder,
    shapley_values,
)
from routing.tsp import tour_cost

CODES = ("ems", "jd", "jt", "sf", "sto", "yd", "yto", "zto")

# A line: depot at x = 0, station P at x = 10 km, station Q at x = 20 km; costs in km.
LINE = [[0, 10, 20], [10, 0, 10], [20, 10, 0]]
P, Q = 1, 2


def load(carrier: str, location: int, pieces: int = 1, weight_g: int = 1000) -> CarrierStopLoad:
    return CarrierStopLoad(carrier, location, pieces, weight_g)


def plane(points: list[tuple[int, int]]) -> list[list[int]]:
    """Straight-line metres between integer points, rounded (exactly mirror-symmetric for mirrored points)."""
    return [[round(math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)) for b in points] for a in points]


# --- largest remainder -------------------------------------------------------------------------------


def test_largest_remainder_hand_examples() -> None:
    """10 fen over three equal weights: 3.33 each, the odd fen to the first key; credits mirror debits."""
    assert largest_remainder(10, {"b": 1, "a": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    assert largest_remainder(-10, {"b": 1, "a": 1, "c": 1}) == {"a": -4, "b": -3, "c": -3}
    # 100 by 1 : 2 : 0 → quotas 33.33, 66.67, 0: floors 33 + 66, the odd fen to b (remainder 2/3)
    assert largest_remainder(100, {"a": 1, "b": 2, "z": 0}) == {"a": 33, "b": 67, "z": 0}
    # fractions: 1/2 : 1/3 : 1/6 of 7 fen → 3.5, 2.33, 1.17 → 3, 2, 1 and the odd fen to a (1/2 left)
    weights = {"a": Fraction(1, 2), "b": Fraction(1, 3), "c": Fraction(1, 6)}
    assert largest_remainder(7, weights) == {"a": 4, "b": 2, "c": 1}


def test_largest_remainder_zero_total_and_all_zero_weights() -> None:
    """0 fen gives everyone 0; all-zero weights raise unless an equal split is asked for."""
    assert largest_remainder(0, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert largest_remainder(0, {}) == {}
    with pytest.raises(SplitError, match="every weight is 0"):
        largest_remainder(5, {"a": 0, "b": 0})
    assert largest_remainder(5, {"a": 0, "b": 0}, equal_if_all_zero=True) == {"a": 3, "b": 2}
    with pytest.raises(SplitError, match="no one"):
        largest_remainder(5, {})


@pytest.mark.parametrize(
    ("total", "weights", "field"),
    [
        (10, {"a": -1, "b": 2}, "weights['a']"),
        (10, {"a": 0.5}, "weights['a']"),
        (10, {"a": True}, "weights['a']"),
        (10.0, {"a": 1}, "total_fen"),
    ],
)
def test_largest_remainder_refuses_what_is_not_exact(total, weights, field) -> None:
    """Negative, float or boolean weights and a non-integer total raise ``SplitError`` naming the input."""
    with pytest.raises(SplitError) as caught:
        largest_remainder(total, weights)
    assert caught.value.field == field
    assert isinstance(caught.value, RoutingError)


weight_values = st.one_of(
    st.integers(0, 10**6), st.fractions(min_value=0, max_value=1000, max_denominator=50)
)
weight_maps = st.dictionaries(st.sampled_from(CODES), weight_values, min_size=1).filter(
    lambda w: any(w.values())
)


@given(st.integers(-(10**9), 10**9), weight_maps)
def test_largest_remainder_invariants(total, weights) -> None:
    """Parts sum to the total; each is its quota rounded down or up; zero weights get 0; equal weights are
    within 1 fen with the first key never behind; the result ignores the mapping's order; a credit is the
    negated debit; scaling every weight changes nothing."""
    parts = largest_remainder(total, weights)
    assert sum(parts.values()) == total
    assert list(parts) == sorted(weights)
    weight_sum = sum(Fraction(w) for w in weights.values())
    for key, part in parts.items():
        quota = Fraction(total) * Fraction(weights[key]) / weight_sum
        assert math.floor(quota) <= part <= math.ceil(quota)
        if weights[key] == 0:
            assert part == 0
    for a, b in itertools.combinations(sorted(weights), 2):
        if weights[a] == weights[b]:
            assert abs(parts[a] - parts[b]) <= 1
            assert abs(parts[a]) >= abs(parts[b])
    assert largest_remainder(total, dict(reversed(list(weights.items())))) == parts
    assert largest_remainder(-total, weights) == {k: -v for k, v in parts.items()}
    assert largest_remainder(total, {k: Fraction(w) * 7 for k, w in weights.items()}) == parts


@given(st.integers(0, 10**7), weight_maps, st.data())
def test_largest_remainder_more_weight_never_means_less(total, weights, data) -> None:
    """Raising one key's weight, the others unchanged, never lowers its part of a positive total."""
    key = data.draw(st.sampled_from(sorted(weights)))
    extra = data.draw(st.integers(1, 10**6))
    before = largest_remainder(total, weights)[key]
    after = largest_remainder(total, {**weights, key: weights[key] + extra})[key]
    assert after >= before


# --- hand-computed route examples --------------------------------------------------------------------


def three_carriers() -> SharedRoute:
    """On LINE: A has 2 pieces at P; B 1 at Q; C 1 at P and 3 at Q; D shares the route with nothing today."""
    return SharedRoute(
        matrix=LINE,
        depot=0,
        stops=(P, Q),
        loads=(load("A", P, 2, 2000), load("B", Q, 1, 500), load("C", P, 1, 100), load("C", Q, 3, 300)),
        carriers=("D",),
    )


def test_per_piece_by_hand() -> None:
    """Pieces 2 : 1 : 4 of 1000 fen → 285.71, 142.86, 571.43; floors 998, the 2 fen to B (.857), A (.714)."""
    allocation = allocate(three_carriers(), 1000, SplitRule.PER_PIECE)
    assert allocation.parts_fen == {"A": 286, "B": 143, "C": 571, "D": 0}


def test_per_weight_by_hand() -> None:
    """Grams 2000 : 500 : 400 of 1000 fen → 689.66, 172.41, 137.93; floors 998, the 2 fen to A, B."""
    allocation = allocate(three_carriers(), 1000, SplitRule.PER_WEIGHT)
    assert allocation.parts_fen == {"A": 690, "B": 172, "C": 138, "D": 0}


def test_per_stop_by_hand() -> None:
    """500 fen per stop. P: A 2 of 3 pieces, C 1 of 3. Q: B 1 of 4, C 3 of 4. Weights A 2/3, B 1/4,
    C 1/3 + 3/4 = 13/12 (sum 2) → 333.33, 125, 541.67 → A 333, B 125, C 542 (the odd fen to C, .667)."""
    allocation = allocate(three_carriers(), 1000, SplitRule.PER_STOP)
    assert allocation.parts_fen == {"A": 333, "B": 125, "C": 542, "D": 0}
    weights = {c.carrier: c.rule_weight for c in allocation.carriers}
    assert weights == {"A": Fraction(2, 3), "B": Fraction(1, 4), "C": Fraction(13, 12), "D": 0}


def test_standalone_by_hand() -> None:
    """Alone, A drives 0→P→0 = 20 km, B and C 0→Q→0 = 40 km: 20 : 40 : 40 of 1000 fen."""
    allocation = allocate(three_carriers(), 1000, SplitRule.STANDALONE)
    assert allocation.parts_fen == {"A": 200, "B": 400, "C": 400, "D": 0}
    assert {c.carrier: c.standalone_cost for c in allocation.carriers} == {"A": 20, "B": 40, "C": 40, "D": 0}


def test_shapley_by_hand() -> None:
    """v(A) = 20, v(B) = v(C) = 40, and every coalition of two or more visits Q (so P on the way): 40.

    φ_A: first (prob 1/3) adds 20; after anyone else adds 0            → 20/3
    φ_B: first (1/3) adds 40; after A only (1/6) adds 20; else 0        → 40/3 + 20/6 = 50/3
    φ_C: the same as B                                                  → 50/3
    Sum 120/3 = 40 = v(N). The real route costs 1000 fen (not 40): quotas 1000 × 20/120 = 166.67,
    416.67, 416.67; floors 998; equal remainders, so the 2 fen go to A and B by key: 167, 417, 416.
    D has nothing on the route: a null player, 0.
    """
    allocation = allocate(three_carriers(), 1000, SplitRule.SHAPLEY)
    assert allocation.shapley is not None
    assert dict(allocation.shapley.values) == {
        "A": Fraction(20, 3),
        "B": Fraction(50, 3),
        "C": Fraction(50, 3),
        "D": 0,
    }
    assert allocation.shapley.grand_cost == 40
    assert allocation.parts_fen == {"A": 167, "B": 417, "C": 416, "D": 0}
    assert allocation.shapley.coalitions_evaluated == 8  # 2^3 (D is left out of the game)
    assert allocation.shapley.stop_sets_solved == 3  # {P}, {Q}, {P, Q}


def test_carrier_sharing_all_its_stops_is_not_a_null_player() -> None:
    """A at P and Q, B only at P (which A's van passes anyway). v(A) = 40, v(B) = 20, v(AB) = 40.
    φ_B = ½·20 (first) + ½·0 = 10, φ_A = ½·40 + ½·(40 − 20) = 30: B pays for the stop when it alone would
    need it. 900 fen → 675 : 225."""
    route = SharedRoute(LINE, 0, (P, Q), (load("A", P), load("A", Q), load("B", P)))
    allocation = allocate(route, 900, SplitRule.SHAPLEY)
    assert allocation.shapley is not None
    assert dict(allocation.shapley.values) == {"A": 30, "B": 10}
    assert allocation.parts_fen == {"A": 675, "B": 225}


def test_carrier_at_the_depot_is_a_null_player() -> None:
    """Parcels for the station at the depot itself add no driving to any coalition: φ = 0, pays 0."""
    route = SharedRoute(LINE, 0, (0, P, Q), (load("A", P), load("B", Q), load("C", 0, 50)))
    allocation = allocate(route, 1000, SplitRule.SHAPLEY)
    assert allocation.shapley is not None
    assert allocation.shapley.values["C"] == 0
    assert allocation.parts_fen["C"] == 0
    assert allocation.parts_fen == {"A": 250, "B": 750, "C": 0}  # φ_A = 10, φ_B = 30


def test_credit_is_split_like_the_debit() -> None:
    """A refund of 1000 fen is the negated split of a 1000 fen charge, for every rule."""
    for rule in SplitRule:
        debit = allocate(three_carriers(), 1000, rule).parts_fen
        credit = allocate(three_carriers(), -1000, rule).parts_fen
        assert credit == {k: -v for k, v in debit.items()}


def test_payload_is_json_and_checkable() -> None:
    """The payload serialises; a carrier can recompute every coalition's value with ``tour_cost``."""
    route = three_carriers()
    allocation = allocate(route, 1000, SplitRule.SHAPLEY)
    payload = json.loads(json.dumps(allocation.to_payload()))
    assert payload["parts_fen"] == {"A": 167, "B": 417, "C": 416, "D": 0}
    assert payload["shapley"]["values"]["B"] == "50/3"
    assert len(payload["shapley"]["coalitions"]) == 8
    for coalition in payload["shapley"]["coalitions"]:
        stops = coalition["stops"]
        assert tour_cost(LINE, 0, stops, exact_max_stops=payload["exact_max_stops"]) == coalition["cost"]
    carrier_c = next(c for c in payload["carriers"] if c["carrier"] == "C")
    assert carrier_c["loads"] == [
        {"location": P, "pieces": 1, "weight_g": 100},
        {"location": Q, "pieces": 3, "weight_g": 300},
    ]


@pytest.mark.parametrize(
    ("route", "total", "rule", "field"),
    [
        (SharedRoute(LINE, 0, (P,), (load("A", Q),)), 100, SplitRule.PER_PIECE, "loads[0].location"),
        (SharedRoute(LINE, 0, (P,), (load("A", P, 0),)), 100, SplitRule.PER_PIECE, "loads[0].pieces"),
        (SharedRoute(LINE, 0, (P,), (load("A", P, 1, -5),)), 100, SplitRule.PER_PIECE, "loads[0].weight_g"),
        (SharedRoute(LINE, 0, (P,), (load("", P),)), 100, SplitRule.PER_PIECE, "loads[0].carrier"),
        (SharedRoute(LINE, 0, (P, P), ()), 100, SplitRule.PER_PIECE, "stops"),
        (SharedRoute(LINE, 0, (7,), ()), 100, SplitRule.PER_PIECE, "stops"),
        (SharedRoute(LINE, 0, (P,), (), carriers=("A",)), 100, SplitRule.PER_PIECE, "loads"),
        (SharedRoute(LINE, 0, (P,), (load("A", P, 1, 0),)), 100, SplitRule.PER_WEIGHT, "rule"),
        (SharedRoute(LINE, 0, (0,), (load("A", 0),)), 100, SplitRule.STANDALONE, "rule"),
        (SharedRoute([[0, -1], [1, 0]], 0, (1,), (load("A", 1),)), 100, SplitRule.PER_PIECE, "matrix[0][1]"),
    ],
)
def test_routes_that_mean_nothing_are_refused(route, total, rule, field) -> None:
    """Bad stops, loads or matrices, a charge with no one to charge, and a rule with every weight 0 raise
    ``SplitError`` / ``RoutingError`` naming the input."""
    with pytest.raises(RoutingError) as caught:
        allocate(route, total, rule)
    assert caught.value.field == field


def test_zero_total_needs_no_parcels() -> None:
    """Splitting 0 fen over an empty route gives every named carrier 0."""
    allocation = allocate(SharedRoute(LINE, 0, (P,), (), carriers=("A", "B")), 0, SplitRule.SHAPLEY)
    assert allocation.parts_fen == {"A": 0, "B": 0}


def test_bad_shapley_params_are_refused() -> None:
    """Out-of-range knobs raise ``SplitError`` naming the knob."""
    for params, field in [
        (ShapleyParams(exact_max_carriers=17), "exact_max_carriers"),
        (ShapleyParams(samples=0), "samples"),
        (ShapleyParams(confidence=1.0), "confidence"),
        (ShapleyParams(exact_max_stops=17), "exact_max_stops"),
    ]:
        with pytest.raises(SplitError) as caught:
            shapley_values(three_carriers(), params)
        assert caught.value.field == field


# --- properties --------------------------------------------------------------------------------------


@st.composite
def routes(draw: st.DrawFn, max_stops: int = 7, max_carriers: int = 5) -> SharedRoute:
    """Up to ``max_stops`` stations at distinct points (Euclidean metres), up to ``max_carriers`` carriers
    each with parcels (≥ 1 g) at some of them, and one carrier that shares the route with nothing today."""
    size = draw(st.integers(2, max_stops + 1))
    points = draw(
        st.lists(
            st.tuples(st.integers(0, 5000), st.integers(0, 5000)), min_size=size, max_size=size, unique=True
        )
    )
    stops = tuple(range(1, size))
    carriers = draw(st.lists(st.sampled_from(CODES[:-1]), min_size=1, max_size=max_carriers, unique=True))
    loads = []
    for carrier in carriers:
        mine = draw(st.lists(st.sampled_from(stops), min_size=1, max_size=len(stops), unique=True))
        for stop in mine:
            loads.append(load(carrier, stop, draw(st.integers(1, 30)), draw(st.integers(1, 50_000))))
    return SharedRoute(plane(points), 0, stops, tuple(loads), carriers=(CODES[-1],))


totals = st.integers(-(10**7), 10**7)


@settings(deadline=None, max_examples=60)
@given(routes(), totals, st.sampled_from(list(SplitRule)))
def test_parts_sum_exactly_and_idle_carriers_pay_nothing(route, total, rule) -> None:
    """For every rule: the parts sum to the total to the fen, and the carrier with nothing on the route
    pays 0; the explanation lists every carrier with its part."""
    allocation = allocate(route, total, rule)
    assert sum(allocation.parts_fen.values()) == total
    assert allocation.parts_fen[CODES[-1]] == 0
    assert [c.part_fen for c in allocation.carriers] == list(allocation.parts_fen.values())
    if total > 0:
        assert all(part >= 0 for part in allocation.parts_fen.values())


@settings(deadline=None, max_examples=60)
@given(routes(max_carriers=4), st.integers(0, 10**7), st.sampled_from(list(SplitRule)))
def test_identical_carriers_pay_the_same_within_a_fen(route, total, rule) -> None:
    """A twin carrier with the same parcels at the same stops as another gets the same rule weight exactly
    (Shapley values included), so their parts differ by at most 1 fen and the first code is never behind."""
    original = route.loads[0].carrier
    twin = "zz-twin"
    twin_loads = tuple(
        CarrierStopLoad(twin, x.location, x.pieces, x.weight_g) for x in route.loads if x.carrier == original
    )
    allocation = allocate(
        SharedRoute(route.matrix, route.depot, route.stops, route.loads + twin_loads), total, rule
    )
    weights = {c.carrier: c.rule_weight for c in allocation.carriers}
    assert weights[original] == weights[twin]
    assert 0 <= allocation.parts_fen[original] - allocation.parts_fen[twin] <= 1


@st.composite
def mirrored_routes(draw: st.DrawFn) -> tuple[SharedRoute, str, str]:
    """Stations mirrored across the x axis through the depot; carrier "a" has parcels above the axis,
    "b" the same parcels at the mirror images; others have parcels at both a point and its mirror."""
    half = draw(
        st.lists(
            st.tuples(st.integers(-3000, 3000), st.integers(1, 3000)), min_size=1, max_size=5, unique=True
        )
    )
    points = [(0, 0), *half, *((x, -y) for x, y in half)]
    n = len(half)
    mirror = {1 + i: 1 + n + i for i in range(n)}
    stops = tuple(range(1, 2 * n + 1))
    loads: list[CarrierStopLoad] = []
    mine = draw(st.lists(st.sampled_from(sorted(mirror)), min_size=1, max_size=n, unique=True))
    for stop in mine:
        pieces, grams = draw(st.integers(1, 9)), draw(st.integers(1, 9000))
        loads += [load("a", stop, pieces, grams), load("b", mirror[stop], pieces, grams)]
    for other in draw(st.lists(st.sampled_from(("c", "d")), unique=True)):
        for stop in draw(st.lists(st.sampled_from(sorted(mirror)), min_size=1, max_size=n, unique=True)):
            pieces = draw(st.integers(1, 9))
            loads += [load(other, stop, pieces), load(other, mirror[stop], pieces)]
    return SharedRoute(plane(points), 0, stops, tuple(loads)), "a", "b"


@settings(deadline=None, max_examples=60)
@given(mirrored_routes(), st.integers(0, 10**7))
def test_mirror_image_carriers_get_equal_shapley_values(case, total) -> None:
    """With the geometry symmetric and every tour solved exactly (≤ 10 stops), carriers at mirror-image
    stops have equal stand-alone costs and equal Shapley values; their parts differ by at most 1 fen."""
    route, a, b = case
    allocation = allocate(route, total, SplitRule.SHAPLEY)
    assert allocation.shapley is not None
    assert allocation.shapley.heuristic_tours == 0
    assert allocation.shapley.values[a] == allocation.shapley.values[b]
    standalone = {c.carrier: c.standalone_cost for c in allocation.carriers}
    assert standalone[a] == standalone[b]
    assert abs(allocation.parts_fen[a] - allocation.parts_fen[b]) <= 1


def by_permutations(allocation: Allocation) -> dict[str, Fraction]:
    """Shapley values straight from the definition: the average marginal cost over all join orders."""
    assert allocation.shapley is not None
    value = {frozenset(c.carriers): c.cost for c in allocation.shapley.coalitions}
    players = sorted(c.carrier for c in allocation.carriers if c.pieces)
    totals = dict.fromkeys(players, 0)
    orders = list(itertools.permutations(players))
    for order in orders:
        for k, player in enumerate(order):
            totals[player] += value[frozenset(order[: k + 1])] - value[frozenset(order[:k])]
    return {p: Fraction(t, len(orders)) for p, t in totals.items()}


@settings(deadline=None, max_examples=60)
@given(routes(max_stops=8, max_carriers=4), st.integers(1, 10**7))
def test_shapley_is_efficient_and_matches_the_definition(route, total) -> None:
    """The values sum to v(grand coalition) exactly, equal the average over all join orders, and the parts
    are the total split in proportion to them (negatives, from heuristic noise, charged 0)."""
    allocation = allocate(route, total, SplitRule.SHAPLEY)
    detail = allocation.shapley
    assert detail is not None
    assert sum(detail.values.values()) == detail.grand_cost
    all_stops = {x.location for x in route.loads}
    assert detail.grand_cost == tour_cost(route.matrix, 0, all_stops)
    for carrier, value in by_permutations(allocation).items():
        assert detail.values[carrier] == value
    charged = {k: max(v, Fraction(0)) for k, v in detail.values.items()}
    assume(any(charged.values()))
    assert dict(allocation.parts_fen) == largest_remainder(total, charged)


@settings(deadline=None, max_examples=60)
@given(
    routes(), st.integers(0, 10**7), st.sampled_from([SplitRule.PER_PIECE, SplitRule.PER_WEIGHT]), st.data()
)
def test_one_more_parcel_never_lowers_the_share(route, total, rule, data) -> None:
    """Under per_piece and per_weight, adding a parcel for a carrier never lowers that carrier's part."""
    carrier = data.draw(st.sampled_from(sorted({x.carrier for x in route.loads})))
    stop = data.draw(st.sampled_from(route.stops))
    parcel = load(carrier, stop, data.draw(st.integers(1, 5)), data.draw(st.integers(0, 30_000)))
    before = allocate(route, total, rule).parts_fen[carrier]
    bigger = SharedRoute(route.matrix, route.depot, route.stops, (*route.loads, parcel), route.carriers)
    assert allocate(bigger, total, rule).parts_fen[carrier] >= before


def six_carriers() -> SharedRoute:
    """A seeded route: 10 stations in a 20 km square, 6 carriers each at 2 to 5 of them."""
    rng = random.Random(6)
    points = [(10_000, 10_000)] + [(rng.randint(0, 20_000), rng.randint(0, 20_000)) for _ in range(10)]
    loads = []
    for carrier in CODES[:6]:
        for stop in rng.sample(range(1, 11), rng.randint(2, 5)):
            loads.append(load(carrier, stop, rng.randint(1, 20)))
    return SharedRoute(plane(points), 0, tuple(range(1, 11)), tuple(loads))


def test_monte_carlo_converges_to_exact_within_its_bound() -> None:
    """6 carriers, 1200 sampled orders (200 blocks of 6 rotations), seed 0: every estimate lies within its
    reported simultaneous 95 % half-width of the exact value, the estimates sum to v(N) exactly, and the
    same seed gives the same figures."""
    route = six_carriers()
    exact = shapley_values(route)
    params = ShapleyParams(exact_max_carriers=0, samples=1200, seed=0)
    sampled = shapley_values(route, params)
    assert exact.method == "exact"
    assert sampled.method == "monte_carlo"
    assert sampled.samples == 1200
    assert sum(sampled.values.values()) == sampled.grand_cost == exact.grand_cost
    for carrier, value in exact.values.items():
        assert abs(float(sampled.values[carrier] - value)) <= sampled.half_width[carrier]
        assert sampled.half_width[carrier] < 0.1 * float(value)
    assert shapley_values(route, params) == sampled


def test_monte_carlo_split_sums_exactly() -> None:
    """The sampled Shapley rule still splits the total to the fen."""
    params = ShapleyParams(exact_max_carriers=2, samples=60, seed=4)
    allocation = allocate(six_carriers(), 123_457, SplitRule.SHAPLEY, shapley=params)
    assert allocation.shapley is not None
    assert allocation.shapley.method == "monte_carlo"
    assert sum(allocation.parts_fen.values()) == 123_457
