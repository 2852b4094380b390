"""The engines behind ``solve``, and what turns an engine's plan into timed routes.

An engine reads a ``Problem`` and returns a ``Plan``: for each vehicle it uses, the stops of each trip in
visiting order, by stop id. It says nothing about times or loads; ``realise`` computes those from the
problem alone (earliest arrivals, the first departure as late as the plan allows without arriving back
later), so every engine's plan is timed the same way and checked the same way.

Engines:

* ``ortools`` (``routing.engines.ortools``): every constraint of the model, always available.
* ``pyvrp`` (``routing.engines.pyvrp``): everything PyVRP 0.14 expresses exactly; ``supports`` says when.
* ``vroom`` (``routing.engines.vroom``): one trip per vehicle, one cost per km; fast and deterministic.

Both minimise the same objective in milli-fen (``routing.problem.MILLI``): distance_m × cost_per_km_fen
per vehicle, plus 1000 × fixed_cost_fen per vehicle used, plus 1000 × drop_penalty_fen per optional stop
left out. OR-Tools charges ``required_penalty(problem)`` for a required stop left out — more than any
plan serving it could cost, so it leaves one out only when it finds no way to serve it; PyVRP keeps
required stops required, and when it finds no plan serving them all, ``realise`` takes stops off its
best plan until every limit holds.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routing.problem import MILLI, Problem, Route, Stop, Trip, Vehicle, Visit

ProgressCallback = Callable[[float, int], None]
"""Called with (seconds since the solve started, objective in milli-fen) when an engine improves."""

ENGINE_NAMES: tuple[str, ...] = ("ortools", "pyvrp", "vroom")


@dataclass(frozen=True, slots=True)
class EngineParams:
    """One engine run. Times are ``time.monotonic()`` readings, comparable across processes."""

    deadline: float
    """The run returns its best plan by this instant (model building included)."""
    started_at: float
    """When the solve started: progress times are seconds since then."""
    seed: int = 0
    """PyVRP's random seed. OR-Tools' routing search is deterministic and takes none."""
    solution_limit: int | None = None
    """OR-Tools: stop after this many solutions (or 100 × as many search branches); PyVRP: after this
    many iterations. Both deterministic, unlike the deadline."""
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"


@dataclass(frozen=True, slots=True)
class Plan:
    """An engine's answer: ``routes`` pairs a vehicle id with its trips, each a tuple of stop ids in order.

    Vehicles left out are unused; stops on no trip are left out. ``objective`` is the engine's own figure
    (milli-fen), for information only: ``solve`` recomputes the cost from the problem."""

    engine: str
    routes: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
    objective: int | None = None
    progress: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Engine:
    name: str
    supports: Callable[[Problem], bool]
    """Whether the engine expresses every constraint of the problem exactly."""
    run: Callable[[Problem, EngineParams, ProgressCallback | None], Plan]
    """Solve; raises ``RoutingError`` for parameters the engine cannot use."""


def get_engine(name: str) -> Engine:
    """The engine called ``name``; raises ``KeyError`` for an unknown name."""
    if name not in ENGINE_NAMES:
        raise KeyError(name)
    module = importlib.import_module(f"routing.engines.{name}")
    return Engine(name=name, supports=module.supports, run=module.run)


def eligible(stop: Stop, vehicle: Vehicle) -> bool:
    """Whether ``vehicle`` may serve ``stop``: refrigeration and pins (capacity and time aside)."""
    if stop.refrigerated and not vehicle.refrigerated:
        return False
    return stop.pinned_vehicle is None or stop.pinned_vehicle == vehicle.id


def required_penalty(problem: Problem) -> int:
    """Milli-fen charged for a required stop left out: more than the whole cost of any plan.

    Bounded so that leaving every stop out still fits in a signed 64-bit objective."""
    longest = max((max(row) for row in problem.distance_m), default=0)
    per_km = max((v.cost_per_km_fen for v in problem.vehicles), default=0)
    arcs = len(problem.stops) + sum(v.max_trips for v in problem.vehicles)
    bound = (
        arcs * longest * per_km
        + MILLI * sum(v.fixed_cost_fen for v in problem.vehicles)
        + MILLI * sum(s.drop_penalty_fen for s in problem.stops if not s.required)
        + 1
    )
    return min(bound, (2**62) // (len(problem.stops) + 1))


def route_cost_milli(vehicle: Vehicle, distance_m: int) -> int:
    """A used vehicle's cost in milli-fen: its distance cost plus its fixed cost."""
    return distance_m * vehicle.cost_per_km_fen + MILLI * vehicle.fixed_cost_fen


