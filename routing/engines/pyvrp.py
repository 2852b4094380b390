"""The PyVRP engine: PyVRP 0.14's iterated local search on an exact translation of the problem.

The translation, all integer:

* **Locations** are the problem's matrix indices; depots and clients point at them.
* **Clients**: delivery and pickup in each dimension some stop loads (the others are left out); PyVRP
  keeps the load on board along the route, so simultaneous delivery and pickup is exact; service
  duration = ``Stop.service_time_s``, the window, ``required``; an optional stop's prize is
  1000 × drop_penalty_fen (PyVRP charges uncollected prizes, the same as paying the drop penalty).
* **Refrigeration** is one more load dimension: a cold stop delivers 1 unit of it; refrigerated vehicles
  carry as many units as there are cold stops, the others none. **Pins** are one dimension per pinned
  vehicle in the same way. Both are exact, load resets at reloads included.
* **Vehicle types**: capacity, fixed cost × 1000, cost per km as the unit distance cost (metres × fen/km
  = milli-fen), the shift as the type's window, ``max_duration_s`` as the shift duration, start and end
  depot. Identical vehicles share a type.
* **Several trips**: the start depot is the type's reload depot, ``max_reloads`` = max_trips − 1. PyVRP
  spends a depot's service duration at the start of every trip, the first included, where the problem
  has ``reload_s`` only between trips. So each (depot, reload_s) is its own PyVRP depot whose service
  duration is ``reload_s``, and the first trip's extra ``reload_s`` is given back: the type's and the
  depot's opening are ``reload_s`` earlier and the shift duration ``reload_s`` longer. All times are
  shifted by the largest ``reload_s`` so none is negative.

What PyVRP cannot take: a distance or duration matrix with a non-zero diagonal (``supports`` is False).

Search: PyVRP's own loop (``pyvrp.solve``) with one change: the penalty weights for load excess and
time warp are scaled to the problem's cost per unit (a second of time warp, a unit of each dimension),
because PyVRP's default range suits benchmark data where one unit of distance costs one, not milli-fen
per metre. On the benchmarks the scale is 1 (unchanged). Measured on three random county-like problems
(60 stops, two depots, pickups, windows, cold and pinned stops, two-trip vehicles; 3 s, seeds 0 and 1):
unscaled, PyVRP found no plan serving every required stop (3–7 left out after repair, cost 130 000–
170 000 fen); scaled, every required stop was served, at 114 900–136 300 fen.
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from pyvrp import (
    Client,
    CostEvaluator,
    Depot,
    IteratedLocalSearch,
    IteratedLocalSearchCallbacks,
    IteratedLocalSearchParams,
    Location,
    PenaltyManager,
    PenaltyParams,
    ProblemData,
    RandomNumberGenerator,
    VehicleType,
)
from pyvrp import Solution as PyVRPSolution
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import (
    OPERATORS,
    LocalSearch,
    NeighbourhoodParams,
    PerturbationManager,
    PerturbationParams,
    compute_neighbours,
)
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from routing.engines import EngineParams, Plan, ProgressCallback, eligible
from routing.problem import MILLI, Problem, Stop

NAME = "pyvrp"

_UNBOUNDED = int(np.iinfo(np.int64).max)
_PENALTY = PenaltyParams()
"""PyVRP's defaults, spelled out as the base of the scaled range."""


def supports(problem: Problem) -> bool:
    """Whether PyVRP expresses the problem exactly: it needs zero diagonals in both matrices."""
    return all(
        problem.distance_m[i][i] == 0 and problem.duration_s[i][i] == 0
        for i in range(len(problem.distance_m))
    )


class _TypeKey(NamedTuple):
    capacity: tuple[int, ...]
    start: int
    end: int
    fixed_milli: int
    early: int
    late: int
    shift_duration: int
    per_km: int
    trips: int


@dataclass(frozen=True, slots=True)
class Translation:
    """The PyVRP data for a problem and the way back: which stop each client is, which vehicles each
    vehicle type stands for, and the time offset added to every instant."""

    data: ProblemData
    client_stops: tuple[str, ...]
    type_vehicles: tuple[tuple[str, ...], ...]
    offset_s: int


