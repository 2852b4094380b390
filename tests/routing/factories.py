"""Small typed builders for routing tests: problems on a plane, solve-and-check, a brute-force optimum."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace

from hypothesis import strategies as st

from routing.checker import check
from routing.engines import Plan, realise
from routing.problem import Depot, Problem, Route, Solution, Stop, TimeWindow, Vehicle
from routing.solver import SolveParams, solve

DAY = TimeWindow(0, 86_400)


def plane(
    points: Sequence[tuple[int, int]], *, speed_m_per_s: int = 10
) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """(distance_m, duration_s) over ``points`` in metres: Euclidean, rounded, driven at ``speed_m_per_s``."""
    distance = tuple(tuple(round(math.dist(a, b)) for b in points) for a in points)
    duration = tuple(tuple(round(d / speed_m_per_s) for d in row) for row in distance)
    return distance, duration


def stop(ident: str, location: int, *, weight: int = 0, pickup_weight: int = 0, **fields: object) -> Stop:
    """A stop delivering ``weight`` grams and picking up ``pickup_weight`` grams; other fields as given."""
    return Stop(id=ident, location=location, delivery=(weight, 0, 0), pickup=(pickup_weight, 0, 0), **fields)  # type: ignore[arg-type]


def vehicle(ident: str, *, capacity_g: int = 1_000_000, **fields: object) -> Vehicle:
    """A vehicle from depot ``d`` and back, all day, 1 fen per km unless told otherwise."""
    values: dict[str, object] = {
        "start_depot": "d",
        "end_depot": "d",
        "shift": DAY,
        "cost_per_km_fen": 1000,
    }
    values.update(fields)
    return Vehicle(id=ident, capacity=(capacity_g, 10**9, 10**6), **values)  # type: ignore[arg-type]


def problem(
    points: Sequence[tuple[int, int]],
    stops: Sequence[Stop],
    vehicles: Sequence[Vehicle],
    *,
    depots: Sequence[Depot] | None = None,
    speed_m_per_s: int = 10,
) -> Problem:
    """A problem on the plane: location 0 is depot ``d`` (open all day) unless ``depots`` are given."""
    distance, duration = plane(points, speed_m_per_s=speed_m_per_s)
    return Problem(
        depots=tuple(depots) if depots is not None else (Depot("d", 0, DAY),),
        stops=tuple(stops),
        vehicles=tuple(vehicles),
        distance_m=distance,
        duration_s=duration,
    )


def params(engine: str, *, limit: int = 300, seed: int = 0, **fields: object) -> SolveParams:
    """Deterministic parameters: one engine in this process, stopped by ``limit`` solutions/iterations
    (the time limit is far away and never reached on these sizes)."""
    return SolveParams(
        time_limit_s=60.0,
        seed=seed,
        solution_limit=limit,
        engines=(engine,),
        workers=1,
        **fields,  # type: ignore[arg-type]
    )


def solved(prob: Problem, solve_params: SolveParams) -> Solution:
    """Solve and insist on the checker's approval (required stops may be left out, with reasons)."""
    solution = solve(prob, solve_params)
    assert check(prob, solution, require_all=False) == []
    assert solution.feasible == (check(prob, solution) == [])
    routed = [v.stop_id for r in solution.routes for t in r.trips for v in t.visits]
    left = [u.stop_id for u in solution.unassigned]
    assert sorted(routed + left) == sorted(s.id for s in prob.stops)
    return solution


def objective_milli(prob: Problem, solution: Solution) -> int:
    """The plan's objective recomputed: distance cost + fixed costs + drop penalties, in milli-fen."""
    vehicles = {v.id: v for v in prob.vehicles}
    stops = {s.id: s for s in prob.stops}
    total = sum(
        r.distance_m * vehicles[r.vehicle_id].cost_per_km_fen + 1000 * vehicles[r.vehicle_id].fixed_cost_fen
        for r in solution.routes
        if r.trips
    )
    return total + 1000 * sum(stops[u.stop_id].drop_penalty_fen for u in solution.unassigned)


def build(prob: Problem, routes: dict[str, list[list[str]]], engine: str = "hand") -> Solution:
    """A solution for hand-written routes (vehicle id -> trips of stop ids), timed the solver's way,
    every other stop listed as unassigned; for mutating into bad solutions in checker tests."""
    from routing.problem import Unassigned, UnassignedReason

    plan = Plan(
        engine=engine, routes=tuple((v, tuple(tuple(t) for t in trips)) for v, trips in routes.items())
    )
    realised = realise(prob, plan)
    assert realised.removed == ()
    routed = {v.stop_id for r in realised.routes for t in r.trips for v in t.visits}
    unassigned = tuple(
        Unassigned(s.id, UnassignedReason.DROPPED_FOR_COST, "left out by hand")
        for s in prob.stops
        if s.id not in routed
    )
    penalties = sum(s.drop_penalty_fen for s in prob.stops if s.id not in routed and not s.required)
    return Solution(
        routes=realised.routes,
        unassigned=unassigned,
        cost_fen=sum(r.cost_fen for r in realised.routes) + penalties,
        distance_m=sum(r.distance_m for r in realised.routes),
        feasible=True,
        engine=engine,
    )


