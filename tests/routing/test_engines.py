"""The engines on their own: exact translations (no plan needs repair), parameters, realise's repairs."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings

from routing.engines import EngineParams, Plan, get_engine, realise, required_penalty
from routing.engines import pyvrp as pyvrp_engine
from routing.explain import solo_reason
from routing.problem import Depot, Problem, RoutingError, Stop, TimeWindow
from tests.routing.factories import problem, small_problems, stop, vehicle


def _engine_params(limit: int = 50, **fields: object) -> EngineParams:
    now = time.monotonic()
    return EngineParams(deadline=now + 60, started_at=now, solution_limit=limit, **fields)  # type: ignore[arg-type]


def _servable(prob: Problem) -> Problem:
    return Problem(
        depots=prob.depots,
        stops=tuple(s for s in prob.stops if solo_reason(prob, s) is None),
        vehicles=prob.vehicles,
        distance_m=prob.distance_m,
        duration_s=prob.duration_s,
    )


@pytest.mark.parametrize("engine", ["ortools", "pyvrp", "vroom"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prob=small_problems())
def test_a_plan_the_engine_calls_feasible_needs_no_repair(engine, prob):
    """The translation is exact: whatever the engine returns as a feasible plan keeps every constraint as
    ``realise`` (and then the checker) reads them — nothing is taken off it."""
    prob = _servable(prob)
    assume(get_engine(engine).supports(prob))
    plan = get_engine(engine).run(prob, _engine_params(limit=30), None)
    if engine == "pyvrp" and plan.objective is None:
        return  # PyVRP found nothing feasible (the fleet is short): repaired downstream by design
    assert realise(prob, plan).removed == ()


def test_pyvrp_translation_adds_cold_and_pin_dimensions():
    """Refrigeration is one more dimension, each pinned vehicle one more; only refrigerated vehicles and
    the pinned vehicle carry them; identical vehicles share a vehicle type."""
    prob = problem(
        [(0, 0), (1000, 0), (2000, 0)],
        [
            stop("cold", 1, weight=5, refrigerated=True),
            Stop(id="pin", location=2, delivery=(0, 7, 1), pickup=(0, 0, 0), pinned_vehicle="c"),
        ],
        [vehicle("a"), vehicle("b"), vehicle("c"), vehicle("f", refrigerated=True)],
    )
    translation = pyvrp_engine.translate(prob)
    data = translation.data
    assert data.num_load_dimensions == 3 + 2
    assert sorted(translation.type_vehicles) == [("a", "b"), ("c",), ("f",)]
    capacities = {
        names: vt.capacity[3:]
        for names, vt in zip(translation.type_vehicles, data.vehicle_types(), strict=True)
    }
    assert capacities == {("a", "b"): [0, 0], ("c",): [0, 1], ("f",): [1, 0]}


def test_pyvrp_translation_leaves_out_dimensions_nobody_loads():
    """A load dimension no stop delivers or picks up in is not translated (it constrains nothing and each
    one slows every move); the others keep their order, capacities with them."""
    prob = problem(
        [(0, 0), (1000, 0), (2000, 0)],
        [
            Stop(id="a", location=1, delivery=(5, 0, 0), pickup=(0, 0, 0)),
            Stop(id="b", location=2, delivery=(0, 0, 0), pickup=(0, 0, 2)),
        ],
        [vehicle("v", capacity_g=40)],
    )
    data = pyvrp_engine.translate(prob).data
    assert data.num_load_dimensions == 2
    assert data.vehicle_type(0).capacity == [40, 10**6]
    assert [(c.delivery, c.pickup) for c in data.clients()] == [([5, 0], [0, 0]), ([0, 0], [0, 2])]
    empty = problem([(0, 0), (1000, 0)], [stop("e", 1)], [vehicle("v")])
    assert pyvrp_engine.translate(empty).data.num_load_dimensions == 1


def test_pyvrp_reload_time_only_between_trips():
    """Each (depot, reload time) is its own PyVRP depot whose service is the reload; the first trip's extra
    reload is given back by opening the shift that much earlier, all times shifted to stay ≥ 0."""
    prob = problem(
        [(0, 0), (1000, 0)],
        [stop("s", 1)],
        [
            vehicle("a", max_trips=2, reload_s=600, shift=TimeWindow(100, 5000), max_duration_s=3000),
            vehicle("b"),
        ],
    )
    translation = pyvrp_engine.translate(prob)
    assert translation.offset_s == 600
    depots = translation.data.depots()
    assert [(d.service_duration, d.tw_early) for d in depots] == [(600, 0), (0, 600)]
    a = translation.data.vehicle_types()[0]
    assert (a.tw_early, a.tw_late, a.shift_duration, a.max_reloads) == (100, 5600, 3600, 1)


def test_pyvrp_does_not_take_a_non_zero_diagonal():
    """PyVRP needs zero diagonals; OR-Tools takes any matrix."""
    prob = problem([(0, 0), (1000, 0)], [stop("s", 1)], [vehicle("v")])
    odd = Problem(
        depots=prob.depots,
        stops=prob.stops,
        vehicles=prob.vehicles,
        distance_m=prob.distance_m,
        duration_s=((0, 100), (100, 7)),
    )
    assert get_engine("pyvrp").supports(prob)
    assert not get_engine("pyvrp").supports(odd)
    assert get_engine("ortools").supports(odd)


def test_ortools_names_unknown_strategies():
    """An unknown first solution strategy or metaheuristic is a RoutingError naming the parameter."""
    prob = problem([(0, 0), (1000, 0)], [stop("s", 1)], [vehicle("v")])
    with pytest.raises(RoutingError, match="first_solution"):
        get_engine("ortools").run(prob, _engine_params(first_solution="NOPE"), None)
    with pytest.raises(RoutingError, match="metaheuristic"):
        get_engine("ortools").run(prob, _engine_params(metaheuristic="NOPE"), None)


def test_engines_are_deterministic_under_a_solution_limit():
    """Same seed and limit, same plan — the tests' stopping rule."""
    prob = problem(
        [(0, 0), (1000, 0), (0, 2000), (3000, 1000), (2500, 2500), (500, 4000)],
        [stop(f"s{i}", i, weight=3) for i in range(1, 6)],
        [vehicle("v1", capacity_g=6), vehicle("v2", capacity_g=9)],
    )
    for engine in ("ortools", "pyvrp"):
        plans = [
            get_engine(engine).run(prob, _engine_params(limit=40, seed=3), None).routes for _ in range(2)
        ]
        assert plans[0] == plans[1]


