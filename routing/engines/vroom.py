"""The VROOM engine (pyvroom): VROOM's local search on the problems it expresses exactly.

VROOM is fast and deterministic, and on some instances (Solomon RC102 and RC108 among them, measured at
10 s) its plan is shorter than any PyVRP run's; the portfolio runs it first on one core and gives the rest
of that core's time to a second PyVRP run.

The translation, all integer:

* **Costs**: one costs matrix, distance_m × cost_per_km_fen (milli-fen), and each vehicle's fixed cost
  × 1000 — so every vehicle must have the same cost per km (``supports``).
* **Jobs**: delivery and pickup per dimension on the same job (VROOM keeps the load on board along the
  route, so simultaneous delivery and pickup is exact), service = ``Stop.service_time_s``, the window.
* **Refrigeration and pins** are skills: a cold stop needs skill 1, which refrigerated vehicles have; a
  stop pinned to a vehicle needs that vehicle's own skill.
* **Vehicles**: capacity, start and end depot, the time window = the shift within the depots' opening.
  One trip each: a vehicle with several allowed trips is given one (a plan with fewer trips is feasible).

VROOM serves every stop it can and has no drop penalty: an optional stop it serves at a loss makes its
plan dearer, and the portfolio then keeps another engine's plan. Not expressed: a maximum duration shorter
than the shift (VROOM's limit counts driving only), costs per km that differ between vehicles, matrix
entries beyond 32 bits.
"""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import vroom

from routing.engines import EngineParams, Plan, ProgressCallback
from routing.problem import MILLI, Problem

NAME = "vroom"

_EXPLORATION_LEVEL = 5
"""VROOM's most thorough search (0–5)."""
_MAX_ENTRY = 2**32 - 1
_COLD_SKILL = 1
_PIN_SKILL_BASE = 1000


def _windows(problem: Problem) -> list[tuple[int, int]]:
    """Each vehicle's working window: its shift within its start depot's and end depot's opening."""
    result = []
    for vehicle in problem.vehicles:
        start, end = problem.depot(vehicle.start_depot), problem.depot(vehicle.end_depot)
        result.append(
            (
                max(vehicle.shift.start, start.window.start),
                min(vehicle.shift.end, end.window.end, start.window.end),
            )
        )
    return result


def supports(problem: Problem) -> bool:
    """Whether VROOM expresses the problem exactly (see the module docstring for what it cannot)."""
    if not problem.vehicles or len({v.cost_per_km_fen for v in problem.vehicles}) != 1:
        return False
    for vehicle, (early, late) in zip(problem.vehicles, _windows(problem), strict=True):
        if late < early:
            return False
        if vehicle.max_duration_s is not None and vehicle.max_duration_s < late - early:
            return False
    per_km = problem.vehicles[0].cost_per_km_fen
    longest = max(max(row) for row in problem.distance_m)
    slowest = max(max(row) for row in problem.duration_s)
    return longest * max(per_km, 1) <= _MAX_ENTRY and slowest <= _MAX_ENTRY


def run(problem: Problem, params: EngineParams, on_progress: ProgressCallback | None = None) -> Plan:
    """Solve until VROOM's search ends or ``params.deadline``; deterministic (``params.seed`` and
    ``solution_limit`` do not apply). A problem with no stop returns an empty plan."""
    if not problem.stops:
        return Plan(engine=NAME, routes=(), objective=0)
    per_km = problem.vehicles[0].cost_per_km_fen
    data = vroom.Input()
    data.set_durations_matrix("car", np.asarray(problem.duration_s, dtype=np.uint32))
    data.set_costs_matrix("car", np.asarray(problem.distance_m, dtype=np.uint64) * per_km)
    pinned = sorted({s.pinned_vehicle for s in problem.stops if s.pinned_vehicle is not None})
    pin_skill = {vehicle_id: _PIN_SKILL_BASE + i for i, vehicle_id in enumerate(pinned)}
    for index, (vehicle, (early, late)) in enumerate(zip(problem.vehicles, _windows(problem), strict=True)):
        skills = ({_COLD_SKILL} if vehicle.refrigerated else set()) | (
            {pin_skill[vehicle.id]} if vehicle.id in pin_skill else set()
        )
        data.add_vehicle(
            vroom.Vehicle(
                id=index,
                start=problem.depot(vehicle.start_depot).location,
                end=problem.depot(vehicle.end_depot).location,
                capacity=list(vehicle.capacity),
                skills=skills,
                time_window=vroom.TimeWindow(early, late),
                costs=vroom.VehicleCosts(fixed=MILLI * vehicle.fixed_cost_fen),
            )
        )
    for index, stop in enumerate(problem.stops):
        windows = [] if stop.window is None else [vroom.TimeWindow(stop.window.start, stop.window.end)]
        skills = ({_COLD_SKILL} if stop.refrigerated else set()) | (
            {pin_skill[stop.pinned_vehicle]} if stop.pinned_vehicle is not None else set()
        )
        data.add_job(
            vroom.Job(
                id=index,
                location=stop.location,
                default_service=stop.service_time_s,
                delivery=list(stop.delivery),
                pickup=list(stop.pickup),
                skills=skills,
                **({"time_windows": windows} if windows else {}),
            )
        )
    timeout = max(0.0, params.deadline - time.monotonic())
    solution = data.solve(
        exploration_level=_EXPLORATION_LEVEL, nb_threads=1, timeout=timedelta(seconds=timeout)
    )
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    routes = tuple(
        (problem.vehicles[int(vehicle)].id, (tuple(problem.stops[int(j)].id for j in group["id"]),))
        for vehicle, group in jobs.groupby("vehicle_id", sort=True)
    )
    objective = int(solution.summary.cost)
    if on_progress is not None:
        on_progress(time.monotonic() - params.started_at, objective)
    return Plan(engine=NAME, routes=routes, objective=objective)
