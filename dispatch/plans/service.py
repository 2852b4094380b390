"""Plans: the dispatch desk asks for a wave to be planned; a job batches the wave's parcels into stops,
builds the routing problem (stations, the operator's active vehicles with their drivers, distances),
solves it and stores a draft the desk can read, with progress while it runs.

PostgreSQL is the record of the work: a plan is ``queued`` until a job claims it (``solving``); a claim
older than the plan's time limit plus a margin is taken again, so a job lost with its worker is redone by
the next one (``run_plan`` is idempotent: a plan past ``solving`` is left alone).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.accounts.service import DeskContext
from dispatch.config import Settings
from dispatch.db import Database, utcnow
from dispatch.errors import Conflict, NotFound, ValidationFailed
from dispatch.matching.service import matcher_for
from dispatch.models import CarrierAccount, Driver, Operator, Parcel, Plan, PlanStatus
from dispatch.models import Vehicle as VehicleRow
from dispatch.observability import log
from dispatch.planning.distances import operator_matrices
from dispatch.planning.waves import UNLIMITED, WaveBatch, batch_wave, operator_cutoffs
from routing.batching import parse_cutoff
from routing.distance import Point
from routing.problem import Depot, Problem, RoutingError, Solution, TimeWindow, Vehicle
from routing.solver import SolveParams, solve
from routing.split import CarrierStopLoad, SharedRoute, SplitError, SplitRule, allocate

_PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    row: VehicleRow
    driver: Driver | None


def create_plan(
    session: Session,
    *,
    desk: DeskContext,
    settings: Settings,
    service_date: date,
    wave: int | None = None,
    time_limit_s: int | None = None,
    vehicle_ids: Sequence[uuid.UUID] | None = None,
    pins: dict[str, str] | None = None,
    based_on: uuid.UUID | None = None,
) -> Plan:
    """A queued plan of the desk's operator. Raises ``ValidationFailed`` naming the field for a wave the
    operator does not have, a time limit outside 1…``max_plan_time_limit_s``, or a vehicle that is not
    the operator's active vehicle."""
    operator = session.get(Operator, desk.operator_id)
    if operator is None:
        raise NotFound(f"operator {desk.operator_id} not found")
    cutoffs = operator_cutoffs(operator, settings)
    if wave is not None and not 1 <= wave <= len(cutoffs):
        raise ValidationFailed.on(
            "wave", f"the operator has waves 1 to {len(cutoffs)} ({', '.join(cutoffs)})"
        )
    limit = settings.plan_time_limit_s if time_limit_s is None else time_limit_s
    if not 1 <= limit <= settings.max_plan_time_limit_s:
        raise ValidationFailed.on("time_limit_s", f"must be 1 to {settings.max_plan_time_limit_s} seconds")
    if vehicle_ids is not None:
        if not vehicle_ids:
            raise ValidationFailed.on(
                "vehicles", "name at least one vehicle, or leave it out for the whole fleet"
            )
        known = set(
            session.execute(
                select(VehicleRow.id).where(
                    VehicleRow.operator_id == desk.operator_id,
                    VehicleRow.id.in_(vehicle_ids),
                    VehicleRow.active.is_(True),
                )
            ).scalars()
        )
        for i, vehicle_id in enumerate(vehicle_ids):
            if vehicle_id not in known:
                raise ValidationFailed.on(f"vehicles.{i}", "not an active vehicle of this operator")
    plan = Plan(
        operator_id=desk.operator_id,
        service_date=service_date,
        wave=wave,
        status=PlanStatus.QUEUED,
        time_limit_s=limit,
        vehicle_ids=None if vehicle_ids is None else [str(v) for v in vehicle_ids],
        pins=pins or None,
        based_on=based_on,
        created_by=desk.user_id,
    )
    session.add(plan)
    session.flush()
    return plan


