"""solve(): optima on small instances, each constraint kept, each reason for a stop left out, bad input."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

from routing.engines import Engine, get_engine
from routing.problem import Depot, Problem, RoutingError, Stop, TimeWindow, UnassignedReason
from routing.solver import SolveParams, _shares, choose_engines, plan_runs, solve
from tests.routing.factories import (
    brute_force,
    objective_milli,
    params,
    plane,
    problem,
    small_problems,
    solved,
    stop,
    vehicle,
)

ENGINES = ["ortools", "pyvrp"]


def _random_points(seed: int, n: int) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(0, 20_000), rng.randint(0, 20_000)) for _ in range(n + 1)]


def _reason(solution, stop_id):
    return next(u for u in solution.unassigned if u.stop_id == stop_id).reason


def _visits(solution, vehicle_id):
    route = next(r for r in solution.routes if r.vehicle_id == vehicle_id)
    return [v.stop_id for t in route.trips for v in t.visits]


# --- optima ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", [1, 2])
def test_single_vehicle_tour_is_the_brute_force_optimum(engine, seed):
    """Seven stops, one vehicle: the plan costs exactly the best of all 5040 orders."""
    points = _random_points(seed, 7)
    prob = problem(points, [stop(f"s{i}", i) for i in range(1, 8)], [vehicle("v1", fixed_cost_fen=500)])
    solution = solved(prob, params(engine, limit=500))
    assert solution.feasible
    assert objective_milli(prob, solution) == brute_force(prob)


@pytest.mark.parametrize("engine", ENGINES)
def test_capacitated_two_vehicles_is_the_brute_force_optimum(engine):
    """Six stops, two vehicles of different size and cost: the optimum over every split and order."""
    points = _random_points(7, 6)
    stops = [stop(f"s{i}", i, weight=w) for i, w in zip(range(1, 7), [40, 30, 30, 20, 50, 30], strict=True)]
    vehicles = [
        vehicle("big", capacity_g=120, cost_per_km_fen=1500, fixed_cost_fen=2000),
        vehicle("small", capacity_g=90, cost_per_km_fen=1000, fixed_cost_fen=1000),
    ]
    prob = problem(points, stops, vehicles)
    solution = solved(prob, params(engine, limit=500))
    assert solution.feasible
    assert objective_milli(prob, solution) == brute_force(prob)


@pytest.mark.parametrize("engine", ENGINES)
def test_time_windows_optimum_waits_where_it_must(engine):
    """Six stops with windows on one vehicle: the optimum order is forced by the windows, the vehicle
    waits when early, and every service starts inside its window."""
    points = _random_points(11, 6)
    windows = [(0, 3000), (2000, 5000), (4000, 7000), (0, 9000), (6000, 9000), (1000, 4000)]
    stops = [
        stop(f"s{i}", i, window=TimeWindow(a, b), service_s=300)
        for i, (a, b) in zip(range(1, 7), windows, strict=True)
    ]
    prob = problem(points, stops, [vehicle("v1")])
    solution = solved(prob, params(engine, limit=500))
    assert solution.feasible
    assert objective_milli(prob, solution) == brute_force(prob)
    windows_by_id = {s.id: s.window for s in stops}
    for trip in solution.routes[0].trips:
        for visit in trip.visits:
            window = windows_by_id[visit.stop_id]
            assert window is not None
            assert window.start <= visit.start_s <= window.end
            assert visit.start_s >= visit.arrival_s


# --- constraints -------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_pickup_after_delivery_where_the_naive_order_overloads(engine):
    """Capacity 10 kg: A picks up 8 kg, B delivers 8 kg. Deliveries and pickups each fit (8 ≤ 10), so a
    model checking them apart accepts the cheap order depot→A→B→depot, which carries 16 kg between A
    and B. The plan must visit B first (the optimum the brute force finds)."""
    points = [(0, 0), (1000, 0), (2000, 0)]
    stops = [stop("A", 1, pickup_weight=8), stop("B", 2, weight=8)]
    prob = problem(points, stops, [vehicle("v1", capacity_g=10)])
    solution = solved(prob, params(engine, limit=200))
    assert solution.feasible
    assert _visits(solution, "v1") == ["B", "A"]
    assert objective_milli(prob, solution) == brute_force(prob)
    trip = solution.routes[0].trips[0]
    assert trip.load_out[0] == 8
    assert [v.load_after[0] for v in trip.visits] == [0, 8]


@pytest.mark.parametrize("engine", ENGINES)
def test_refrigerated_stop_rides_the_refrigerated_vehicle(engine):
    """The cold stop goes on the (dearer) refrigerated van, the others on the cheap truck."""
    points = [(0, 0), (1000, 0), (2000, 0), (3000, 0)]
    stops = [stop("cold", 1, refrigerated=True), stop("a", 2), stop("b", 3)]
    vehicles = [
        vehicle("truck", cost_per_km_fen=1000),
        vehicle("fridge", cost_per_km_fen=5000, refrigerated=True),
    ]
    solution = solved(problem(points, stops, vehicles), params(engine))
    assert solution.feasible
    assert "cold" in _visits(solution, "fridge")
    assert all(
        "cold" not in _visits(solution, r.vehicle_id) for r in solution.routes if r.vehicle_id == "truck"
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_pinned_stop_stays_on_its_vehicle(engine):
    """A stop pinned to the dearer vehicle is served by it although the cheap one passes by."""
    points = [(0, 0), (1000, 0), (2000, 0)]
    stops = [stop("pinned", 1, pinned_vehicle="dear"), stop("free", 2)]
    vehicles = [vehicle("cheap", cost_per_km_fen=1000), vehicle("dear", cost_per_km_fen=9000)]
    solution = solved(problem(points, stops, vehicles), params(engine))
    assert solution.feasible
    assert _visits(solution, "dear") == ["pinned"]
    assert _visits(solution, "cheap") == ["free"]


@pytest.mark.parametrize("engine", ENGINES)
def test_capacity_forces_a_second_trip_after_reload(engine):
    """One vehicle carrying 10 kg, three stops of 5 kg: two trips, the second leaving no earlier than the
    first return plus the reload time, and the optimum of all splits."""
    points = [(0, 0), (3000, 0), (0, 4000), (3000, 4000)]
    stops = [stop(f"s{i}", i, weight=5, service_s=120) for i in range(1, 4)]
    prob = problem(
        points, stops, [vehicle("v1", capacity_g=10, max_trips=2, reload_s=900, fixed_cost_fen=300)]
    )
    solution = solved(prob, params(engine, limit=300))
    assert solution.feasible
    (route,) = solution.routes
    assert len(route.trips) == 2
    first, second = route.trips
    assert second.depart_s >= first.return_s + 900
    assert route.duration_s == second.return_s - first.depart_s
    assert objective_milli(prob, solution) == brute_force(prob)


@pytest.mark.parametrize("engine", ENGINES)
def test_second_trip_fits_exactly_in_the_shift(engine):
    """Two 5 kg stops, capacity 5 kg: the shift is exactly two round trips plus the reload. Both stops are
    served — reload time is counted between trips only, never before the first."""
    points = [(0, 0), (1000, 0), (0, 1000)]  # 100 s each way at 10 m/s
    stops = [stop("a", 1, weight=5, service_s=50), stop("b", 2, weight=5, service_s=50)]
    shift = TimeWindow(1000, 1000 + 250 + 600 + 250)
    prob = problem(points, stops, [vehicle("v1", capacity_g=5, max_trips=2, reload_s=600, shift=shift)])
    solution = solved(prob, params(engine))
    assert solution.feasible
    first, second = solution.routes[0].trips
    assert first.depart_s == 1000
    assert second.depart_s == first.return_s + 600
    assert second.return_s == shift.end


@pytest.mark.parametrize("engine", ENGINES)
def test_max_duration_counts_the_whole_shift(engine):
    """Two trips would take 1100 s from first departure to last return; the maximum is 1000 s, so one stop
    is left out (shift_length), even though each trip alone is short."""
    points = [(0, 0), (1000, 0), (0, 1000)]
    stops = [stop("a", 1, weight=5, service_s=50), stop("b", 2, weight=5, service_s=50)]
    veh = vehicle("v1", capacity_g=5, max_trips=2, reload_s=600, max_duration_s=1000)
    solution = solved(problem(points, stops, [veh]), params(engine))
    assert not solution.feasible
    assert len(solution.unassigned) == 1
    assert solution.unassigned[0].reason == UnassignedReason.SHIFT_LENGTH


@pytest.mark.parametrize("engine", ENGINES)
def test_heterogeneous_depots_start_and_end(engine):
    """A vehicle starting at one depot and ending at another: its trip goes from the first to the second."""
    points = [(0, 0), (10_000, 0), (5000, 100)]
    depots = [Depot("north", 0, TimeWindow(0, 86_400)), Depot("south", 1, TimeWindow(0, 86_400))]
    veh = vehicle("v1", start_depot="north", end_depot="south")
    solution = solved(problem(points, [stop("s", 2)], [veh], depots=depots), params(engine))
    assert solution.feasible
    assert solution.distance_m == round((5000**2 + 100**2) ** 0.5) * 2


@pytest.mark.parametrize("engine", ENGINES)
def test_optional_stop_dropped_for_cost_or_kept(engine):
    """An optional stop 50 km out: dropped when its penalty is below the detour (reason
    dropped_for_cost, penalty in the cost), kept when the penalty is above."""
    points = [(0, 0), (1000, 0), (50_000, 0)]
    for penalty, kept in [(10, False), (1_000_000, True)]:
        stops = [stop("near", 1), stop("far", 2, required=False, drop_penalty_fen=penalty)]
        prob = problem(points, stops, [vehicle("v1", cost_per_km_fen=100)])
        solution = solved(prob, params(engine))
        assert solution.feasible  # an optional stop left out is no infeasibility
        if kept:
            assert "far" in _visits(solution, "v1")
        else:
            assert _reason(solution, "far") == UnassignedReason.DROPPED_FOR_COST
            assert solution.cost_fen == solution.routes[0].cost_fen + penalty


# --- reasons for stops left out ---------------------------------------------------------------------


def test_no_eligible_vehicle_for_cold_stop_without_refrigerated_vehicle():
    """A refrigerated stop and no refrigerated vehicle: left out, no_eligible_vehicle; plan infeasible."""
    prob = problem(
        [(0, 0), (1000, 0), (2000, 0)], [stop("cold", 1, refrigerated=True), stop("ok", 2)], [vehicle("v")]
    )
    solution = solved(prob, params("ortools"))
    assert _reason(solution, "cold") == UnassignedReason.NO_ELIGIBLE_VEHICLE
    assert "refrigerated" in solution.unassigned[0].detail
    assert _visits(solution, "v") == ["ok"]
    assert not solution.feasible


def test_no_eligible_vehicle_when_pinned_vehicle_is_off_today():
    """A stop pinned to a vehicle not in today's fleet is left out (no_eligible_vehicle), not an error."""
    prob = problem([(0, 0), (1000, 0)], [stop("s", 1, pinned_vehicle="gone")], [vehicle("v")])
    solution = solved(prob, params("pyvrp"))
    assert _reason(solution, "s") == UnassignedReason.NO_ELIGIBLE_VEHICLE
    assert "gone" in solution.unassigned[0].detail


