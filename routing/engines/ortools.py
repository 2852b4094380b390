"""The OR-Tools engine: the whole model, every constraint exact.

The model, in OR-Tools terms:

* **Nodes**: one per depot, then one per stop. **Vehicles**: each physical vehicle is ``max_trips`` copies,
  one per trip. Copy k < last starts and ends at the vehicle's start depot (a trip out and back to
  reload); the last copy ends at the vehicle's end depot. Used copies form a suffix (copy k used ⇒ copy
  k+1 used), so the last trip always ends at the end depot and the fixed cost sits on the last copy only.
* **Time** dimension: transit = service time at the origin + driving time; slack = waiting. Stop cumuls
  lie in their windows, copy starts in the shift ∩ the start depot's hours, copy ends before the shift
  end ∩ the depot's closing. Trips chain: start of copy k+1 ≥ end of copy k + reload_s × [copy k used];
  unused copies float, so end of the last copy − start of the first ≤ max_duration_s bounds the whole
  shift from its first departure to its last return.
* **Load**, per dimension: deliveries only or pickups only → one capacity dimension. Both → a
  ``delivered`` dimension (cumul = deliveries so far) and a ``load`` dimension (transit = pickup −
  delivery) whose start cumul equals the delivered dimension's end cumul on the same copy: the load
  leaving the depot is the trip's deliveries, and every cumul (the load on every arc) stays ≤ capacity.
* **Eligibility**: refrigerated stops and pinned stops get the allowed copies of their vehicles.
* **Dropping**: each stop is a disjunction; optional ones pay 1000 × drop_penalty_fen, required ones
  ``required_penalty`` (larger than any plan), so the model always has a solution.
* **Cost**: distance × cost_per_km_fen per copy (milli-fen) and 1000 × fixed_cost_fen on the last copy.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.engines import EngineParams, Plan, ProgressCallback, eligible, required_penalty
from routing.problem import MILLI, Problem, RoutingError

NAME = "ortools"


def supports(problem: Problem) -> bool:
    """OR-Tools expresses every constraint of the model."""
    return True


def first_solution_strategy(name: str) -> int:
    """The ``FirstSolutionStrategy`` value called ``name``; raises ``RoutingError`` for an unknown name."""
    try:
        return int(routing_enums_pb2.FirstSolutionStrategy.Value.Value(name))
    except ValueError:
        raise RoutingError("first_solution", f"unknown OR-Tools first solution strategy {name!r}") from None


def metaheuristic(name: str) -> int:
    """The ``LocalSearchMetaheuristic`` value called ``name``; raises ``RoutingError`` for an unknown name."""
    try:
        return int(routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(name))
    except ValueError:
        raise RoutingError("metaheuristic", f"unknown OR-Tools metaheuristic {name!r}") from None


def run(problem: Problem, params: EngineParams, on_progress: ProgressCallback | None = None) -> Plan:
    """Build the model and search until ``params.deadline`` or ``params.solution_limit`` solutions (or
    100 × that many search branches, whichever comes first: both deterministic).

    Raises ``RoutingError`` for an unknown first solution strategy or metaheuristic. Returns a plan with
    no routes if the search finds no solution in time (it leaves every stop out)."""
    strategy = first_solution_strategy(params.first_solution)
    meta = metaheuristic(params.metaheuristic)
    model = _Model(problem)

    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = strategy
    search.local_search_metaheuristic = meta
    search.log_search = False
    # OR-Tools' defaults, spelled out: the routing search takes no random seed (it is deterministic up to
    # this time limit on its large-neighbourhood sub-searches and the overall time limit).
    search.lns_time_limit.FromMilliseconds(100)
    search.guided_local_search_lambda_coefficient = 0.1
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
        # On a tiny problem guided local search can run out of new solutions and would then search on
        # until the time limit: a branch budget (about 6 branches make a solution) stops it as surely.
        model.routing.AddSearchMonitor(
            model.routing.solver().BranchesLimit(100 * params.solution_limit + 1000)
        )
    remaining = params.deadline - time.monotonic()
    # OR-Tools overshoots its limit by up to a few tenths of a second (an operator finishing its move).
    remaining -= min(0.3, remaining / 10)
    search.time_limit.FromMilliseconds(max(1, int(remaining * 1000)))

    progress: list[tuple[float, int]] = []
    routing = model.routing

    def at_solution() -> None:
        objective = int(routing.CostVar().Value())
        if progress and objective >= progress[-1][1]:
            return
        elapsed = time.monotonic() - params.started_at
        progress.append((elapsed, objective))
        if on_progress is not None:
            on_progress(elapsed, objective)

    routing.AddAtSolutionCallback(at_solution)
    assignment = routing.SolveWithParameters(search)
    if assignment is None:
        return Plan(engine=NAME, routes=(), objective=None, progress=tuple(progress))
    return Plan(
        engine=NAME,
        routes=model.routes(assignment),
        objective=int(assignment.ObjectiveValue()),
        progress=tuple(progress),
    )


class _Model:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        depots = {d.id: i for i, d in enumerate(problem.depots)}
        n_depots = len(problem.depots)
        self.n_depots = n_depots
        locations = [d.location for d in problem.depots] + [s.location for s in problem.stops]
        service = [0] * n_depots + [s.service_time_s for s in problem.stops]

        # copies[c] = (vehicle index, trip number); copies of one vehicle are consecutive.
        self.copies: list[tuple[int, int]] = []
        starts: list[int] = []
        ends: list[int] = []
        for v, vehicle in enumerate(problem.vehicles):
            for k in range(vehicle.max_trips):
                self.copies.append((v, k))
                starts.append(depots[vehicle.start_depot])
                last = k == vehicle.max_trips - 1
                ends.append(depots[vehicle.end_depot if last else vehicle.start_depot])
        self.manager = pywrapcp.RoutingIndexManager(len(locations), len(self.copies), starts, ends)
        self.routing = pywrapcp.RoutingModel(self.manager)
        manager, routing = self.manager, self.routing
        solver = routing.solver()

        # Arc costs: one matrix per distinct cost per km.
        by_rate: dict[int, list[int]] = defaultdict(list)
        for c, (v, _) in enumerate(self.copies):
            by_rate[problem.vehicles[v].cost_per_km_fen].append(c)
        for rate, copies in by_rate.items():
            if rate == 0:
                continue
            matrix = [[problem.distance_m[a][b] * rate for b in locations] for a in locations]
            callback = routing.RegisterTransitMatrix(matrix)
            for c in copies:
                routing.SetArcCostEvaluatorOfVehicle(callback, c)
        for v, vehicle in enumerate(problem.vehicles):
            if vehicle.fixed_cost_fen:
                routing.SetFixedCostOfVehicle(
                    MILLI * vehicle.fixed_cost_fen, self._copy(v, vehicle.max_trips - 1)
                )

        # Time.
        horizon = 1 + max(
            [d.window.end for d in problem.depots]
            + [v.shift.end for v in problem.vehicles]
            + [s.window.end for s in problem.stops if s.window is not None]
        )
        travel = [[service[i] + problem.duration_s[a][b] for b in locations] for i, a in enumerate(locations)]
        time_cb = routing.RegisterTransitMatrix(travel)
        routing.AddDimension(time_cb, horizon, horizon, False, "time")
        time_dim = routing.GetDimensionOrDie("time")
        for i, stop in enumerate(problem.stops):
            if stop.window is not None:
                time_dim.CumulVar(manager.NodeToIndex(n_depots + i)).SetRange(
                    stop.window.start, stop.window.end
                )
        for c, (v, k) in enumerate(self.copies):
            vehicle = problem.vehicles[v]
            start_depot = problem.depot(vehicle.start_depot)
            last = k == vehicle.max_trips - 1
            end_depot = problem.depot(vehicle.end_depot) if last else start_depot
            time_dim.CumulVar(routing.Start(c)).SetRange(
                max(vehicle.shift.start, start_depot.window.start),
                min(vehicle.shift.end, start_depot.window.end),
            )
            time_dim.CumulVar(routing.End(c)).SetMax(min(vehicle.shift.end, end_depot.window.end))
            if vehicle.max_duration_s is not None:
                time_dim.SetSpanUpperBoundForVehicle(vehicle.max_duration_s, c)
        for v, vehicle in enumerate(problem.vehicles):
            first, last_copy = self._copy(v, 0), self._copy(v, vehicle.max_trips - 1)
            for k in range(vehicle.max_trips - 1):
                c = first + k
                active, following = routing.ActiveVehicleVar(c), routing.ActiveVehicleVar(c + 1)
                solver.Add(active <= following)
                solver.Add(
                    time_dim.CumulVar(routing.Start(c + 1))
                    >= time_dim.CumulVar(routing.End(c)) + active * vehicle.reload_s
                )
            if vehicle.max_duration_s is not None and vehicle.max_trips > 1:
                solver.Add(
                    time_dim.CumulVar(routing.End(last_copy)) - time_dim.CumulVar(routing.Start(first))
                    <= vehicle.max_duration_s
                )

        # Load.
        for d, name in enumerate(problem.dimensions):
            deliveries = [0] * n_depots + [s.delivery[d] for s in problem.stops]
            pickups = [0] * n_depots + [s.pickup[d] for s in problem.stops]
            caps = [problem.vehicles[v].capacity[d] for v, _ in self.copies]
            has_delivery, has_pickup = any(deliveries), any(pickups)
            if has_delivery and has_pickup:
                delivered_cb = routing.RegisterUnaryTransitVector(deliveries)
                routing.AddDimensionWithVehicleCapacity(delivered_cb, 0, caps, True, f"delivered_{name}")
                delta = [p - q for p, q in zip(pickups, deliveries, strict=True)]
                load_cb = routing.RegisterUnaryTransitVector(delta)
                routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, False, f"load_{name}")
                delivered = routing.GetDimensionOrDie(f"delivered_{name}")
                load = routing.GetDimensionOrDie(f"load_{name}")
                for c in range(len(self.copies)):
                    solver.Add(load.CumulVar(routing.Start(c)) == delivered.CumulVar(routing.End(c)))
            elif has_delivery or has_pickup:
                demand_cb = routing.RegisterUnaryTransitVector(deliveries if has_delivery else pickups)
                routing.AddDimensionWithVehicleCapacity(demand_cb, 0, caps, True, f"load_{name}")

        # Eligibility and dropping.
        penalty_required = required_penalty(problem)
        for i, stop in enumerate(problem.stops):
            index = manager.NodeToIndex(n_depots + i)
            allowed = [c for c, (v, _) in enumerate(self.copies) if eligible(stop, problem.vehicles[v])]
            if not allowed:
                solver.Add(routing.ActiveVar(index) == 0)
            elif len(allowed) < len(self.copies):
                routing.VehicleVar(index).SetValues([-1, *allowed])
            penalty = penalty_required if stop.required else MILLI * stop.drop_penalty_fen
            routing.AddDisjunction([index], penalty)

    def _copy(self, vehicle: int, trip: int) -> int:
        return self.copies.index((vehicle, trip))

    def routes(self, assignment: pywrapcp.Assignment) -> tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]:
        problem, manager, routing = self.problem, self.manager, self.routing
        trips: dict[int, list[tuple[str, ...]]] = defaultdict(list)
        for c, (v, _) in enumerate(self.copies):
            index = assignment.Value(routing.NextVar(routing.Start(c)))
            trip: list[str] = []
            while not routing.IsEnd(index):
                trip.append(problem.stops[manager.IndexToNode(index) - self.n_depots].id)
                index = assignment.Value(routing.NextVar(index))
            if trip:
                trips[v].append(tuple(trip))
        return tuple((problem.vehicles[v].id, tuple(trips[v])) for v in sorted(trips))