def resolve_with_pins(
    session: Session,
    *,
    desk: DeskContext,
    settings: Settings,
    plan_id: uuid.UUID,
    pins: dict[str, uuid.UUID],
    time_limit_s: int | None = None,
) -> Plan:
    """A new queued plan that re-solves a draft with stops pinned (or moved) to vehicles: ``pins`` maps a
    station id (every stop of that station) or a stop id to a vehicle. Pins of the draft it is based on
    are kept unless overridden. Raises ``NotFound`` for another operator's plan, ``Conflict`` for a plan
    that is not a draft, ``ValidationFailed`` naming the pin for a stop not in the draft or a vehicle the
    plan does not plan with."""
    plan = get_plan(session, desk=desk, plan_id=plan_id)
    if plan.status is not PlanStatus.DRAFT or plan.result is None:
        raise Conflict(
            f"plan is {plan.status.value}; only a draft is re-solved",
            errors=[{"field": "status", "reason": f"is {plan.status.value}, not draft"}],
        )
    stops = {
        key
        for route in plan.result.get("routes", [])
        for trip in route["trips"]
        for stop in trip["stops"]
        for key in (stop["stop_id"], stop["station_id"])
    } | {key for u in plan.result.get("unassigned", []) for key in (u["stop_id"], u["station_id"])}
    vehicles = {
        str(f.row.id)
        for f in fleet(session, operator_id=desk.operator_id, vehicle_ids=_uuids(plan.vehicle_ids))
    }
    for key, vehicle_id in pins.items():
        if key not in stops:
            raise ValidationFailed.on(f"pins.{key}", "no such stop or station in this plan")
        if str(vehicle_id) not in vehicles:
            raise ValidationFailed.on(f"pins.{key}", "not a vehicle this plan plans with")
    merged = {**(plan.pins or {}), **{key: str(v) for key, v in pins.items()}}
    return create_plan(
        session,
        desk=desk,
        settings=settings,
        service_date=plan.service_date,
        wave=plan.wave,
        time_limit_s=time_limit_s or plan.time_limit_s,
        vehicle_ids=_uuids(plan.vehicle_ids),
        pins=merged,
        based_on=plan.id,
    )


def _uuids(values: list[str] | None) -> list[uuid.UUID] | None:
    return None if values is None else [uuid.UUID(v) for v in values]


def get_plan(session: Session, *, desk: DeskContext, plan_id: uuid.UUID) -> Plan:
    """The operator's plan; another operator's answers exactly like a missing one."""
    plan = session.get(Plan, plan_id)
    if plan is None or plan.operator_id != desk.operator_id:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def plan_view(plan: Plan, *, timezone: str) -> dict[str, Any]:
    """The desk's view of a plan: status, progress while solving, then the draft."""
    zone = ZoneInfo(timezone)
    return {
        "plan_id": str(plan.id),
        "service_date": plan.service_date.isoformat(),
        "wave": plan.wave,
        "status": plan.status.value,
        "time_limit_s": plan.time_limit_s,
        "pins": plan.pins or {},
        "based_on": None if plan.based_on is None else str(plan.based_on),
        "progress": plan.progress,
        "error": plan.error,
        "created_at": plan.created_at.astimezone(zone).isoformat(),
        "finished_at": plan.finished_at.astimezone(zone).isoformat() if plan.finished_at else None,
        **(plan.result or {}),
    }


def _claim(session: Session, plan_id: uuid.UUID, *, stale_s: int) -> Plan | None:
    plan = session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        return None
    now = utcnow()
    # A live solve beats ``updated_at`` every few seconds; one silent for ``stale_s`` died with its worker.
    stale = plan.status is PlanStatus.SOLVING and plan.updated_at < now - timedelta(seconds=stale_s)
    if plan.status is not PlanStatus.QUEUED and not stale:
        return None
    plan.status, plan.started_at, plan.updated_at = PlanStatus.SOLVING, now, now
    plan.progress = {"elapsed_s": 0.0, "fraction": 0.0, "best_cost_fen": None}
    return plan


def run_plan(
    database: Database, plan_id: uuid.UUID, *, settings: Settings, workers: int
) -> PlanStatus | None:
    """Solve one plan if it is queued (or its claim went stale); None when it is not this job's to do.

    ``workers`` > 1 forks solver processes: only from a job worker, never from the web process's threads.
    """
    with database.session_scope() as session:
        plan = _claim(session, plan_id, stale_s=settings.plan_stale_s)
        if plan is None:
            return None
        operator_id, service_date, wave = plan.operator_id, plan.service_date, plan.wave
        limit, vehicle_ids, pins = plan.time_limit_s, plan.vehicle_ids, plan.pins
    with _heartbeat(database, plan_id, every_s=settings.plan_heartbeat_s):
        return _solve_claimed(
            database,
            plan_id,
            settings=settings,
            workers=workers,
            operator_id=operator_id,
            service_date=service_date,
            wave=wave,
            limit=limit,
            vehicle_ids=vehicle_ids,
            pins=pins,
        )