def _recorder(points: list[tuple[float, int]]) -> Callable[[float, int], None]:
    def record(elapsed: float, objective: int) -> None:
        points.append((elapsed, objective))

    return record


def test_progress_is_reported_as_improvements():
    """Each engine reports (seconds, objective) with a strictly falling objective, the same list it keeps."""
    prob = problem(
        [(0, 0), (1000, 0), (0, 2000), (3000, 1000), (2500, 2500), (500, 4000), (4000, 0)],
        [stop(f"s{i}", i) for i in range(1, 7)],
        [vehicle("v1")],
    )
    for engine in ("ortools", "pyvrp"):
        seen: list[tuple[float, int]] = []
        plan = get_engine(engine).run(prob, _engine_params(limit=100), _recorder(seen))
        assert seen == list(plan.progress)
        assert seen
        assert all(b[1] < a[1] for a, b in zip(seen, seen[1:], strict=False))
        assert seen[-1][1] == plan.objective


def test_required_penalty_exceeds_any_plan():
    """Leaving a required stop out costs more than every vehicle driving every arc it could."""
    prob = problem(
        [(0, 0), (1000, 0), (5000, 0)], [stop("a", 1), stop("b", 2)], [vehicle("v", fixed_cost_fen=100)]
    )
    longest = max(max(row) for row in prob.distance_m)
    assert required_penalty(prob) > (len(prob.stops) + 1) * longest * 1000 + 100 * 1000