def translate(problem: Problem) -> Translation:
    """The PyVRP ``ProblemData`` for ``problem`` (see the module docstring). Stops no vehicle may serve
    are not translated (they are left out)."""
    offset = max((v.reload_s for v in problem.vehicles if v.max_trips > 1), default=0)
    stops = [s for s in problem.stops if any(eligible(s, v) for v in problem.vehicles)]
    cold = sum(1 for s in stops if s.refrigerated)
    pins = sorted({s.pinned_vehicle for s in stops if s.pinned_vehicle is not None})
    pinned = {p: sum(1 for s in stops if s.pinned_vehicle == p) for p in pins}
    extra = (1 if cold else 0) + len(pins)
    used = _used_dimensions(problem, stops)

    clients: list[Client] = []
    for stop in stops:
        marks = ([1 if stop.refrigerated else 0] if cold else []) + [
            1 if stop.pinned_vehicle == p else 0 for p in pins
        ]
        early, late = (0, _UNBOUNDED) if stop.window is None else (stop.window.start, stop.window.end)
        clients.append(
            Client(
                location=stop.location,
                delivery=[*(stop.delivery[d] for d in used), *marks],
                pickup=[*(stop.pickup[d] for d in used), *([0] * extra)],
                service_duration=stop.service_time_s,
                tw_early=early + offset if stop.window is not None else 0,
                tw_late=late + offset if stop.window is not None else _UNBOUNDED,
                prize=0 if stop.required else MILLI * stop.drop_penalty_fen,
                required=stop.required,
                name=stop.id,
            )
        )

    depot_index: dict[tuple[str, int], int] = {}
    depots: list[Depot] = []

    def depot_for(depot_id: str, reload_s: int) -> int:
        key = (depot_id, reload_s)
        if key not in depot_index:
            depot = problem.depot(depot_id)
            depot_index[key] = len(depots)
            depots.append(
                Depot(
                    location=depot.location,
                    tw_early=depot.window.start + offset - reload_s,
                    tw_late=depot.window.end + offset,
                    service_duration=reload_s,
                    name=f"{depot_id}/{reload_s}",
                )
            )
        return depot_index[key]

    types: dict[_TypeKey, list[str]] = defaultdict(list)
    for vehicle in problem.vehicles:
        reload_s = vehicle.reload_s if vehicle.max_trips > 1 else 0
        key = _TypeKey(
            capacity=(
                *(vehicle.capacity[d] for d in used),
                *((cold if vehicle.refrigerated else 0,) if cold else ()),
                *(pinned[p] if vehicle.id == p else 0 for p in pins),
            ),
            start=depot_for(vehicle.start_depot, reload_s),
            end=depot_for(vehicle.end_depot, reload_s),
            fixed_milli=MILLI * vehicle.fixed_cost_fen,
            early=vehicle.shift.start + offset - reload_s,
            late=vehicle.shift.end + offset,
            shift_duration=_UNBOUNDED
            if vehicle.max_duration_s is None
            else vehicle.max_duration_s + reload_s,
            per_km=vehicle.cost_per_km_fen,
            trips=vehicle.max_trips,
        )
        types[key].append(vehicle.id)

    vehicle_types = [
        VehicleType(
            num_available=len(ids),
            capacity=list(key.capacity),
            start_depot=key.start,
            end_depot=key.end,
            fixed_cost=key.fixed_milli,
            tw_early=key.early,
            tw_late=key.late,
            shift_duration=key.shift_duration,
            unit_distance_cost=key.per_km,
            unit_duration_cost=0,
            reload_depots=[key.start] if key.trips > 1 else [],
            max_reloads=key.trips - 1,
            name=",".join(ids),
        )
        for key, ids in types.items()
    ]

    size = len(problem.distance_m)
    data = ProblemData(
        locations=[Location(x=0.0, y=0.0) for _ in range(size)],
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        # PyVRP's stub spells the matrix type ndarray[int]; the arrays are what it wants.
        distance_matrices=[np.asarray(problem.distance_m, dtype=np.int64)],  # type: ignore[list-item]
        duration_matrices=[np.asarray(problem.duration_s, dtype=np.int64)],  # type: ignore[list-item]
    )
    return Translation(
        data=data,
        client_stops=tuple(s.id for s in stops),
        type_vehicles=tuple(tuple(ids) for ids in types.values()),
        offset_s=offset,
    )


def _used_dimensions(problem: Problem, stops: list[Stop]) -> list[int]:
    """The problem's load dimensions some stop delivers or picks up in (the first when none does): a
    dimension nobody loads constrains nothing, and each one PyVRP tracks costs time on every move —
    measured on X-n351-k40 (5,000 iterations, one core), three dimensions of which two are empty took
    5.1 s against 3.7 s for the one that is used, with the same plan."""
    used = [d for d in range(len(problem.dimensions)) if any(s.delivery[d] or s.pickup[d] for s in stops)]
    return used or [0]


class _ScaledPenalties(PenaltyManager):
    """PyVRP's penalty manager, its weights multiplied per load dimension and for time warp."""

    def __init__(self, data: ProblemData, params: PenaltyParams, load: list[float], warp: float) -> None:
        super().__init__(params.midpoint_penalties(data), params)
        self._load_scale = load
        self._warp_scale = warp
        self._max = params.max_penalty

    def _evaluator(self, loads: list[float], warp: float, distance: float) -> CostEvaluator:
        scaled = [w * s for w, s in zip(loads, self._load_scale, strict=True)]
        return CostEvaluator(scaled, warp * self._warp_scale, distance)

    def cost_evaluator(self) -> CostEvaluator:
        loads, warp, distance = self.penalties()
        return self._evaluator(loads, warp, distance)

    def max_cost_evaluator(self) -> CostEvaluator:
        loads, _, _ = self.penalties()
        return self._evaluator([self._max] * len(loads), self._max, self._max)