@contextmanager
def _heartbeat(database: Database, plan_id: uuid.UUID, *, every_s: float) -> Iterator[None]:
    """Touch the solving plan's ``updated_at`` every ``every_s`` seconds while the block runs, so the
    reconciler tells a live solve from one whose worker died."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                with database.session_scope() as session:
                    session.execute(
                        update(Plan)
                        .where(Plan.id == plan_id, Plan.status == PlanStatus.SOLVING)
                        .values(updated_at=utcnow())
                    )
            except Exception:  # noqa: BLE001 - a missed beat only makes the plan look stale sooner
                log.warning("plan_heartbeat_failed", plan_id=str(plan_id))

    thread = threading.Thread(target=beat, name=f"plan-heartbeat-{plan_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s + 5)


def _solve_claimed(
    database: Database,
    plan_id: uuid.UUID,
    *,
    settings: Settings,
    workers: int,
    operator_id: uuid.UUID,
    service_date: date,
    wave: int | None,
    limit: int,
    vehicle_ids: list[str] | None,
    pins: dict[str, str] | None,
) -> PlanStatus:
    started = time.monotonic()
    last_write = [0.0]

    def on_progress(elapsed: float, objective: int) -> None:
        now = time.monotonic()
        if now - last_write[0] < _PROGRESS_EVERY_S:
            return
        last_write[0] = now
        with database.session_scope() as session:
            session.execute(
                update(Plan)
                .where(Plan.id == plan_id, Plan.status == PlanStatus.SOLVING)
                .values(
                    progress={
                        "elapsed_s": round(elapsed, 1),
                        "fraction": round(min(1.0, elapsed / limit), 3),
                        "best_cost_fen": (objective + 500) // 1000,
                    },
                    updated_at=utcnow(),
                )
            )

    try:
        with database.session_scope() as session:
            built = build_problem(
                session,
                operator_id=operator_id,
                service_date=service_date,
                wave=wave,
                settings=settings,
                vehicle_ids=None if vehicle_ids is None else [uuid.UUID(v) for v in vehicle_ids],
                pins=pins,
            )
        solution = (
            solve(
                built.problem,
                SolveParams(
                    time_limit_s=max(0.5, limit - (time.monotonic() - started)),
                    seed=0,
                    solution_limit=settings.solver_solution_limit,
                    workers=workers,
                    on_progress=on_progress,
                ),
            )
            if built.problem.stops
            else None
        )
        with database.session_scope() as session:
            result = describe(session, built, solution, settings=settings)
    except (RoutingError, ValidationFailed, NotFound) as exc:
        reason = exc.reason if isinstance(exc, RoutingError) else exc.detail
        return _finish(database, plan_id, PlanStatus.FAILED, error=reason[:500])
    except Exception as exc:  # a poison plan fails visibly; the worker goes on with the next job
        # The type and where it was raised, never the message: a message can carry a recipient's data.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        log.error(
            "plan_failed",
            plan_id=str(plan_id),
            error_type=type(exc).__name__,
            where=f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else None,
        )
        return _finish(database, plan_id, PlanStatus.FAILED, error=f"internal error: {type(exc).__name__}")
    return _finish(database, plan_id, PlanStatus.DRAFT, result=result, elapsed=time.monotonic() - started)


def _finish(
    database: Database,
    plan_id: uuid.UUID,
    status: PlanStatus,
    *,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    elapsed: float | None = None,
) -> PlanStatus:
    with database.session_scope() as session:
        values: dict[str, Any] = {
            "status": status,
            "error": error,
            "finished_at": utcnow(),
            "updated_at": utcnow(),
        }
        if result is not None:
            values["result"] = result
        if elapsed is not None:
            values["progress"] = {
                "elapsed_s": round(elapsed, 1),
                "fraction": 1.0,
                "best_cost_fen": result and result["cost_fen"],
            }
        session.execute(update(Plan).where(Plan.id == plan_id).values(**values))
    log.info("plan_finished", plan_id=str(plan_id), status=status.value)
    return status


@dataclass(frozen=True, slots=True)
class Built:
    """The routing problem of a plan with the way back to the service's rows."""

    problem: Problem
    wave: WaveBatch
    fleet: dict[str, FleetVehicle]
    depot: Point
    timezone: str
    service_date: date