def test_capacity_when_larger_than_every_vehicle():
    """Demand above every eligible vehicle's capacity: capacity."""
    prob = problem([(0, 0), (1000, 0)], [stop("huge", 1, weight=2000)], [vehicle("v", capacity_g=1000)])
    solution = solved(prob, params("ortools"))
    assert _reason(solution, "huge") == UnassignedReason.CAPACITY


def test_capacity_when_the_fleet_is_used_up():
    """Two required stops each filling the only vehicle's only trip: one is served, the other is left
    out because the fleet is full (capacity)."""
    prob = problem(
        [(0, 0), (1000, 0), (0, 1000)],
        [stop("a", 1, weight=10), stop("b", 2, weight=10)],
        [vehicle("v", capacity_g=10)],
    )
    for engine in ENGINES:
        solution = solved(prob, params(engine))
        assert len(solution.unassigned) == 1
        assert solution.unassigned[0].reason == UnassignedReason.CAPACITY
        assert not solution.feasible


def test_time_window_when_unreachable_even_alone():
    """The window closes before the earliest possible arrival: time_window."""
    prob = problem(
        [(0, 0), (10_000, 0)],
        [stop("late", 1, window=TimeWindow(0, 500))],
        [vehicle("v", shift=TimeWindow(0, 86_400))],
    )
    solution = solved(prob, params("ortools"))
    assert _reason(solution, "late") == UnassignedReason.TIME_WINDOW
    assert "window closes" in solution.unassigned[0].detail


