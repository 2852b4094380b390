"""Waves on PostgreSQL: the operator's cut-offs, the wave's window, and its waiting parcels as stops."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from carriers.unified import Direction, ParcelStatus, Temperature
from dispatch.config import Settings
from dispatch.errors import NotFound, ValidationFailed
from dispatch.models import EventKind, Operator, Parcel, ParcelEvent, Station
from dispatch.models import Vehicle as VehicleRow
from dispatch.planning import waves
from routing.batching import NotBatchedReason, VehicleClass
from routing.problem import TimeWindow
from tests.builders import Tenant, make_tenant, waybill

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 2)  # a Wednesday
SETTINGS = Settings(log_level="WARNING")


def local(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=SHANGHAI)


@pytest.fixture
def tenant(db_session: Session) -> Tenant:
    return make_tenant(db_session)


def _station(session: Session, tenant: Tenant, name: str, **fields) -> Station:
    values = {"latitude_e6": 41_000_280, "longitude_e6": 122_077_090, **fields}
    station = Station(operator_id=tenant.operator_id, name=name, **values)
    session.add(station)
    session.flush()
    return station


def _parcel(
    session: Session,
    tenant: Tenant,
    *,
    station: Station | None,
    created_at: datetime,
    status: ParcelStatus = ParcelStatus.HUB_RECEIVED,
    arrived_at: datetime | None = None,
    **fields,
) -> Parcel:
    values = {
        "direction": Direction.DELIVERY,
        "weight_g": 1_000,
        "temperature": Temperature.AMBIENT,
        **fields,
    }
    parcel = Parcel(
        operator_id=tenant.operator_id,
        carrier_id=tenant.carrier_id,
        brand=tenant.brand,
        waybill_no=waybill(),
        recipient_name="王秀英",
        recipient_phone="13812345678",
        address_text="辽宁省盘锦市大洼区",
        station_id=None if station is None else station.id,
        status=status,
        created_at=created_at,
        updated_at=created_at,
        **values,
    )
    session.add(parcel)
    session.flush()
    if arrived_at is not None:
        session.add(
            ParcelEvent(
                parcel_id=parcel.id,
                carrier_id=tenant.carrier_id,
                kind=EventKind.SCAN,
                status=ParcelStatus.HUB_RECEIVED,
                occurred_at=arrived_at,
                actor="test",
            )
        )
        session.flush()
    return parcel


@pytest.mark.postgres
def test_window_uses_the_operator_cutoffs_and_zone(db_session: Session, tenant: Tenant) -> None:
    """Without cut-offs of its own the operator gets 08:30/13:30; set ones are used, in its zone."""
    default = waves.operator_wave_window(
        db_session, operator_id=tenant.operator_id, service_date=DAY, wave=1, settings=SETTINGS
    )
    assert default.cutoff == local(8, 30)
    assert default.start == local(13, 30, day=DAY - timedelta(days=1))
    operator = waves.set_wave_cutoffs(
        db_session, operator_id=tenant.operator_id, cutoffs=["07:00", " 12:00", "16:00"]
    )
    assert operator.wave_cutoffs == ["07:00", "12:00", "16:00"]
    db_session.expire_all()
    assert db_session.get(Operator, tenant.operator_id).wave_cutoffs == ["07:00", "12:00", "16:00"]  # type: ignore[union-attr]
    third = waves.operator_wave_window(
        db_session, operator_id=tenant.operator_id, service_date=DAY, wave="16:00", settings=SETTINGS
    )
    assert (third.index, third.start, third.cutoff) == (3, local(12, 0), local(16, 0))
    assert isinstance(third.cutoff, datetime)
    assert third.cutoff.tzinfo is UTC


@pytest.mark.postgres
def test_bad_cutoffs_and_waves_are_refused(db_session: Session, tenant: Tenant) -> None:
    """Unordered cut-offs, seconds, an unknown wave and an unknown operator are refused."""
    with pytest.raises(ValidationFailed):
        waves.set_wave_cutoffs(db_session, operator_id=tenant.operator_id, cutoffs=["13:30", "08:30"])
    with pytest.raises(ValidationFailed):
        waves.set_wave_cutoffs(db_session, operator_id=tenant.operator_id, cutoffs=["08:30:30"])
    with pytest.raises(ValidationFailed):
        waves.operator_wave_window(
            db_session, operator_id=tenant.operator_id, service_date=DAY, wave=3, settings=SETTINGS
        )
    with pytest.raises(NotFound):
        waves.operator_wave_window(
            db_session, operator_id=uuid.uuid4(), service_date=DAY, wave=1, settings=SETTINGS
        )


@pytest.mark.postgres
def test_batch_wave_loads_waiting_parcels_of_the_window(db_session: Session, tenant: Tenant) -> None:
    """Wave 1 takes the parcels received by 08:30 local and still at the hub, per station; cold parcels
    make their own stop; unmatched ones, those of stations without a location and closed ones are
    reported; later, earlier and delivered parcels are left out."""
    hours = {"wed": [["13:30", "18:00"], ["08:00", "12:00"]]}
    open_station = _station(db_session, tenant, "青山村服务站", opening_hours=hours)
    closed = _station(db_session, tenant, "周三休息", opening_hours={"mon": [["08:00", "18:00"]]})
    nowhere = _station(db_session, tenant, "无坐标", latitude_e6=None, longitude_e6=None)
    in_wave = _parcel(db_session, tenant, station=open_station, created_at=local(8, 29, 59), volume_cm3=None)
    edge = _parcel(
        db_session,
        tenant,
        station=open_station,
        created_at=local(8, 30),
        weight_g=2_000,
        volume_cm3=9_000,
        pieces=2,
        promised_date=DAY,
    )
    cold = _parcel(
        db_session,
        tenant,
        station=open_station,
        created_at=local(7, 0),
        temperature=Temperature.FROZEN,
        volume_cm3=4_000,
    )
    produce = _parcel(
        db_session,
        tenant,
        station=open_station,
        created_at=local(6, 0),
        status=ParcelStatus.ANNOUNCED,
        direction=Direction.PICKUP,
        weight_g=5_000,
        volume_cm3=20_000,
    )
    unmatched = _parcel(db_session, tenant, station=None, created_at=local(7, 0), volume_cm3=1)
    at_closed = _parcel(db_session, tenant, station=closed, created_at=local(7, 0), volume_cm3=1)
    unlocated = _parcel(db_session, tenant, station=nowhere, created_at=local(7, 0), volume_cm3=1)
    late = _parcel(db_session, tenant, station=open_station, created_at=local(8, 30, 1))
    # Announced last week, reached the hub at 08:00 today: received at 08:00, so wave 1.
    arrived = _parcel(
        db_session,
        tenant,
        station=open_station,
        created_at=local(9, 0, day=DAY - timedelta(days=7)),
        arrived_at=local(8, 0),
        volume_cm3=1_000,
    )
    _parcel(
        db_session,
        tenant,
        station=open_station,
        created_at=local(7, 0),
        status=ParcelStatus.DELIVERED_RECIPIENT,
    )
    _parcel(db_session, tenant, station=open_station, created_at=local(12, 0, day=DAY - timedelta(days=1)))

    result = waves.batch_wave(
        db_session,
        operator_id=tenant.operator_id,
        service_date=DAY,
        wave=1,
        settings=SETTINGS,
        vehicles=[
            VehicleClass((1_500_000, 12_000_000, 1_500)),
            VehicleClass((1_000_000, 6_000_000, 600), True),
        ],
    )
    key = str(open_station.id)
    stops = {s.id: s for s in result.batch.stops}
    assert set(stops) == {key, f"{key}:cold"}
    assert set(result.batch.parcels_by_stop[key]) == {
        str(in_wave.id),
        str(edge.id),
        str(produce.id),
        str(arrived.id),
    }
    assert result.batch.parcels_by_stop[f"{key}:cold"] == (str(cold.id),)
    ambient = stops[key]
    assert ambient.delivery == (1_000 + 2_000 + 1_000, 6_000 + 9_000 + 1_000, 4)  # no volume: 6 cm³/g
    assert ambient.pickup == (5_000, 20_000, 1)
    assert ambient.window == TimeWindow(8 * 3600, 18 * 3600)
    assert stops[f"{key}:cold"].refrigerated
    reasons = {n.parcel_id: n.reason for n in result.batch.not_batched}
    assert reasons == {
        str(unmatched.id): NotBatchedReason.NO_STATION,
        str(at_closed.id): NotBatchedReason.STATION_CLOSED,
        str(unlocated.id): NotBatchedReason.UNKNOWN_STATION,
    }
    assert str(late.id) not in result.batch.stop_of()
    assert {s.station_id for s in result.stations} == {open_station.id, closed.id}  # located ones only
    assert [s.location for s in result.stations] == [1, 2]
    located = {s.station_id: s for s in result.stations}
    assert located[open_station.id].location == ambient.location
    assert located[open_station.id].point == (41.00028, 122.07709)
    assert result.window.cutoff == local(8, 30)


@pytest.mark.postgres
def test_second_wave_and_backlog(db_session: Session, tenant: Tenant) -> None:
    """Wave 2 takes 08:30:01–13:30; with the backlog it also takes earlier parcels still waiting."""
    station = _station(db_session, tenant, "青山村服务站")
    morning = _parcel(db_session, tenant, station=station, created_at=local(8, 0))
    noon = _parcel(db_session, tenant, station=station, created_at=local(8, 30, 1))
    wave2 = waves.batch_wave(
        db_session, operator_id=tenant.operator_id, service_date=DAY, wave=2, settings=SETTINGS, vehicles=[]
    )
    assert wave2.batch.parcels_by_stop == {str(station.id): (str(noon.id),)}
    backlog = waves.batch_wave(
        db_session,
        operator_id=tenant.operator_id,
        service_date=DAY,
        wave=2,
        settings=SETTINGS,
        vehicles=[],
        include_backlog=True,
    )
    assert set(backlog.batch.parcels_by_stop[str(station.id)]) == {str(morning.id), str(noon.id)}


@pytest.mark.postgres
def test_fleet_from_the_database_splits_big_stations(db_session: Session, tenant: Tenant) -> None:
    """Without vehicles given, the operator's active fleet decides splitting (blank volume: unlimited)."""
    db_session.add_all(
        [
            VehicleRow(
                operator_id=tenant.operator_id,
                plate_no="辽L12345",
                capacity_weight_g=50_000,
                capacity_volume_cm3=None,
            ),
            VehicleRow(
                operator_id=tenant.operator_id,
                plate_no="辽L99999",
                capacity_weight_g=900_000,
                capacity_volume_cm3=None,
                active=False,
            ),
        ]
    )
    station = _station(db_session, tenant, "大村")
    for _ in range(6):
        _parcel(
            db_session, tenant, station=station, created_at=local(7, 0), weight_g=20_000, volume_cm3=1_000
        )
    result = waves.batch_wave(
        db_session, operator_id=tenant.operator_id, service_date=DAY, wave=1, settings=SETTINGS
    )
    assert [s.delivery[0] for s in result.batch.stops] == [40_000, 40_000, 40_000]
    assert {s.group for s in result.batch.stops} == {str(station.id)}