def depot_point(*, operator: Operator, settings: Settings) -> Point:
    """The hub: the county seat's point from the gazetteer. Raises ``ValidationFailed`` without one."""
    division = matcher_for(str(settings.gazetteer_dir)).gazetteer.divisions.get(operator.county_code)
    if division is None or division.latitude_e6 is None or division.longitude_e6 is None:
        raise ValidationFailed.on(
            "operator", f"county {operator.county_code} has no seat point to put the hub at"
        )
    return (division.latitude_e6 / 1e6, division.longitude_e6 / 1e6)


def fleet(
    session: Session, *, operator_id: uuid.UUID, vehicle_ids: Sequence[uuid.UUID] | None
) -> list[FleetVehicle]:
    """The vehicles to plan with: those named, else every active vehicle that has an active driver."""
    stmt = select(VehicleRow).where(VehicleRow.operator_id == operator_id, VehicleRow.active.is_(True))
    if vehicle_ids is not None:
        stmt = stmt.where(VehicleRow.id.in_(vehicle_ids))
    vehicles = list(session.execute(stmt.order_by(VehicleRow.plate_no)).scalars())
    drivers = {
        d.vehicle_id: d
        for d in session.execute(
            select(Driver)
            .where(Driver.operator_id == operator_id, Driver.active.is_(True))
            .order_by(Driver.name)
        ).scalars()
        if d.vehicle_id is not None
    }
    chosen = [FleetVehicle(v, drivers.get(v.id)) for v in vehicles]
    return chosen if vehicle_ids is not None else [f for f in chosen if f.driver is not None]


def build_problem(
    session: Session,
    *,
    operator_id: uuid.UUID,
    service_date: date,
    wave: int | None,
    settings: Settings,
    vehicle_ids: Sequence[uuid.UUID] | None = None,
    pins: dict[str, str] | None = None,
) -> Built:
    """The routing problem of a plan. Without a wave, every waiting parcel received by the day's last
    cut-off. Raises ``ValidationFailed`` when there is no vehicle to plan with."""
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    vehicles = fleet(session, operator_id=operator_id, vehicle_ids=vehicle_ids)
    if not vehicles:
        raise ValidationFailed.on("vehicles", "no active vehicle with a driver to plan with")
    shift = TimeWindow(parse_cutoff(settings.plan_shift_start), parse_cutoff(settings.plan_shift_end))
    routing_vehicles = tuple(
        Vehicle(
            id=str(f.row.id),
            capacity=(f.row.capacity_weight_g, f.row.capacity_volume_cm3 or UNLIMITED, UNLIMITED),
            start_depot="hub",
            end_depot="hub",
            shift=shift,
            fixed_cost_fen=settings.vehicle_fixed_cost_fen,
            cost_per_km_fen=settings.vehicle_cost_per_km_fen,
            refrigerated=f.row.refrigerated,
            max_trips=settings.plan_max_trips,
            reload_s=settings.plan_reload_s,
            driver=None if f.driver is None else str(f.driver.id),
        )
        for f in vehicles
    )
    cutoffs = operator_cutoffs(operator, settings)
    batched = batch_wave(
        session,
        operator_id=operator_id,
        service_date=service_date,
        wave=wave if wave is not None else len(cutoffs),
        settings=settings,
        vehicles=routing_vehicles,
        include_backlog=wave is None,
        replan_wave_key=wave or 0,
    )
    depot = depot_point(operator=operator, settings=settings)
    matrices = operator_matrices(
        operator=str(operator_id), points=(depot, *batched.points), settings=settings
    )
    pinned = pins or {}
    stops = tuple(
        dataclasses.replace(stop, pinned_vehicle=pinned.get(stop.id) or pinned.get(stop.group or stop.id))
        if (stop.id in pinned or (stop.group or stop.id) in pinned)
        else stop
        for stop in batched.batch.stops
    )
    problem = Problem(
        depots=(Depot("hub", 0, shift),),
        stops=stops,
        vehicles=routing_vehicles,
        distance_m=matrices.distance_m,
        duration_s=matrices.duration_s,
    )
    return Built(
        problem=problem,
        wave=batched,
        fleet={str(f.row.id): f for f in vehicles},
        depot=depot,
        timezone=operator.timezone,
        service_date=service_date,
    )