def test_shift_length_when_the_round_trip_outlasts_the_shift():
    """No window, but there and back takes longer than the shift: shift_length."""
    prob = problem([(0, 0), (50_000, 0)], [stop("far", 1)], [vehicle("v", shift=TimeWindow(0, 3600))])
    solution = solved(prob, params("pyvrp"))
    assert _reason(solution, "far") == UnassignedReason.SHIFT_LENGTH


def test_shift_length_when_longer_than_max_duration():
    """A solo trip longer than the vehicle's maximum duration: shift_length."""
    prob = problem([(0, 0), (20_000, 0)], [stop("far", 1)], [vehicle("v", max_duration_s=3000)])
    solution = solved(prob, params("ortools"))
    assert _reason(solution, "far") == UnassignedReason.SHIFT_LENGTH


def test_shift_length_when_there_is_room_but_no_time():
    """Two stops with the same narrow window at opposite ends; one vehicle with room for both cannot
    reach both in time: the one left out gets shift_length (room, no time), not capacity."""
    prob = problem(
        [(0, 0), (10_000, 0), (-10_000, 0)],
        [stop("east", 1, window=TimeWindow(1000, 1100)), stop("west", 2, window=TimeWindow(1000, 1100))],
        [vehicle("v")],
    )
    solution = solved(prob, params("ortools"))
    assert len(solution.unassigned) == 1
    assert solution.unassigned[0].reason == UnassignedReason.SHIFT_LENGTH