def test_realise_takes_off_what_breaks_the_rules():
    """A plan with an unknown stop, a stop twice, an ineligible stop and an overloaded trip: realise
    keeps the first visit, drops the unknown, and takes off the ineligible and the overload."""
    prob = problem(
        [(0, 0), (1000, 0), (2000, 0), (3000, 0)],
        [stop("a", 1, weight=6), stop("b", 2, weight=6), stop("cold", 3, refrigerated=True)],
        [vehicle("v", capacity_g=10)],
    )
    plan = Plan(engine="test", routes=(("v", (("a", "ghost", "b", "a", "cold"),)),))
    realised = realise(prob, plan)
    assert sorted(realised.removed) == ["b", "cold"] or sorted(realised.removed) == ["a", "cold"]
    (route,) = realised.routes
    assert len(route.trips[0].visits) == 1


def test_realise_leaves_as_late_as_waiting_allows():
    """A stop whose window opens late: the vehicle leaves so as to arrive as it opens, not at dawn."""
    prob = problem([(0, 0), (1000, 0)], [stop("s", 1, window=TimeWindow(36_000, 37_000))], [vehicle("v")])
    realised = realise(prob, Plan(engine="test", routes=(("v", (("s",),)),)))
    trip = realised.routes[0].trips[0]
    assert trip.depart_s == 36_000 - 100
    assert trip.visits[0].arrival_s == trip.visits[0].start_s == 36_000
    assert realised.routes[0].duration_s == 200


def test_several_depots_each_with_its_own_hours():
    """Vehicles from two depots with different hours: both engines keep each depot's opening."""
    depots = [Depot("early", 0, TimeWindow(0, 86_400)), Depot("late", 1, TimeWindow(30_000, 86_400))]
    prob = problem(
        [(0, 0), (20_000, 0), (1000, 0), (19_000, 0)],
        [stop("a", 2), stop("b", 3)],
        [
            vehicle("e", start_depot="early", end_depot="early"),
            vehicle("l", start_depot="late", end_depot="late"),
        ],
        depots=depots,
    )
    for engine in ("ortools", "pyvrp"):
        plan = get_engine(engine).run(prob, _engine_params(), None)
        realised = realise(prob, plan)
        assert realised.removed == ()
        for route in realised.routes:
            if route.vehicle_id == "l":
                assert route.trips[0].depart_s >= 30_000


def test_vroom_takes_pickups_cold_stops_and_pins_as_the_problem_says():
    """Cold stops only on the refrigerated van, the pinned stop only on its vehicle, a pickup carried back:
    VROOM's plan needs no repair and serves every stop."""
    prob = problem(
        [(0, 0), (1000, 0), (0, 1000), (1000, 1000)],
        [
            stop("cold", 1, weight=100, refrigerated=True),
            stop("pinned", 2, weight=100, pinned_vehicle="van"),
            stop("produce", 3, weight=100, pickup_weight=900),
        ],
        [vehicle("van", capacity_g=1000), vehicle("fridge", capacity_g=1000, refrigerated=True)],
    )
    assert get_engine("vroom").supports(prob)
    plan = get_engine("vroom").run(prob, _engine_params(), None)
    served = {stop_id: vehicle_id for vehicle_id, trips in plan.routes for trip in trips for stop_id in trip}
    assert served["cold"] == "fridge"
    assert served["pinned"] == "van"
    assert set(served) == {"cold", "pinned", "produce"}
    assert realise(prob, plan).removed == ()


def test_vroom_declines_what_it_cannot_say():
    """Different costs per km, or a maximum duration shorter than the shift (VROOM's limit counts driving
    only), are left to the other engines."""
    base = problem([(0, 0), (1000, 0)], [stop("s", 1, weight=10)], [vehicle("a"), vehicle("b")])
    assert get_engine("vroom").supports(base)
    mixed = problem(
        [(0, 0), (1000, 0)],
        [stop("s", 1, weight=10)],
        [vehicle("a", cost_per_km_fen=100), vehicle("b", cost_per_km_fen=150)],
    )
    assert not get_engine("vroom").supports(mixed)
    short_day = problem([(0, 0), (1000, 0)], [stop("s", 1, weight=10)], [vehicle("a", max_duration_s=600)])
    assert not get_engine("vroom").supports(short_day)