def _at(service_date: date, seconds: int, zone: ZoneInfo) -> str:
    midnight = datetime(service_date.year, service_date.month, service_date.day, tzinfo=zone)
    return (midnight + timedelta(seconds=seconds)).isoformat()


def describe(
    session: Session, built: Built, solution: Solution | None, *, settings: Settings
) -> dict[str, Any]:
    """The draft as the desk reads it: routes with stops, ETAs (operator's zone), parcels and loads; the stops
    left out with their reasons; parcels not batched; cost; and each route's cost split among its carriers
    (the rule of ``GONGPEI_SPLIT_RULE``)."""
    zone = ZoneInfo(built.timezone)
    stops = {s.id: s for s in built.problem.stops}
    station_of = {s.id: s.group or s.id for s in built.problem.stops}
    names = {str(ws.station_id): ws.name for ws in built.wave.stations}
    parcels_by_stop = built.wave.batch.parcels_by_stop
    all_parcels = [uuid.UUID(p) for ids in parcels_by_stop.values() for p in ids]
    carrier_of: dict[str, tuple[str, str]] = {}
    if all_parcels:
        rows = session.execute(
            select(Parcel.id, Parcel.carrier_id, CarrierAccount.brand)
            .join(CarrierAccount, CarrierAccount.id == Parcel.carrier_id)
            .where(Parcel.id.in_(all_parcels))
        )
        carrier_of = {str(r.id): (str(r.carrier_id), r.brand.value) for r in rows}
    routes_out: list[dict[str, Any]] = []
    carriers_total: dict[str, int] = defaultdict(int)
    for route in solution.routes if solution else ():
        vehicle = built.fleet[route.vehicle_id]
        trips_out = []
        loads: list[CarrierStopLoad] = []
        locations: list[int] = []
        for trip in route.trips:
            visits = []
            for visit in trip.visits:
                stop = stops[visit.stop_id]
                parcel_ids = parcels_by_stop.get(visit.stop_id, ())
                by_carrier: dict[str, int] = defaultdict(int)
                for pid in parcel_ids:
                    carrier_id, _brand = carrier_of.get(pid, ("unknown", "unknown"))
                    by_carrier[carrier_id] += 1
                for carrier_id, pieces in by_carrier.items():
                    loads.append(CarrierStopLoad(carrier=carrier_id, location=stop.location, pieces=pieces))
                locations.append(stop.location)
                visits.append(
                    {
                        "stop_id": visit.stop_id,
                        "station_id": station_of[visit.stop_id],
                        "station_name": names.get(station_of[visit.stop_id]),
                        "eta": _at(built.service_date, visit.arrival_s, zone),
                        "service_start": _at(built.service_date, visit.start_s, zone),
                        "cold_chain": stop.refrigerated,
                        "delivery": dict(zip(built.problem.dimensions, stop.delivery, strict=True)),
                        "pickup": dict(zip(built.problem.dimensions, stop.pickup, strict=True)),
                        "parcels": list(parcel_ids),
                        "parcels_by_carrier": dict(by_carrier),
                    }
                )
            trips_out.append(
                {
                    "depart": _at(built.service_date, trip.depart_s, zone),
                    "return": _at(built.service_date, trip.return_s, zone),
                    "distance_m": trip.distance_m,
                    "load_out": dict(zip(built.problem.dimensions, trip.load_out, strict=True)),
                    "stops": visits,
                }
            )
        split, rule, weights = _split(built, route.cost_fen, loads, locations, settings=settings)
        for carrier_id, part in split.items():
            carriers_total[carrier_id] += part
        routes_out.append(
            {
                "vehicle_id": route.vehicle_id,
                "plate": vehicle.row.plate_no,
                "refrigerated": vehicle.row.refrigerated,
                "driver_id": None if vehicle.driver is None else str(vehicle.driver.id),
                "driver_name": None if vehicle.driver is None else vehicle.driver.name,
                "distance_m": route.distance_m,
                "duration_s": route.duration_s,
                "cost_fen": route.cost_fen,
                "trips": trips_out,
                "carrier_split_fen": split,
                "split_rule": rule,
                "split_weights": weights,
            }
        )
    unassigned = [
        {
            "stop_id": u.stop_id,
            "station_id": station_of.get(u.stop_id, u.stop_id),
            "station_name": names.get(station_of.get(u.stop_id, u.stop_id)),
            "reason": u.reason.value,
            "detail": u.detail,
            "parcels": list(parcels_by_stop.get(u.stop_id, ())),
        }
        for u in (solution.unassigned if solution else ())
    ]
    return {
        "routes": routes_out,
        "unassigned": unassigned,
        "not_batched": [
            {"parcel_id": n.parcel_id, "reason": n.reason.value, "detail": n.detail}
            for n in built.wave.batch.not_batched
        ],
        "cost_fen": solution.cost_fen if solution else 0,
        "distance_m": solution.distance_m if solution else 0,
        "feasible": solution.feasible if solution else True,
        "engine": solution.engine if solution else None,
        "split_rule": settings.split_rule,
        "carrier_split_fen": dict(carriers_total),
        "stops": len(built.problem.stops),
        "parcels": sum(len(v) for v in parcels_by_stop.values()),
    }


