"""An independent check of a plan against its problem: every figure recomputed from the matrices.

Written apart from the engines and from ``routing.engines.realise`` on purpose: a plan is believed only
when this module, reading nothing but the problem and the plan, finds nothing wrong.

The rules a plan keeps (times in seconds from midnight, loads per ``Problem.dimensions``):

* A route names a known vehicle, at most one route per vehicle, at most ``max_trips`` trips, none empty.
* A trip leaves the vehicle's start depot and comes back to it, except the last, which ends at the
  vehicle's end depot. Departures are no earlier than the shift start and the depot's opening; every
  return is no later than the shift end and that depot's closing.
* The arrival at each stop is the previous departure plus the driving time; service starts no earlier
  than the arrival and inside the stop's window; the vehicle leaves after ``service_time_s``. The
  return is the last departure plus the driving time back.
* A trip after another leaves no earlier than that trip's return plus ``reload_s``. The route's duration
  is its last return minus its first departure, within ``max_duration_s``.
* A trip loads its deliveries at the depot; at each stop the load drops by the delivery and rises by the
  pickup; the load is never negative and never above capacity, in any dimension, anywhere.
* Refrigerated stops only on refrigerated vehicles; pinned stops only on their vehicle.
* Every stop is on exactly one trip or listed once as unassigned, never both; required stops are served.
* Distances add up (trip, route, plan); a route costs its fixed cost plus distance × cost per km (in fen,
  rounded half up); the plan costs its routes plus the drop penalties of optional stops left out.
"""

from __future__ import annotations

from routing.problem import Problem, Route, Solution, Stop, Vehicle


def check(problem: Problem, solution: Solution, *, require_all: bool = True) -> list[str]:
    """Every rule ``solution`` breaks on ``problem``, one message each; empty when it keeps them all.

    ``require_all=False`` accepts required stops left out (listed as unassigned), to judge a plan that
    serves what it can. Never raises for a bad plan; the problem must be valid."""
    errors: list[str] = []
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    served: dict[str, str] = {}

    seen_vehicles: set[str] = set()
    total_distance = 0
    total_cost = 0
    for r, route in enumerate(solution.routes):
        where = f"routes[{r}] ({route.vehicle_id})"
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            errors.append(f"{where}: no such vehicle")
            continue
        if route.vehicle_id in seen_vehicles:
            errors.append(f"{where}: the vehicle has another route")
        seen_vehicles.add(route.vehicle_id)
        errors.extend(_check_route(problem, vehicle, route, stops, served, where))
        total_distance += route.distance_m
        total_cost += route.cost_fen

    listed: set[str] = set()
    penalties = 0
    for item in solution.unassigned:
        stop = stops.get(item.stop_id)
        if stop is None:
            errors.append(f"unassigned {item.stop_id!r} is not in the problem")
            continue
        if item.stop_id in listed:
            errors.append(f"stop {item.stop_id!r} is listed as unassigned twice")
        listed.add(item.stop_id)
        if item.stop_id in served:
            errors.append(f"stop {item.stop_id!r} is both routed and unassigned")
        if not stop.required:
            penalties += stop.drop_penalty_fen
        elif require_all:
            errors.append(
                f"required stop {item.stop_id!r} is not served ({item.reason.value}: {item.detail})"
            )
    for stop in problem.stops:
        if stop.id not in served and stop.id not in listed:
            errors.append(f"stop {stop.id!r} is neither routed nor unassigned")

    if solution.distance_m != total_distance:
        errors.append(f"plan distance {solution.distance_m} m, its routes add up to {total_distance} m")
    if solution.cost_fen != total_cost + penalties:
        errors.append(
            f"plan cost {solution.cost_fen} fen, routes {total_cost} + drop penalties {penalties} "
            f"= {total_cost + penalties} fen"
        )
    return errors