def replace_route(solution: Solution, index: int, route: Route) -> Solution:
    routes = list(solution.routes)
    routes[index] = route
    return replace(solution, routes=tuple(routes))


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    """Up to six stops and three vehicles with every feature drawn at random: windows, pickups, cold and
    pinned stops (some to an absent vehicle), optional stops, several trips, maximum durations."""
    n = draw(st.integers(0, 6))
    points = [(0, 0)] + [(draw(st.integers(-8000, 8000)), draw(st.integers(-8000, 8000))) for _ in range(n)]
    n_vehicles = draw(st.integers(1, 3))
    vehicle_ids = [f"v{k}" for k in range(n_vehicles)]
    vehicles: list[Vehicle] = []
    for ident in vehicle_ids:
        start = draw(st.integers(0, 3600))
        vehicles.append(
            vehicle(
                ident,
                capacity_g=draw(st.integers(0, 60)),
                shift=TimeWindow(start, start + draw(st.integers(600, 8000))),
                max_trips=draw(st.integers(1, 3)),
                reload_s=draw(st.integers(0, 600)),
                refrigerated=draw(st.booleans()),
                fixed_cost_fen=draw(st.integers(0, 1000)),
                max_duration_s=draw(st.none() | st.integers(500, 6000)),
            )
        )
    stops: list[Stop] = []
    for i in range(1, n + 1):
        window = None
        if draw(st.booleans()):
            opens = draw(st.integers(0, 6000))
            window = TimeWindow(opens, opens + draw(st.integers(0, 4000)))
        stops.append(
            stop(
                f"s{i}",
                i,
                weight=draw(st.integers(0, 40)),
                pickup_weight=draw(st.integers(0, 40)),
                window=window,
                service_s=draw(st.integers(0, 300)),
                refrigerated=draw(st.booleans()),
                required=draw(st.booleans()),
                drop_penalty_fen=draw(st.integers(0, 5000)),
                pinned_vehicle=draw(st.none() | st.sampled_from([*vehicle_ids, "absent"])),
            )
        )
    return problem(points, stops, vehicles)


# --- brute force ------------------------------------------------------------------------------------


def _vehicle_cost(prob: Problem, veh: Vehicle, trips: Sequence[Sequence[Stop]]) -> int | None:
    """Milli-fen cost of ``veh`` driving ``trips`` (earliest departure, waiting at windows), or None if a
    capacity, window, depot or shift limit breaks. Written for the tests, apart from the solver."""
    if not trips:
        return 0
    depot = prob.depot(veh.start_depot)
    end = prob.depot(veh.end_depot)
    t = max(veh.shift.start, depot.window.start)
    distance = 0
    for k, trip in enumerate(trips):
        if k:
            t += veh.reload_s
        for d in range(len(prob.dimensions)):
            load = sum(s.delivery[d] for s in trip)
            if load > veh.capacity[d]:
                return None
            for s in trip:
                load += s.pickup[d] - s.delivery[d]
                if load > veh.capacity[d]:
                    return None
        here = depot.location
        for s in trip:
            t += prob.duration_s[here][s.location]
            distance += prob.distance_m[here][s.location]
            if s.window is not None:
                if t > s.window.end:
                    return None
                t = max(t, s.window.start)
            t += s.service_time_s
            here = s.location
        back = end if k == len(trips) - 1 else depot
        t += prob.duration_s[here][back.location]
        distance += prob.distance_m[here][back.location]
        if t > min(veh.shift.end, back.window.end):
            return None
    return distance * veh.cost_per_km_fen + 1000 * veh.fixed_cost_fen


def brute_force(prob: Problem) -> int:
    """The optimum objective (milli-fen) serving every stop, by trying every order and every split of it
    into the vehicles' trips. Only for a handful of stops, no optional stops, no maximum duration."""
    assert all(s.required for s in prob.stops)
    assert all(v.max_duration_s is None for v in prob.vehicles)
    slots = [(v, k) for v in prob.vehicles for k in range(v.max_trips)]
    best: int | None = None
    n = len(prob.stops)
    for order in itertools.permutations(prob.stops):
        for cuts in itertools.combinations_with_replacement(range(n + 1), len(slots) - 1):
            bounds = (0, *cuts, n)
            total = 0
            for veh in prob.vehicles:
                trips = [
                    list(order[bounds[i] : bounds[i + 1]])
                    for i, (v, _) in enumerate(slots)
                    if v is veh and bounds[i] < bounds[i + 1]
                ]
                cost = _vehicle_cost(prob, veh, trips)
                if cost is None:
                    break
                total += cost
            else:
                best = total if best is None else min(best, total)
    assert best is not None, "no plan serves every stop"
    return best