def _split(
    built: Built, total_fen: int, loads: list[CarrierStopLoad], locations: list[int], *, settings: Settings
) -> tuple[dict[str, int], str, dict[str, str]]:
    """The route's cost per carrier, the rule used — the operator's, or per piece when that rule gives
    every carrier nothing to go by (all stops at the hub's own point: no coalition costs anything) — and
    each carrier's weight under it (``"p/q"``), which settlement later divides the route's actual cost by."""
    if not loads:
        return {}, settings.split_rule, {}
    route = SharedRoute(
        matrix=built.problem.distance_m, depot=0, stops=tuple(dict.fromkeys(locations)), loads=tuple(loads)
    )
    try:
        allocation = allocate(route, total_fen, SplitRule(settings.split_rule))
    except SplitError:
        allocation = allocate(route, total_fen, SplitRule.PER_PIECE)
    weights = {c.carrier: str(c.rule_weight) for c in allocation.carriers}
    return dict(allocation.parts_fen), allocation.rule.value, weights


def stale_plans(
    session: Session, *, settings: Settings, now: datetime | None = None
) -> list[tuple[uuid.UUID, int]]:
    """(plan id, time limit) of plans whose job was lost: queued for longer than ``plan_stale_s`` (the job
    never ran) or solving without a heartbeat for that long (its worker died)."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.plan_stale_s)
    rows = session.execute(
        select(Plan.id, Plan.time_limit_s).where(
            Plan.status.in_((PlanStatus.QUEUED, PlanStatus.SOLVING)), Plan.updated_at < cutoff
        )
    )
    return [(row.id, row.time_limit_s) for row in rows]


def due_wave_plans(
    session: Session, *, settings: Settings, now: datetime | None = None
) -> list[tuple[uuid.UUID, int]]:
    """Scheduled waves: for every operator, each of today's cut-offs (operator's zone) that has passed in
    the last ``wave_plan_window_s`` and has no plan yet gets one, queued with the whole active fleet.
    Returns (plan id, time limit) of the plans made; the caller commits and schedules them."""
    now = now or utcnow()
    made: list[tuple[uuid.UUID, int]] = []
    for operator in session.execute(select(Operator)).scalars():
        local = now.astimezone(ZoneInfo(operator.timezone))
        for index, cutoff in enumerate(operator_cutoffs(operator, settings), start=1):
            at = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                seconds=parse_cutoff(cutoff)
            )
            if not timedelta(0) <= local - at <= timedelta(seconds=settings.wave_plan_window_s):
                continue
            exists = session.execute(
                select(Plan.id).where(
                    Plan.operator_id == operator.id, Plan.service_date == local.date(), Plan.wave == index
                )
            ).first()
            if exists is not None or not fleet(session, operator_id=operator.id, vehicle_ids=None):
                continue
            plan = Plan(
                operator_id=operator.id,
                service_date=local.date(),
                wave=index,
                status=PlanStatus.QUEUED,
                time_limit_s=settings.plan_time_limit_s,
            )
            session.add(plan)
            session.flush()
            made.append((plan.id, plan.time_limit_s))
    return made
