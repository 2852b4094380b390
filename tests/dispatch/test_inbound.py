"""POST /v1/inbound/{format}: native pushes and parcel payloads, signatures, duplicates, isolation."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from carriers.unified import Brand, ParcelStatus
from dispatch.models import Parcel, ParcelEvent
from tests.builders import Tenant, batch, idem, make_tenant, record

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _zto_form(traces: list[dict], secret: str) -> bytes:
    data = json.dumps(traces, ensure_ascii=False)
    digest = base64.b64encode(hashlib.md5((data + secret).encode()).digest()).decode()
    return urlencode({"company_id": "GP", "msg_type": "Traces", "data": data, "data_digest": digest}).encode()


def _trace(waybill: str, action: str, when: str, **extra: str) -> dict:
    return {"billCode": waybill, "action": action, "actionTime": when, **extra}


def _parcels(client: TestClient, tenant: Tenant, n: int) -> list[str]:
    records = [record() for _ in range(n)]
    assert (
        client.post("/v1/parcels", json=batch(*records), headers={**tenant.auth, **idem()}).status_code == 200
    )
    return [r["waybill_no"] for r in records]


def test_signed_push_records_events_and_moves_status(client: TestClient, db_session: Session) -> None:
    """A signed ZTO push: events for own parcels recorded, statuses set, unknown waybills rejected alone."""
    tenant = make_tenant(db_session)
    w1, w2 = _parcels(client, tenant, 2)
    body = _zto_form(
        [
            _trace(w1, "ARRIVAL", "2026-11-30 08:00:00", facilityName="宽甸县共配中心"),
            _trace(w1, "INBOUND", "2026-11-30 14:00:00", facilityCode="KD-1", pickupCode="3-2-117"),
            _trace(w2, "DISPATCH", "2026-11-30 09:00:00"),
            _trace("73999999999999", "ARRIVAL", "2026-11-30 08:00:00"),
            _trace(w2, "TELEPORT", "2026-11-30 09:00:00"),
        ],
        tenant.signing_secret,
    )
    resp = client.post("/v1/inbound/zto", content=body, headers={**tenant.auth, **FORM})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["summary"] == {"received": 5, "recorded": 3, "duplicate": 0, "rejected": 2}
    assert {(r["index"], r["field"]) for r in out["rejected"]} == {(3, "waybill_no"), (4, "action")}
    statuses = dict(
        db_session.execute(
            select(Parcel.waybill_no, Parcel.status).where(Parcel.waybill_no.in_([w1, w2]))
        ).all()
    )
    assert statuses == {w1: ParcelStatus.AT_STATION, w2: ParcelStatus.OUT_FOR_DELIVERY}
    station = db_session.execute(
        select(ParcelEvent).where(
            ParcelEvent.raw_code == "INBOUND", ParcelEvent.carrier_id == tenant.carrier_id
        )
    ).scalar_one()
    assert station.pickup_code == "3-2-117"
    assert station.raw_namespace == "action"


def test_repeated_push_is_a_replay_and_events_are_stored_once(
    client: TestClient, db_session: Session
) -> None:
    """The same body again (no key) replays; the same trace in a new body is a duplicate, not a second row."""
    tenant = make_tenant(db_session)
    (w1,) = _parcels(client, tenant, 1)
    body = _zto_form([_trace(w1, "ARRIVAL", "2026-11-30 08:00:00")], tenant.signing_secret)
    first = client.post("/v1/inbound/zto", content=body, headers={**tenant.auth, **FORM})
    again = client.post("/v1/inbound/zto", content=body, headers={**tenant.auth, **FORM})
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = _zto_form(
        [_trace(w1, "ARRIVAL", "2026-11-30 08:00:00"), _trace(w1, "DISPATCH", "2026-11-30 10:00:00")],
        tenant.signing_secret,
    )
    resp = client.post("/v1/inbound/zto", content=other, headers={**tenant.auth, **FORM}).json()
    assert [a["result"] for a in resp["accepted"]] == ["duplicate", "recorded"]
    scans = db_session.scalars(
        select(ParcelEvent).where(
            ParcelEvent.raw_code == "ARRIVAL", ParcelEvent.carrier_id == tenant.carrier_id
        )
    ).all()
    assert len(scans) == 1


def test_late_older_scan_does_not_roll_status_back(client: TestClient, db_session: Session) -> None:
    """An older scan arriving after a newer one is recorded but leaves the newer status in place."""
    tenant = make_tenant(db_session)
    (w1,) = _parcels(client, tenant, 1)
    for trace in (
        _trace(w1, "DISPATCH", "2026-11-30 10:00:00"),
        _trace(w1, "ARRIVAL", "2026-11-30 08:00:00"),
    ):
        client.post("/v1/inbound/zto", json=[trace], headers=tenant.auth)
    db_session.expire_all()
    assert (
        db_session.scalar(select(Parcel.status).where(Parcel.waybill_no == w1))
        is ParcelStatus.OUT_FOR_DELIVERY
    )


def test_future_event_is_rejected(client: TestClient, db_session: Session) -> None:
    """An event dated a day ahead is refused on its own."""
    tenant = make_tenant(db_session)
    (w1,) = _parcels(client, tenant, 1)
    ahead = (datetime.now(UTC) + timedelta(days=1)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    resp = client.post("/v1/inbound/zto", json=[_trace(w1, "SIGNED", ahead)], headers=tenant.auth).json()
    assert resp["rejected"][0]["field"] == "occurred_at"


def test_wrong_signature_is_403_and_writes_nothing(client: TestClient, db_session: Session) -> None:
    """A push signed with another secret is refused as a whole."""
    tenant = make_tenant(db_session)
    (w1,) = _parcels(client, tenant, 1)
    body = _zto_form([_trace(w1, "ARRIVAL", "2026-11-30 08:00:00")], "not-the-secret")
    resp = client.post("/v1/inbound/zto", content=body, headers={**tenant.auth, **FORM})
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["field"] == "signature"
    assert (
        db_session.scalars(
            select(ParcelEvent).where(
                ParcelEvent.raw_code == "ARRIVAL", ParcelEvent.carrier_id == tenant.carrier_id
            )
        ).all()
        == []
    )


def test_format_must_be_own_brand_or_aggregator(client: TestClient, db_session: Session) -> None:
    """A ZTO account may not post YTO's format (403); unknown formats are 422."""
    tenant = make_tenant(db_session)
    assert client.post("/v1/inbound/yto", json=[], headers=tenant.auth).status_code == 403
    assert client.post("/v1/inbound/nosuch", json=[], headers=tenant.auth).status_code == 422