def test_no_vehicle_can_serve_anything_gives_an_explained_empty_plan():
    """Every stop is out of reach: no routes, every stop unassigned with its reason, infeasible."""
    prob = problem(
        [(0, 0), (1000, 0), (2000, 0)],
        [stop("cold", 1, refrigerated=True), stop("heavy", 2, weight=10**7)],
        [vehicle("v", capacity_g=1000)],
    )
    solution = solved(prob, params("ortools"))
    assert solution.routes == ()
    assert {u.stop_id: u.reason for u in solution.unassigned} == {
        "cold": UnassignedReason.NO_ELIGIBLE_VEHICLE,
        "heavy": UnassignedReason.CAPACITY,
    }
    assert not solution.feasible
    assert solution.cost_fen == 0


def test_no_stops_gives_an_empty_feasible_plan():
    """Nothing to deliver: an empty plan, feasible."""
    solution = solved(problem([(0, 0)], [], [vehicle("v")]), params("ortools"))
    assert solution.routes == ()
    assert solution.unassigned == ()
    assert solution.feasible


# --- bad input ---------------------------------------------------------------------------------------


def _base() -> Problem:
    return problem([(0, 0), (1000, 0)], [stop("s", 1)], [vehicle("v")])


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda p: p.__class__(**{**_fields(p), "stops": (stop("s", 1, window=TimeWindow(500, 100)),)}),
            "window",
        ),
        (lambda p: p.__class__(**{**_fields(p), "stops": (Stop("s", 1, delivery=(-1, 0, 0)),)}), "delivery"),
        (lambda p: p.__class__(**{**_fields(p), "distance_m": ((0, None), (1000, 0))}), "distance_m"),
        (lambda p: p.__class__(**{**_fields(p), "duration_s": ((0, 100),)}), "duration_s"),
        (lambda p: p.__class__(**{**_fields(p), "vehicles": ()}), "vehicles"),
    ],
)
def test_meaningless_problems_raise_routing_error(mutate, field):
    """Windows ending before they start, negative demand, holes in a matrix, no vehicles: RoutingError."""
    with pytest.raises(RoutingError) as raised:
        solve(mutate(_base()), params("ortools"))
    assert field in raised.value.field


def _fields(prob: Problem) -> dict[str, object]:
    return {name: getattr(prob, name) for name in prob.__dataclass_fields__}


@pytest.mark.parametrize(
    ("solve_params", "field"),
    [
        (SolveParams(time_limit_s=0), "time_limit_s"),
        (SolveParams(time_limit_s=1, workers=0), "workers"),
        (SolveParams(time_limit_s=1, engines=("gurobi",)), "engines"),
        (SolveParams(time_limit_s=1, first_solution="GUESS"), "first_solution"),
        (SolveParams(time_limit_s=1, metaheuristic="MAGIC"), "metaheuristic"),
    ],
)
def test_meaningless_parameters_raise_routing_error(solve_params, field):
    """A zero time limit, no workers, an unknown engine or strategy name: RoutingError naming it."""
    with pytest.raises(RoutingError) as raised:
        solve(_base(), solve_params)
    assert raised.value.field == field


# --- portfolio ---------------------------------------------------------------------------------------


def test_portfolio_keeps_the_cheaper_plan():
    """Two OR-Tools runs stopped at their first solution (different first strategies): the portfolio
    returns the cheaper of the two plans each gives alone."""
    points = _random_points(5, 12)
    prob = problem(
        points,
        [stop(f"s{i}", i, weight=10) for i in range(1, 13)],
        [vehicle(f"v{k}", capacity_g=40) for k in range(4)],
    )
    alone = [
        solved(prob, params("ortools", limit=1, first_solution=first)).cost_fen
        for first in ("PARALLEL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC")
    ]
    both = solved(
        prob, SolveParams(time_limit_s=60, solution_limit=1, engines=("ortools", "ortools"), workers=1)
    )
    assert both.cost_fen == min(alone)


