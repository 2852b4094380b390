"""Matching on ingestion, the review queue, and corrections remembered as aliases (PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.divisions.service import import_gazetteer
from dispatch.models import Parcel
from dispatch.models.station import StationCoverage
from dispatch.stations.service import seed_village_stations
from tests.builders import DeskUser, Tenant, batch, idem, make_desk_user, make_tenant, record
from tests.dispatch.gazetteer_data import KUANDIAN, counties

DONGCHA = "210624101201"  # 宽甸县 灌水镇 东岔村
FUXIN = "210921"  # 阜新蒙古族自治县: many village names shared by two townships


def _county(db_session: Session, county: str = KUANDIAN) -> tuple[DeskUser, Tenant]:
    """An operator with its county's gazetteer, one station per village, a desk user and a carrier."""
    import_gazetteer(db_session, counties(county))
    desk = make_desk_user(db_session, county_code=county)
    seed_village_stations(db_session, operator_id=desk.operator_id)
    carrier = make_tenant(db_session, operator_id=desk.operator_id)
    db_session.flush()
    return desk, carrier


def _parcel(db_session: Session, waybill: str) -> Parcel:
    db_session.expire_all()
    return db_session.execute(select(Parcel).where(Parcel.waybill_no == waybill)).scalar_one()


def test_sure_village_gets_its_station_on_ingestion(client: TestClient, db_session: Session) -> None:
    """A parcel whose address names its village is matched and given that village's station at once."""
    _desk, carrier = _county(db_session)
    rec = record(address="辽宁省丹东市宽甸满族自治县灌水镇东岔村3组")
    client.post("/v1/parcels", json=batch(rec), headers={**carrier.auth, **idem()})
    parcel = _parcel(db_session, rec["waybill_no"])
    assert (parcel.match_status, parcel.village_code) == ("village", DONGCHA)
    assert parcel.station_id is not None
    view = client.get(f"/v1/parcels/{rec['waybill_no']}", headers=carrier.auth).json()
    assert view["resolution"]["village_code"] == DONGCHA
    assert view["resolution"]["station_id"] == str(parcel.station_id)


def test_unsure_parcels_wait_in_the_queue_and_a_correction_teaches_the_next(
    client: TestClient, db_session: Session
) -> None:
    """A hamlet not in the gazetteer waits; the dispatcher's choice is remembered for its address form."""
    desk, carrier = _county(db_session)
    first = record(address="宽甸县灌水镇李家大屯5组")
    waiting_twin = record(address="宽甸县灌水镇李家大屯2组 王五")
    client.post("/v1/parcels", json=batch(first, waiting_twin), headers={**carrier.auth, **idem()})
    assert _parcel(db_session, first["waybill_no"]).match_status == "township"

    queue = client.get("/v1/review", headers=desk.auth).json()["items"]
    waiting = {item["waybill_no"]: item for item in queue}
    assert set(waiting) == {first["waybill_no"], waiting_twin["waybill_no"]}
    assert waiting[first["waybill_no"]]["match"]["township_code"] == "210624101"

    # The dispatcher knows 李家大屯 is served from 东岔村's station.
    station_id = db_session.execute(
        select(StationCoverage.station_id).where(
            StationCoverage.village_code == DONGCHA, StationCoverage.operator_id == desk.operator_id
        )
    ).scalar_one()
    parcel = _parcel(db_session, first["waybill_no"])
    resp = client.post(
        f"/v1/review/{parcel.id}/assign", json={"station_id": str(station_id)}, headers=desk.auth
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["village_code"] == DONGCHA
    assert out["also_assigned"] == 1  # the twin waiting with the same address form
    assert _parcel(db_session, waiting_twin["waybill_no"]).station_id == station_id

    later = record(address="宽甸县灌水镇李家大屯1组 赵六 13812345678")
    client.post("/v1/parcels", json=batch(later), headers={**carrier.auth, **idem()})
    learned = _parcel(db_session, later["waybill_no"])
    assert (learned.village_code, learned.station_id) == (DONGCHA, station_id)
    assert client.get("/v1/review", headers=desk.auth).json()["items"] == []


def test_ambiguous_parcel_lists_its_candidates(client: TestClient, db_session: Session) -> None:
    """An address that fits two villages waits with both as candidates, and no station is guessed."""
    desk, carrier = _county(db_session, FUXIN)
    names: dict[str, set[str]] = {}
    for village in counties(FUXIN).villages():
        if village.name.endswith("村委会") and not village.name.endswith("村村委会") and not village.retired:
            names.setdefault(village.name, set()).add(village.township_code or "")
    shared = next(n for n, townships in sorted(names.items()) if len(townships) > 1)
    rec = record(address=f"阜新蒙古族自治县{shared.removesuffix('委会')}")
    client.post("/v1/parcels", json=batch(rec), headers={**carrier.auth, **idem()})
    item = client.get("/v1/review", params={"status": "ambiguous"}, headers=desk.auth).json()["items"][0]
    assert len(item["match"]["candidates"]) >= 2
    assert _parcel(db_session, rec["waybill_no"]).station_id is None


def test_review_is_per_operator(client: TestClient, db_session: Session) -> None:
    """Another operator's desk sees none of these parcels and cannot assign them (404 like a random id)."""
    _desk, carrier = _county(db_session)
    rec = record(address="宽甸县灌水镇李家大屯5组")
    client.post("/v1/parcels", json=batch(rec), headers={**carrier.auth, **idem()})
    other = make_desk_user(db_session, county_code=KUANDIAN)
    assert client.get("/v1/review", headers=other.auth).json()["items"] == []
    parcel = _parcel(db_session, rec["waybill_no"])
    foreign = client.post(
        f"/v1/review/{parcel.id}/assign",
        json={"station_id": "00000000-0000-4000-8000-000000000000"},
        headers=other.auth,
    )
    missing = client.post(
        "/v1/review/00000000-0000-4000-8000-000000000001/assign",
        json={"station_id": "00000000-0000-4000-8000-000000000000"},
        headers=other.auth,
    )
    assert foreign.status_code == missing.status_code == 404
    assert client.get("/v1/review", headers=carrier.auth).status_code == 401
