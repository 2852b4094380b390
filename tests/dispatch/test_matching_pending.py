"""Matching after ingestion: parcels land pending, the matching job (RQ on real Redis, or in-process)
resolves them, and nothing pending is ever lost or matched twice (PostgreSQL)."""

from __future__ import annotations

import os
import uuid

from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.db import Database
from dispatch.divisions.service import import_gazetteer
from dispatch.imports.service import carrier_context
from dispatch.jobs import ALL_QUEUES
from dispatch.jobs.matching import QUEUE, run_matching, schedule_matching
from dispatch.matching import service as matching
from dispatch.models import Parcel
from dispatch.parcels import service as parcels
from dispatch.stations.service import seed_village_stations
from tests.builders import Tenant, make_desk_user, make_tenant, record
from tests.conftest import settings_for
from tests.dispatch.gazetteer_data import KUANDIAN, counties

REDIS_URL = os.environ.get("GONGPEI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DONGCHA = "210624101201"  # 宽甸县 灌水镇 东岔村
ADDRESS = "辽宁省丹东市宽甸满族自治县灌水镇东岔村3组"


def _county(session: Session, *, stations: bool = True) -> tuple[uuid.UUID, Tenant]:
    """An operator of 宽甸 with a carrier; with ``stations``, the county's gazetteer imported and one
    station per village (only inside a rolled-back test: the division table is shared by every operator;
    without it the matcher reads the gazetteer directory)."""
    desk = make_desk_user(session, county_code=KUANDIAN)
    if stations:
        import_gazetteer(session, counties(KUANDIAN))
        seed_village_stations(session, operator_id=desk.operator_id)
    carrier = make_tenant(session, operator_id=desk.operator_id)
    session.flush()
    return desk.operator_id, carrier


def _ingest(session: Session, tenant: Tenant, *records: dict[str, object]) -> None:
    context = carrier_context(session, tenant.carrier_id)
    parcels.ingest(session, carrier=context, records=list(records))


def _statuses(session: Session, operator_id: uuid.UUID) -> dict[str, str | None]:
    session.expire_all()
    rows = session.execute(
        select(Parcel.waybill_no, Parcel.match_status).where(Parcel.operator_id == operator_id)
    )
    return {row.waybill_no: row.match_status for row in rows}


def test_ingestion_stores_parcels_pending_and_matching_resolves_them(db_session: Session) -> None:
    operator_id, tenant = _county(db_session)
    sure, unsure = record(address=ADDRESS), record(address="宽甸县灌水镇李家大屯5组")
    _ingest(db_session, tenant, sure, unsure)
    assert _statuses(db_session, operator_id) == {sure["waybill_no"]: None, unsure["waybill_no"]: None}
    assert matching.pending_count(db_session, operator_id=operator_id) == 2

    assert matching.match_pending(db_session, operator_id=operator_id) == 2
    assert matching.match_pending(db_session, operator_id=operator_id) == 0
    assert _statuses(db_session, operator_id) == {
        sure["waybill_no"]: "village",
        unsure["waybill_no"]: "township",
    }
    station = db_session.execute(
        select(Parcel.station_id).where(Parcel.waybill_no == sure["waybill_no"])
    ).scalar_one()
    assert station is not None


def test_a_new_address_makes_a_matched_parcel_pending_again(db_session: Session) -> None:
    operator_id, tenant = _county(db_session)
    rec = record(address=ADDRESS)
    _ingest(db_session, tenant, rec)
    matching.match_pending(db_session, operator_id=operator_id)
    _ingest(db_session, tenant, {**rec, "address": "宽甸县灌水镇李家大屯5组"})
    db_session.expire_all()
    row = db_session.execute(select(Parcel).where(Parcel.waybill_no == rec["waybill_no"])).scalar_one()
    assert (row.match_status, row.village_code, row.station_id) == (None, None, None)
    matching.match_pending(db_session, operator_id=operator_id)
    assert _statuses(db_session, operator_id)[rec["waybill_no"]] == "township"


def test_the_review_queue_matches_what_a_lost_job_left_pending(
    client: TestClient, db_session: Session
) -> None:
    operator_id, tenant = _county(db_session)
    desk = make_desk_user(db_session, operator_id=operator_id)
    sure, unsure = record(address=ADDRESS), record(address="宽甸县灌水镇李家大屯5组")
    _ingest(db_session, tenant, sure, unsure)  # no job was ever scheduled for these
    db_session.flush()
    items = client.get("/v1/review", headers=desk.auth).json()["items"]
    assert [item["waybill_no"] for item in items] == [unsure["waybill_no"]]
    assert _statuses(db_session, operator_id)[sure["waybill_no"]] == "village"


def test_workers_side_by_side_never_take_the_same_parcel(committed_db: Database) -> None:
    """Rows are claimed FOR UPDATE SKIP LOCKED: a second worker skips what the first holds."""
    with committed_db.session_scope() as session:
        operator_id, tenant = _county(session, stations=False)
        _ingest(session, tenant, *(record(address=ADDRESS) for _ in range(5)))
    with committed_db.session_scope() as first:
        assert matching.match_pending(first, operator_id=operator_id, limit=3) == 3
        with committed_db.session_scope() as second:
            assert matching.match_pending(second, operator_id=operator_id) == 2
            assert matching.match_pending(second, operator_id=operator_id) == 0
    with committed_db.session_scope() as session:
        assert matching.pending_count(session, operator_id=operator_id) == 0
        assert set(_statuses(session, operator_id).values()) == {"village"}


def test_with_redis_the_job_carries_the_operator_id_only_and_a_worker_runs_it(
    pg_url: str, committed_db: Database
) -> None:
    with committed_db.session_scope() as session:
        operator_id, tenant = _county(session, stations=False)
        secret_phone = "13912345678"
        _ingest(session, tenant, record(address=ADDRESS, recipient={"name": "王秀英", "phone": secret_phone}))
    connection = Redis.from_url(REDIS_URL)
    queue = Queue(QUEUE, connection=connection)
    before = set(queue.job_ids)
    schedule_matching(settings_for(pg_url, redis_url=REDIS_URL), committed_db, operator_id)
    ours = [queue.fetch_job(job_id) for job_id in set(queue.job_ids) - before]
    try:
        assert len(ours) == 1
        job = ours[0]
        assert job is not None
        assert job.func == run_matching
        assert job.args == (str(operator_id),)
        assert secret_phone not in repr(job.args) + repr(job.kwargs)
        assert QUEUE in ALL_QUEUES
        os.environ["GONGPEI_DATABASE_URL"] = pg_url
        try:
            from dispatch.config import get_settings

            get_settings.cache_clear()
            assert job.perform() == 1  # what a worker does with it
        finally:
            del os.environ["GONGPEI_DATABASE_URL"]
            get_settings.cache_clear()
        with committed_db.session_scope() as session:
            assert matching.pending_count(session, operator_id=operator_id) == 0
    finally:
        for job in ours:
            if job is not None:
                job.delete()


def test_without_redis_matching_runs_in_process(pg_url: str, committed_db: Database) -> None:
    with committed_db.session_scope() as session:
        operator_id, tenant = _county(session, stations=False)
        rec = record(address=ADDRESS)
        _ingest(session, tenant, rec)
    schedule_matching(settings_for(pg_url), committed_db, operator_id)
    with committed_db.session_scope() as session:
        assert _statuses(session, operator_id) == {rec["waybill_no"]: "village"}


def test_planning_a_wave_matches_what_is_still_pending(db_session: Session) -> None:
    from datetime import date

    from dispatch.planning.waves import batch_wave

    operator_id, tenant = _county(db_session)
    _ingest(db_session, tenant, record(address=ADDRESS), record(address="宽甸县灌水镇李家大屯5组"))
    assert matching.pending_count(db_session, operator_id=operator_id) == 2
    batch_wave(
        db_session,
        operator_id=operator_id,
        service_date=date(2026, 11, 30),
        wave=1,
        settings=settings_for(""),
    )
    assert matching.pending_count(db_session, operator_id=operator_id) == 0
