"""The operator's waves: cut-off times, the receipt window of a wave, and the wave's parcels as stops.

Cut-offs are per operator (``operator.wave_cutoffs``, "HH:MM" in the operator's time zone), falling back
to ``GONGPEI_WAVE_CUTOFFS`` (08:30 and 13:30). Wave n of a service day takes the parcels received after
cut-off n−1 (for wave 1: the previous day's last cut-off) and no later than cut-off n; times are stored
in UTC and the window is computed in the operator's zone.

What "received" means: a delivery parcel is received when it first reached the hub (its first
``hub_received``/``sorted`` event; without one, when it was announced, ``created_at``); a pickup (farm
produce) when the pickup was announced. Only parcels still waiting are batched: deliveries at the hub
(``hub_received``, ``sorted``) and pickups not yet collected (``announced``).

Locations: 0 is the depot (the hub; the caller knows its point), stations follow from 1 in the order of
``WaveBatch.stations``. A station's window for the day runs from its first opening to its last closing
(a lunch break is not modelled); a station closed that day keeps its parcels back (``station_closed``).
A parcel without a volume is given 6 cm³ per gram: the carriers' volumetric divisor of 6,000 cm³/kg.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carriers.unified import Direction, ParcelStatus, Temperature
from dispatch.config import Settings
from dispatch.errors import NotFound, ValidationFailed
from dispatch.manifests.service import on_published_route
from dispatch.matching import service as matching
from dispatch.models import Operator, Parcel, ParcelEvent, Station
from dispatch.models import Vehicle as VehicleRow
from routing.batching import (
    Batch,
    BatchPolicy,
    Carrying,
    ParcelRecord,
    StationSite,
    VehicleClass,
    WaveWindow,
    batch,
    parse_cutoff,
    parse_cutoffs,
    wave_window,
)
from routing.distance import Point
from routing.problem import RoutingError, TimeWindow

WAITING_DELIVERY = (ParcelStatus.HUB_RECEIVED, ParcelStatus.SORTED)
WAITING_PICKUP = (ParcelStatus.ANNOUNCED,)
VOLUME_CM3_PER_G = 6
"""Volume assumed for a parcel that has none: 6,000 cm³ per kg (the carriers' volumetric divisor)."""
UNLIMITED = 2**31 - 1
"""Capacity of a dimension the fleet table does not record (pieces; volume left blank)."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _invalid(exc: RoutingError) -> ValidationFailed:
    return ValidationFailed(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}])


def _operator(session: Session, operator_id: uuid.UUID) -> Operator:
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} not found")
    return operator


def operator_cutoffs(operator: Operator, settings: Settings) -> list[str]:
    """The operator's cut-offs, else the service default."""
    return list(operator.wave_cutoffs or settings.wave_cutoffs)


def set_wave_cutoffs(session: Session, *, operator_id: uuid.UUID, cutoffs: Sequence[str] | None) -> Operator:
    """Store the operator's cut-offs ("HH:MM", strictly increasing); None returns to the default.
    Raises ``ValidationFailed`` for anything else, ``NotFound`` for an unknown operator."""
    operator = _operator(session, operator_id)
    if cutoffs is None:
        operator.wave_cutoffs = None
    else:
        try:
            seconds = parse_cutoffs(list(cutoffs))
        except RoutingError as exc:
            raise _invalid(exc) from exc
        if any(s % 60 for s in seconds):
            raise ValidationFailed(
                "cut-offs are whole minutes", errors=[{"field": "cutoffs", "reason": "use HH:MM"}]
            )
        operator.wave_cutoffs = [f"{s // 3600:02d}:{s % 3600 // 60:02d}" for s in seconds]
    session.flush()
    return operator


def operator_wave_window(
    session: Session, *, operator_id: uuid.UUID, service_date: date, wave: int | str, settings: Settings
) -> WaveWindow:
    """The UTC receipt window (start exclusive, cut-off inclusive) of the operator's ``wave`` (1-based
    index or its cut-off "HH:MM") on ``service_date``. Raises ``NotFound``, or ``ValidationFailed`` for a
    wave the day does not have."""
    operator = _operator(session, operator_id)
    try:
        return wave_window(service_date, operator_cutoffs(operator, settings), wave, tz=operator.timezone)
    except RoutingError as exc:
        raise _invalid(exc) from exc


@dataclass(frozen=True, slots=True)
class WaveStation:
    station_id: uuid.UUID
    name: str
    location: int
    point: Point
    """(latitude, longitude) in WGS84 degrees."""


@dataclass(frozen=True, slots=True)
class WaveBatch:
    """A wave's parcels as stops: ``batch.stops`` name stations by id, located at ``stations[k].location``
    (``k + 1``; 0 is the depot); parcel and station keys are UUIDs as text."""

    operator_id: uuid.UUID
    window: WaveWindow
    batch: Batch
    stations: tuple[WaveStation, ...]

    @property
    def points(self) -> tuple[Point, ...]:
        """Station points in location order, without the depot's."""
        return tuple(s.point for s in self.stations)


def _window_of_day(hours: dict[str, list[list[str]]] | None, day: date) -> tuple[TimeWindow | None, bool]:
    """(window, closed) for the station's opening hours on ``day``."""
    if hours is None:
        return None, False
    intervals = hours.get(DAYS[day.weekday()]) or []
    if not intervals:
        return None, True
    start = min(parse_cutoff(i[0]) for i in intervals)
    end = max(24 * 3600 if i[1] in ("24:00", "24:00:00") else parse_cutoff(i[1]) for i in intervals)
    return TimeWindow(start, end), False


def fleet_classes(session: Session, *, operator_id: uuid.UUID) -> list[VehicleClass]:
    """The operator's active vehicles as capacities per DIMENSIONS (unrecorded dimensions unlimited)."""
    rows = session.scalars(
        select(VehicleRow)
        .where(VehicleRow.operator_id == operator_id, VehicleRow.active.is_(True))
        .order_by(VehicleRow.plate_no)
    ).all()
    return [
        VehicleClass(
            capacity=(row.capacity_weight_g, row.capacity_volume_cm3 or UNLIMITED, UNLIMITED),
            refrigerated=row.refrigerated,
        )
        for row in rows
    ]


def batch_wave(
    session: Session,
    *,
    operator_id: uuid.UUID,
    service_date: date,
    wave: int | str,
    settings: Settings,
    vehicles: Sequence[Carrying] | None = None,
    include_backlog: bool = False,
    service_s: int = 240,
    service_per_piece_s: int = 6,
    policy: BatchPolicy | None = None,
    replan_wave_key: int | None = None,
) -> WaveBatch:
    """Load the operator's parcels received in ``wave`` of ``service_date`` that are still waiting, and
    batch them into stops (see ``routing.batching.batch``). ``vehicles`` (default: the operator's active
    fleet) decide splitting; ``include_backlog`` also takes parcels received before the wave's start that
    are still waiting. Parcels on a published route are left out, except those of ``replan_wave_key``'s
    (the wave being planned again: 0 = a plan of everything waiting). Raises ``NotFound`` for an unknown
    operator, ``ValidationFailed`` for a bad wave."""
    window = operator_wave_window(
        session, operator_id=operator_id, service_date=service_date, wave=wave, settings=settings
    )
    if include_backlog:
        window = WaveWindow(window.name, window.index, None, window.cutoff, window.service_date)
    # Parcels still pending a match (a lost or late matching job) are matched first, so none is kept
    # back as "no station" only because the worker has not reached it yet.
    while matching.match_pending(session, operator_id=operator_id):
        pass
    # Correlated, so only the operator's waiting parcels are looked up (by the parcel_id index), not
    # every event of every operator grouped first.
    arrived = (
        select(func.min(ParcelEvent.occurred_at))
        .where(ParcelEvent.parcel_id == Parcel.id, ParcelEvent.status.in_(WAITING_DELIVERY))
        .correlate(Parcel)
        .scalar_subquery()
    )
    received = func.coalesce(arrived, Parcel.created_at)
    query = (
        select(Parcel, received.label("received_at"))
        .where(
            Parcel.operator_id == operator_id,
            or_(
                Parcel.status.in_(WAITING_DELIVERY) & (Parcel.direction == Direction.DELIVERY),
                Parcel.status.in_(WAITING_PICKUP) & (Parcel.direction == Direction.PICKUP),
            ),
            received <= window.cutoff,
            # Not on a published route — except this wave's own, which a re-plan takes again.
            ~on_published_route(
                Parcel.id, except_wave=None if replan_wave_key is None else (service_date, replan_wave_key)
            ),
        )
        .order_by(Parcel.created_at, Parcel.id)
    )
    if window.start is not None:
        query = query.where(received > window.start)
    rows = session.execute(query).all()
    records: list[ParcelRecord] = []
    station_ids: set[uuid.UUID] = set()
    for parcel, received_at in rows:
        if parcel.station_id is not None:
            station_ids.add(parcel.station_id)
        records.append(
            ParcelRecord(
                id=str(parcel.id),
                station=None if parcel.station_id is None else str(parcel.station_id),
                received_at=received_at,
                weight_g=max(0, parcel.weight_g),
                volume_cm3=(
                    parcel.volume_cm3 if parcel.volume_cm3 is not None else parcel.weight_g * VOLUME_CM3_PER_G
                ),
                pieces=max(1, parcel.pieces),
                cold=parcel.temperature is not Temperature.AMBIENT,
                direction="pickup" if parcel.direction is Direction.PICKUP else "delivery",
                due=parcel.promised_date is not None and parcel.promised_date <= service_date,
            )
        )
    stations = (
        session.scalars(
            select(Station)
            .where(
                Station.operator_id == operator_id,
                Station.id.in_(station_ids),
                Station.active.is_(True),
                Station.latitude_e6.is_not(None),
                Station.longitude_e6.is_not(None),
            )
            .order_by(Station.id)
        ).all()
        if station_ids
        else []
    )
    sites: dict[str, StationSite] = {}
    located: list[WaveStation] = []
    for k, station in enumerate(stations, start=1):
        try:
            window_of_day, closed = _window_of_day(station.opening_hours, service_date)
        except RoutingError as exc:
            raise _invalid(exc) from exc
        sites[str(station.id)] = StationSite(
            location=k,
            window=window_of_day,
            service_s=service_s,
            service_per_piece_s=service_per_piece_s,
            closed=closed,
        )
        located.append(
            WaveStation(
                station_id=station.id,
                name=station.name,
                location=k,
                point=((station.latitude_e6 or 0) / 1e6, (station.longitude_e6 or 0) / 1e6),
            )
        )
    fleet = list(vehicles) if vehicles is not None else fleet_classes(session, operator_id=operator_id)
    try:
        result = batch(records, stations=sites, vehicles=fleet, window=window, policy=policy)
    except RoutingError as exc:
        raise _invalid(exc) from exc
    return WaveBatch(operator_id=operator_id, window=window, batch=result, stations=tuple(located))