def fen(milli: int) -> int:
    """Milli-fen to fen, rounding halves up."""
    return (milli + MILLI // 2) // MILLI


# --- timing and repairing a plan ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Realised:
    """Timed routes for a plan, and the stops ``realise`` had to take off it (unknown to the plan's
    vehicle, served twice, not eligible, or breaking a constraint the engine should have kept)."""

    routes: tuple[Route, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Timing:
    trips: tuple[tuple[int, tuple[tuple[int, int], ...], int], ...]
    """Per trip: departure, (arrival, service start) per stop, return."""
    lateness_s: int
    """Seconds past windows, depot closing, shift end (monotone in the first departure)."""
    overtime_s: int
    """Seconds beyond the vehicle's maximum duration."""

    @property
    def final_return(self) -> int:
        return self.trips[-1][2]


class _Timer:
    """Times one vehicle's trips from a given first departure: earliest arrivals, waiting at windows."""

    def __init__(self, problem: Problem, vehicle: Vehicle) -> None:
        self.problem = problem
        self.vehicle = vehicle
        start, end = problem.depot(vehicle.start_depot), problem.depot(vehicle.end_depot)
        self.start_loc, self.end_loc = start.location, end.location
        self.earliest = max(vehicle.shift.start, start.window.start)
        self.close_mid = min(vehicle.shift.end, start.window.end)
        self.close_end = min(vehicle.shift.end, end.window.end)

    def time(self, trips: Sequence[Sequence[Stop]], depart: int) -> _Timing:
        duration = self.problem.duration_s
        t = depart
        late = 0
        out: list[tuple[int, tuple[tuple[int, int], ...], int]] = []
        for k, trip in enumerate(trips):
            if k:
                t += self.vehicle.reload_s
            leave = t
            loc = self.start_loc
            times: list[tuple[int, int]] = []
            for stop in trip:
                arrival = t + duration[loc][stop.location]
                begin = arrival
                if stop.window is not None:
                    begin = max(arrival, stop.window.start)
                    late += max(0, begin - stop.window.end)
                times.append((arrival, begin))
                t = begin + stop.service_time_s
                loc = stop.location
            last = k == len(trips) - 1
            back = t + duration[loc][self.end_loc if last else self.start_loc]
            late += max(0, back - (self.close_end if last else self.close_mid))
            out.append((leave, tuple(times), back))
            t = back
        overtime = 0
        if self.vehicle.max_duration_s is not None:
            overtime = max(0, t - depart - self.vehicle.max_duration_s)
        return _Timing(tuple(out), late, overtime)

    def best(self, trips: Sequence[Sequence[Stop]]) -> _Timing:
        """The latest first departure that is back as early as the earliest one, and no later anywhere."""
        first = self.time(trips, self.earliest)
        lo, hi = self.earliest, first.final_return
        while lo < hi:
            mid = (lo + hi + 1) // 2
            timing = self.time(trips, mid)
            if timing.final_return == first.final_return and timing.lateness_s <= first.lateness_s:
                lo = mid
            else:
                hi = mid - 1
        return self.time(trips, lo)


def _excess(problem: Problem, vehicle: Vehicle, trips: Sequence[Sequence[Stop]]) -> int:
    """Capacity excess, each dimension in hours-equivalents of its capacity (for comparing repairs)."""
    total = 0
    for trip in trips:
        for d, cap in enumerate(vehicle.capacity):
            load = sum(s.delivery[d] for s in trip)
            peak = load
            for stop in trip:
                load += stop.pickup[d] - stop.delivery[d]
                peak = max(peak, load)
            if peak > cap:
                total += math.ceil((peak - cap) * 3600 / max(cap, 1))
    return total


def _violation(problem: Problem, timer: _Timer, trips: Sequence[Sequence[Stop]]) -> int:
    if not trips:
        return 0
    # Lateness is the same from the earliest departure as from the best one; only the maximum duration
    # needs the (costlier) search for the best departure.
    timing = timer.time(trips, timer.earliest) if timer.vehicle.max_duration_s is None else timer.best(trips)
    return timing.lateness_s + timing.overtime_s + _excess(problem, timer.vehicle, trips)


def _repair(problem: Problem, timer: _Timer, trips: list[list[Stop]], removed: list[str]) -> list[list[Stop]]:
    """Take stops off until the trips keep every constraint: each time the stop whose removal leaves the
    least violation, optional stops before required ones."""
    violation = _violation(problem, timer, trips)
    while violation > 0:
        best: tuple[int, bool, int, int] | None = None
        for k, trip in enumerate(trips):
            for i, stop in enumerate(trip):
                trial = [t if j != k else t[:i] + t[i + 1 :] for j, t in enumerate(trips)]
                trial = [t for t in trial if t]
                key = (_violation(problem, timer, trial), stop.required, k, i)
                if best is None or key < best:
                    best = key
        assert best is not None
        violation, _, k, i = best
        removed.append(trips[k][i].id)
        del trips[k][i]
        trips = [t for t in trips if t]
    return trips


def _route(problem: Problem, timer: _Timer, trips: Sequence[Sequence[Stop]]) -> Route:
    vehicle = timer.vehicle
    timing = timer.best(trips)
    matrix = problem.distance_m
    built: list[Trip] = []
    for k, (trip, (leave, times, back)) in enumerate(zip(trips, timing.trips, strict=True)):
        load = tuple(sum(s.delivery[d] for s in trip) for d in range(len(problem.dimensions)))
        out = load
        visits: list[Visit] = []
        loc = timer.start_loc
        distance = 0
        for stop, (arrival, begin) in zip(trip, times, strict=True):
            load = tuple(load[d] - stop.delivery[d] + stop.pickup[d] for d in range(len(load)))
            visits.append(Visit(stop_id=stop.id, arrival_s=arrival, start_s=begin, load_after=load))
            distance += matrix[loc][stop.location]
            loc = stop.location
        distance += matrix[loc][timer.end_loc if k == len(trips) - 1 else timer.start_loc]
        built.append(
            Trip(visits=tuple(visits), depart_s=leave, return_s=back, distance_m=distance, load_out=out)
        )
    distance = sum(t.distance_m for t in built)
    return Route(
        vehicle_id=vehicle.id,
        trips=tuple(built),
        distance_m=distance,
        duration_s=built[-1].return_s - built[0].depart_s,
        cost_fen=fen(route_cost_milli(vehicle, distance)),
    )


def realise(problem: Problem, plan: Plan) -> Realised:
    """Time ``plan`` on ``problem`` and compute loads and costs; never raises for a bad plan.

    What the plan gets wrong is taken off it and listed in ``removed``: unknown stops or vehicles, a
    stop served twice (kept on its first visit), a stop the vehicle may not serve, trips beyond the
    vehicle's ``max_trips`` and, one stop at a time, whatever breaks capacity, windows, shift or maximum
    duration. Each vehicle's first departure is the latest that brings it back no later."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    seen_stops: set[str] = set()
    seen_vehicles: set[str] = set()
    removed: list[str] = []
    routes: list[Route] = []
    for vehicle_id, plan_trips in plan.routes:
        vehicle = vehicles.get(vehicle_id)
        trips: list[list[Stop]] = []
        for plan_trip in plan_trips:
            trip: list[Stop] = []
            for stop_id in plan_trip:
                stop = stops.get(stop_id)
                if stop is None or stop_id in seen_stops:
                    continue  # unknown, or already served: nothing to leave out twice
                seen_stops.add(stop_id)
                if vehicle is None or vehicle_id in seen_vehicles or not eligible(stop, vehicle):
                    removed.append(stop_id)
                else:
                    trip.append(stop)
            if trip:
                trips.append(trip)
        if vehicle is None or vehicle_id in seen_vehicles:
            continue
        seen_vehicles.add(vehicle_id)
        for extra in trips[vehicle.max_trips :]:
            removed.extend(s.id for s in extra)
        trips = trips[: vehicle.max_trips]
        timer = _Timer(problem, vehicle)
        trips = _repair(problem, timer, trips, removed)
        if trips:
            routes.append(_route(problem, timer, trips))
    return Realised(routes=tuple(routes), removed=tuple(removed))