def _check_route(
    problem: Problem,
    vehicle: Vehicle,
    route: Route,
    stops: dict[str, Stop],
    served: dict[str, str],
    where: str,
) -> list[str]:
    errors: list[str] = []
    distance_m = problem.distance_m
    duration_s = problem.duration_s
    dims = len(problem.dimensions)
    start_depot = problem.depot(vehicle.start_depot)
    end_depot = problem.depot(vehicle.end_depot)

    if len(route.trips) > vehicle.max_trips:
        errors.append(f"{where}: {len(route.trips)} trips, the vehicle makes at most {vehicle.max_trips}")

    route_distance = 0
    previous_return: int | None = None
    for k, trip in enumerate(route.trips):
        at = f"{where} trip {k + 1}"
        last = k == len(route.trips) - 1
        back_depot = end_depot if last else start_depot
        if not trip.visits:
            errors.append(f"{at}: visits no stop")

        if trip.depart_s < vehicle.shift.start:
            errors.append(f"{at}: leaves at {trip.depart_s}, before the shift starts ({vehicle.shift.start})")
        if trip.depart_s < start_depot.window.start:
            errors.append(
                f"{at}: leaves at {trip.depart_s}, before the depot opens ({start_depot.window.start})"
            )
        if previous_return is not None and trip.depart_s < previous_return + vehicle.reload_s:
            errors.append(
                f"{at}: leaves at {trip.depart_s}, before the previous return {previous_return} "
                f"+ reload {vehicle.reload_s} s"
            )

        # Loads: out with the deliveries, then each stop's change.
        deliveries = [0] * dims
        for visit in trip.visits:
            stop = stops.get(visit.stop_id)
            if stop is not None:
                deliveries = [deliveries[d] + stop.delivery[d] for d in range(dims)]
        if tuple(trip.load_out) != tuple(deliveries):
            errors.append(f"{at}: loads {trip.load_out} at the depot, its deliveries are {tuple(deliveries)}")
        errors.extend(_capacity(problem, vehicle, deliveries, f"{at} leaving the depot"))
        load = deliveries

        location = start_depot.location
        clock = trip.depart_s
        trip_distance = 0
        for i, visit in enumerate(trip.visits):
            vat = f"{at} stop {i + 1} ({visit.stop_id})"
            stop = stops.get(visit.stop_id)
            if stop is None:
                errors.append(f"{vat}: no such stop in the problem")
                continue
            if visit.stop_id in served:
                errors.append(f"{vat}: already served by {served[visit.stop_id]}")
            else:
                served[visit.stop_id] = f"{where} trip {k + 1}"
            if stop.refrigerated and not vehicle.refrigerated:
                errors.append(f"{vat}: needs a refrigerated vehicle")
            if stop.pinned_vehicle is not None and stop.pinned_vehicle != vehicle.id:
                errors.append(f"{vat}: pinned to {stop.pinned_vehicle!r}")

            arrival = clock + duration_s[location][stop.location]
            trip_distance += distance_m[location][stop.location]
            if visit.arrival_s != arrival:
                errors.append(f"{vat}: arrives at {visit.arrival_s}, the drive gives {arrival}")
            if visit.start_s < visit.arrival_s:
                errors.append(
                    f"{vat}: starts service at {visit.start_s}, before arriving at {visit.arrival_s}"
                )
            if stop.window is not None and not stop.window.start <= visit.start_s <= stop.window.end:
                errors.append(
                    f"{vat}: starts service at {visit.start_s}, outside its window "
                    f"[{stop.window.start}, {stop.window.end}]"
                )
            clock = visit.start_s + stop.service_time_s
            location = stop.location

            load = [load[d] - stop.delivery[d] + stop.pickup[d] for d in range(dims)]
            if tuple(visit.load_after) != tuple(load):
                errors.append(f"{vat}: leaves with {visit.load_after}, the stop's demand gives {tuple(load)}")
            errors.extend(_capacity(problem, vehicle, load, f"{vat} leaving"))

        back = clock + duration_s[location][back_depot.location]
        trip_distance += distance_m[location][back_depot.location]
        if trip.return_s != back:
            errors.append(f"{at}: returns at {trip.return_s}, the drive gives {back}")
        if trip.return_s > vehicle.shift.end:
            errors.append(f"{at}: returns at {trip.return_s}, after the shift ends ({vehicle.shift.end})")
        if trip.return_s > back_depot.window.end:
            errors.append(
                f"{at}: returns at {trip.return_s}, after depot {back_depot.id!r} closes "
                f"({back_depot.window.end})"
            )
        if trip.distance_m != trip_distance:
            errors.append(f"{at}: distance {trip.distance_m} m, the matrix gives {trip_distance} m")
        route_distance += trip_distance
        previous_return = trip.return_s

    if route.trips:
        duration = route.trips[-1].return_s - route.trips[0].depart_s
        if route.duration_s != duration:
            errors.append(
                f"{where}: duration {route.duration_s} s, first departure to last return is {duration} s"
            )
        if vehicle.max_duration_s is not None and duration > vehicle.max_duration_s:
            errors.append(f"{where}: works {duration} s, more than its maximum {vehicle.max_duration_s} s")
        expected_cost = vehicle.fixed_cost_fen + (route_distance * vehicle.cost_per_km_fen + 500) // 1000
    else:
        expected_cost = 0
        if route.duration_s != 0:
            errors.append(f"{where}: no trips but a duration of {route.duration_s} s")
    if route.distance_m != route_distance:
        errors.append(f"{where}: distance {route.distance_m} m, its trips add up to {route_distance} m")
    if route.cost_fen != expected_cost:
        errors.append(f"{where}: costs {route.cost_fen} fen, fixed + distance cost is {expected_cost} fen")
    return errors


def _capacity(problem: Problem, vehicle: Vehicle, load: list[int], at: str) -> list[str]:
    errors: list[str] = []
    for name, amount, cap in zip(problem.dimensions, load, vehicle.capacity, strict=True):
        if amount > cap:
            errors.append(f"{at}: {name} load {amount} above capacity {cap}")
        if amount < 0:
            errors.append(f"{at}: {name} load {amount} below zero")
    return errors