def _scales(problem: Problem, data: ProblemData) -> tuple[list[float], float]:
    """Penalty multipliers: time warp by the cost of a second's driving (≥ 1); each load dimension by the
    cost of an average arc over 20 average demands (≥ 1) — about 1 on the classic benchmarks."""
    distance = np.asarray(problem.distance_m, dtype=np.float64)
    duration = np.asarray(problem.duration_s, dtype=np.float64)
    per_km = float(np.mean([v.cost_per_km_fen for v in problem.vehicles]))
    arc_cost = max(1.0, float(distance.mean()) * per_km)
    warp = max(1.0, arc_cost / max(1.0, float(duration.mean())))
    load: list[float] = []
    for d in range(data.num_load_dimensions):
        amounts = [max(c.delivery[d], c.pickup[d]) for c in data.clients()]
        positive = [a for a in amounts if a > 0]
        mean = float(np.mean(positive)) if positive else 1.0
        load.append(max(1.0, arc_cost / (20.0 * mean)))
    return load, warp


class _Progress(IteratedLocalSearchCallbacks):
    def __init__(self, started_at: float, on_progress: ProgressCallback | None, dims: int) -> None:
        self.started_at = started_at
        self.on_progress = on_progress
        self.plain = CostEvaluator([0.0] * dims, 0.0, 0.0)
        self.points: list[tuple[float, int]] = []

    def on_best(self, best: PyVRPSolution) -> None:
        if not best.is_feasible():
            return
        objective = int(self.plain.cost(best))
        if self.points and objective >= self.points[-1][1]:
            return
        elapsed = time.monotonic() - self.started_at
        self.points.append((elapsed, objective))
        if self.on_progress is not None:
            self.on_progress(elapsed, objective)


def run(problem: Problem, params: EngineParams, on_progress: ProgressCallback | None = None) -> Plan:
    """Translate and search with ``params.seed`` until ``params.deadline`` or ``params.solution_limit``
    iterations. The best solution is returned even when PyVRP found none feasible (``solve`` repairs and
    checks every plan); a problem with no servable stop returns an empty plan."""
    translation = translate(problem)
    data = translation.data
    if data.num_clients == 0:
        return Plan(engine=NAME, routes=(), objective=0)

    load_scale, warp_scale = _scales(problem, data)
    progress = _Progress(params.started_at, on_progress, data.num_load_dimensions)
    rng = RandomNumberGenerator(seed=params.seed)
    neighbours = compute_neighbours(data, NeighbourhoodParams())
    local_search = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for operator in OPERATORS:
        if operator.supports(data):
            local_search.add_operator(operator(data))
    penalties = _ScaledPenalties(data, _PENALTY, load_scale, warp_scale)
    initial = local_search(
        PyVRPSolution.make_random(data, rng), penalties.max_cost_evaluator(), exhaustive=True
    )
    progress.on_best(initial)  # the search reports only what beats its starting point
    ils_params = IteratedLocalSearchParams(
        num_iters_no_improvement=150_000, history_length=300, exhaustive_on_best=True, callbacks=progress
    )
    algorithm = IteratedLocalSearch(data, penalties, local_search, initial, ils_params)
    criteria: list[StoppingCriterion] = [MaxRuntime(max(0.0, params.deadline - time.monotonic()))]
    if params.solution_limit is not None:
        criteria.append(MaxIterations(params.solution_limit))
    with warnings.catch_warnings():
        # PyVRP warns when its penalties hit their bound on an instance it cannot serve in full; the
        # plan is repaired and explained downstream, so the warning says nothing new.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = algorithm.run(MultipleCriteria(criteria), collect_stats=False, display=False)
    best = result.best

    vehicles = [list(ids) for ids in translation.type_vehicles]
    routes: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    for route in best.routes():
        trips: dict[int, list[str]] = defaultdict(list)
        for activity in route.schedule():
            if activity.is_client():
                trips[activity.trip].append(translation.client_stops[activity.idx])
        vehicle_id = vehicles[route.vehicle_type()].pop(0)
        routes.append((vehicle_id, tuple(tuple(trips[k]) for k in sorted(trips) if trips[k])))
    objective = int(progress.plain.cost(best)) if best.is_feasible() else None
    return Plan(engine=NAME, routes=tuple(routes), objective=objective, progress=tuple(progress.points))