def test_portfolio_in_two_processes_matches_its_runs_alone():
    """workers=2 (two processes): the plan is the better of what each engine returns alone with the same
    seed and limit, and progress is relayed as strictly improving objectives."""
    points = _random_points(9, 10)
    prob = problem(
        points,
        [stop(f"s{i}", i, weight=10) for i in range(1, 11)],
        [vehicle(f"v{k}", capacity_g=40) for k in range(3)],
    )
    alone = {engine: solved(prob, params(engine, limit=50)).cost_fen for engine in ENGINES}
    seen: list[int] = []
    both = solved(
        prob,
        SolveParams(
            time_limit_s=60,
            solution_limit=50,
            engines=("ortools", "pyvrp"),
            workers=2,
            on_progress=lambda _t, objective: seen.append(objective),
        ),
    )
    assert both.cost_fen == min(alone.values())
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == len(seen)
    assert [objective for _t, objective in both.progress] == seen


def _broken(name: str) -> Engine:
    def run(problem, params, on_progress):
        raise ValueError("boom")

    return Engine(name=name, supports=lambda problem: True, run=run)


def test_a_failing_engine_does_not_sink_the_portfolio(monkeypatch):
    """One engine raising: the other's plan is returned. Every engine raising: RuntimeError, never an
    empty plan whose reasons no analysis supports."""
    monkeypatch.setattr("routing.solver.get_engine", lambda n: _broken(n) if n == "pyvrp" else get_engine(n))
    prob = _base()
    both = SolveParams(time_limit_s=60, solution_limit=20, engines=("pyvrp", "ortools"), workers=1)
    assert solved(prob, both).engine == "ortools"
    with pytest.raises(RuntimeError, match="boom"):
        solve(prob, SolveParams(time_limit_s=60, solution_limit=20, engines=("pyvrp",), workers=1))


def test_default_portfolio_prefers_pyvrp_and_falls_back_to_ortools():
    """PyVRP runs on every worker when it expresses the problem, the last worker running VROOM first when
    VROOM expresses it too; a non-zero matrix diagonal (PyVRP cannot take it) leaves OR-Tools; a fleet too
    small for the required stops adds OR-Tools."""
    prob = _base()
    assert choose_engines(prob, SolveParams(time_limit_s=1)) == ("pyvrp", "vroom", "pyvrp")
    assert choose_engines(prob, SolveParams(time_limit_s=1, workers=1)) == ("pyvrp",)
    assert [
        [r.engine for r in share] for share in _shares(plan_runs(prob, SolveParams(time_limit_s=1)), 2)
    ] == [
        ["pyvrp"],
        ["vroom", "pyvrp"],
    ]
    odd = Problem(
        depots=prob.depots,
        stops=prob.stops,
        vehicles=prob.vehicles,
        distance_m=((5, 1000), (1000, 0)),
        duration_s=((0, 100), (100, 0)),
    )
    assert choose_engines(odd, SolveParams(time_limit_s=1)) == ("ortools", "ortools")
    assert choose_engines(odd, SolveParams(time_limit_s=1, engines=("pyvrp",))) == ("ortools",)
    short = problem([(0, 0), (1000, 0)], [stop("s", 1, weight=5000)], [vehicle("v", capacity_g=1000)])
    assert choose_engines(short, SolveParams(time_limit_s=1)) == ("pyvrp", "ortools")


def test_non_zero_diagonal_is_solved_by_ortools():
    """A problem only OR-Tools expresses is still solved, exactly, by OR-Tools."""
    distance, duration = plane([(0, 0), (1000, 0), (2000, 0)])
    prob = Problem(
        depots=(Depot("d", 0, TimeWindow(0, 86_400)),),
        stops=(stop("a", 1), stop("b", 2)),
        vehicles=(vehicle("v"),),
        distance_m=tuple(
            tuple(5 if i == j else x for j, x in enumerate(row)) for i, row in enumerate(distance)
        ),
        duration_s=duration,
    )
    solution = solved(prob, SolveParams(time_limit_s=60, solution_limit=50, workers=1))
    assert solution.engine == "ortools"
    assert solution.feasible


# --- property ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prob=small_problems())
def test_random_problems_route_or_explain_every_stop(engine, prob):
    """Random small problems (windows, pickups, refrigeration, pins, several trips, optional stops): every
    stop is routed once or unassigned with a reason, and the checker accepts the plan."""
    solved(prob, params(engine, limit=30))