def test_unreadable_payload_is_400_naming_the_problem(client: TestClient, db_session: Session) -> None:
    """Garbage, or a form without its data field, is a 400 naming what is wrong."""
    tenant = make_tenant(db_session)
    garbage = client.post(
        "/v1/inbound/zto",
        content=b"\x00\xff garbage",
        headers={**tenant.auth, "content-type": "application/json"},
    )
    assert garbage.status_code == 400
    assert garbage.json()["errors"][0]["field"] == "body"
    no_data = client.post(
        "/v1/inbound/zto", content=b"company_id=1&data_digest=x", headers={**tenant.auth, **FORM}
    )
    assert no_data.status_code in (400, 403)


def test_native_parcels_land_with_native_field_names_in_issues(
    client: TestClient, db_session: Session
) -> None:
    """kind=parcels: ZTO's own waybill records are created; a bad one is named in ZTO's vocabulary."""
    tenant = make_tenant(db_session)
    payload = {
        "waybills": [
            {
                "billCode": "73123456780001",
                "receiveInfo": {
                    "receiverName": "王五",
                    "receiverMobile": "13812345678",
                    "receiverAddress": "宽甸县青山沟镇青山村",
                },
                "weight": 1.5,
            },
            {
                "billCode": "73123456780002",
                "receiveInfo": {
                    "receiverName": "赵六",
                    "receiverMobile": "123",
                    "receiverAddress": "宽甸县青山沟镇青山村",
                },
                "weight": 1.5,
            },
        ]
    }
    resp = client.post("/v1/inbound/zto?kind=parcels", json=payload, headers={**tenant.auth, **idem()})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert [a["waybill_no"] for a in out["accepted"]] == ["73123456780001"]
    assert out["rejected"][0]["field"] == "receiveInfo.receiverMobile"
    weight = db_session.scalar(
        select(Parcel.weight_g).where(
            Parcel.waybill_no == "73123456780001", Parcel.carrier_id == tenant.carrier_id
        )
    )
    assert weight == 1500


def test_events_for_another_carriers_parcels_are_rejected_like_unknown(
    client: TestClient, db_session: Session
) -> None:
    """B pushing scans for A's waybills gets the same rejection as for waybills that do not exist."""
    a = make_tenant(db_session)
    b = make_tenant(db_session, operator_id=a.operator_id)
    (w1,) = _parcels(client, a, 1)
    resp = client.post(
        "/v1/inbound/zto",
        json=[
            _trace(w1, "SIGNED", "2026-11-30 10:00:00"),
            _trace("73888888888888", "SIGNED", "2026-11-30 10:00:00"),
        ],
        headers=b.auth,
    ).json()
    assert [(r["field"], r["reason"]) for r in resp["rejected"]] == [
        ("waybill_no", "no parcel with this waybill number")
    ] * 2
    db_session.expire_all()
    assert db_session.scalar(select(Parcel.status).where(Parcel.waybill_no == w1)) is ParcelStatus.ANNOUNCED


def test_post_parcels_checks_waybills_by_brand(client: TestClient, db_session: Session) -> None:
    """POST /v1/parcels: an S10 number with a wrong check digit is rejected; an odd pattern is a warning."""
    tenant = make_tenant(db_session, brand=Brand.ZTO)
    resp = client.post(
        "/v1/parcels",
        json=batch(
            record(waybill_no="EB000717594HK"),
            record(waybill_no="ZZ12345"),
            record(waybill_no="73123456789099"),
        ),
        headers={**tenant.auth, **idem()},
    ).json()
    assert [r["index"] for r in resp["rejected"]] == [0]
    assert "check digit" in resp["rejected"][0]["reason"]
    warnings = {a["waybill_no"]: a["warnings"] for a in resp["accepted"]}
    assert warnings["73123456789099"] == []
    assert "ZTO" in warnings["ZZ12345"][0]["reason"]


def test_s10_check_digit_applies_to_brands_without_an_adapter(
    client: TestClient, db_session: Session
) -> None:
    """An 'other' brand account gets no pattern warnings, but a wrong S10 check digit is still rejected."""
    tenant = make_tenant(db_session, brand=Brand.OTHER)
    resp = client.post(
        "/v1/parcels",
        json=batch(record(waybill_no="EB000717594HK"), record(waybill_no="ANY-NUMBER-1")),
        headers={**tenant.auth, **idem()},
    ).json()
    assert [r["index"] for r in resp["rejected"]] == [0]
    assert resp["accepted"][0]["warnings"] == []
