"""POST /v1/parcels and the carrier's read views, on PostgreSQL."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carriers.unified import ParcelStatus
from dispatch.models import Parcel, ParcelEvent
from tests.builders import Tenant, batch, idem, make_tenant, record


def _post(client: TestClient, tenant: Tenant, body: object, **headers: str):
    return client.post("/v1/parcels", json=body, headers={**tenant.auth, **idem(), **headers})


def test_good_batch_lands_and_reports_each_record(client: TestClient, db_session: Session) -> None:
    """Every valid record is created and reported with its index and parcel id."""
    tenant = make_tenant(db_session)
    records = [record() for _ in range(3)]
    resp = _post(client, tenant, batch(*records))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [a["index"] for a in body["accepted"]] == [0, 1, 2]
    assert {a["waybill_no"] for a in body["accepted"]} == {r["waybill_no"] for r in records}
    assert all(a["result"] == "created" for a in body["accepted"])
    assert body["summary"] == {"received": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    count = db_session.scalar(
        select(func.count()).select_from(Parcel).where(Parcel.carrier_id == tenant.carrier_id)
    )
    assert count == 3


def test_bad_records_are_rejected_with_index_and_field_while_good_ones_land(
    client: TestClient, db_session: Session
) -> None:
    """A mixed batch: good records land, each bad one names its index, field and reason."""
    tenant = make_tenant(db_session)
    good = record()
    bad = [
        record(weight_g=10_000_000),  # absurd weight
        record(recipient={"name": "李四", "phone": "12345"}),  # wrong phone shape
        record(address="   "),  # blank
        record(extra_field=1),  # unknown field
        record(address="宽甸县\x07青山村"),  # control character
        record(weight_g="1200"),  # wrong type
        record(carrier_id="00000000-0000-0000-0000-000000000000"),  # tries to name a tenant
        "not an object",
    ]
    resp = _post(client, tenant, batch(good, *bad))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [a["waybill_no"] for a in body["accepted"]] == [good["waybill_no"]]
    rejected = {r["index"]: r for r in body["rejected"]}
    assert sorted(rejected) == list(range(1, 9))
    assert rejected[1]["field"] == "weight_g"
    assert rejected[2]["field"] == "recipient.phone"
    assert rejected[3]["field"] == "address"
    assert rejected[4]["field"] == "extra_field"
    assert rejected[5]["field"] == "address"
    assert "control" in rejected[5]["reason"]
    assert rejected[6]["field"] == "weight_g"
    assert rejected[7]["field"] == "carrier_id"
    assert rejected[8]["waybill_no"] is None
    assert all(r["reason"] for r in body["rejected"])


def test_waybill_repeated_in_one_batch_is_rejected_after_first(
    client: TestClient, db_session: Session
) -> None:
    """The second record with the same waybill is reported as a duplicate; one row exists."""
    tenant = make_tenant(db_session)
    first = record()
    resp = _post(client, tenant, batch(first, dict(first, weight_g=999)))
    body = resp.json()
    assert len(body["accepted"]) == 1
    assert body["rejected"][0]["index"] == 1
    assert "duplicate of record 0" in body["rejected"][0]["reason"]


def test_all_records_bad_is_422_naming_each(client: TestClient, db_session: Session) -> None:
    """A batch with no valid record is a 422 problem listing every record's field."""
    tenant = make_tenant(db_session)
    resp = _post(client, tenant, batch(record(weight_g=0), record(recipient={"name": "", "phone": "1"})))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in resp.json()["errors"]]
    assert "parcels.0.weight_g" in fields
    assert any(f.startswith("parcels.1.recipient") for f in fields)


def test_envelope_errors_are_clear_4xx(client: TestClient, db_session: Session) -> None:
    """Malformed JSON, wrong envelope, 1,001 records and unknown top-level fields each get a named 4xx."""
    tenant = make_tenant(db_session)
    headers = {**tenant.auth, **idem(), "content-type": "application/json"}
    malformed = client.post("/v1/parcels", content=b'{"parcels": [', headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "body"

    not_utf8 = client.post("/v1/parcels", content='{"parcels": "宽"}'.encode("gbk"), headers=headers)
    assert not_utf8.status_code == 400

    empty = client.post("/v1/parcels", content=b"", headers={**tenant.auth, **idem()})
    assert empty.status_code == 400

    for body, field in [
        ([], "body"),
        ({"parcels": "x"}, "parcels"),
        ({"parcels": []}, "parcels"),
        ({"parcels": [record()], "carrier_id": "x"}, "carrier_id"),
        ({"parcels": [record() for _ in range(1001)]}, "parcels"),
    ]:
        resp = _post(client, tenant, body)
        assert resp.status_code == 422, (body if not isinstance(body, dict) else list(body), resp.text)
        assert resp.json()["errors"][0]["field"] == field


def test_body_over_limit_is_413_even_without_content_length(client: TestClient, db_session: Session) -> None:
    """The size cap counts streamed bytes: a chunked body with no Content-Length is still refused."""
    tenant = make_tenant(db_session)
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]

    def chunks():
        piece = b"x" * 65536
        for _ in range(limit // len(piece) + 2):
            yield piece

    resp = client.post("/v1/parcels", content=chunks(), headers={**tenant.auth, **idem()})
    assert resp.status_code == 413
    assert resp.json()["type"] == "/problems/payload-too-large"

    declared = client.post(
        "/v1/parcels",
        content=b"{}",
        headers={**tenant.auth, **idem(), "content-length": str(limit + 1)},
    )
    assert declared.status_code in (400, 413)


def test_repost_updates_in_place_and_records_event(client: TestClient, db_session: Session) -> None:
    """A known waybill re-posted (new key) updates its fields and adds an event; never a second row."""
    tenant = make_tenant(db_session)
    original = record()
    assert _post(client, tenant, batch(original)).json()["accepted"][0]["result"] == "created"

    changed = dict(original, weight_g=2500, address="宽甸满族自治县灌水镇灌水村5组")
    resp = _post(client, tenant, batch(changed))
    assert resp.json()["accepted"][0]["result"] == "updated"
    same = _post(client, tenant, batch(changed))
    assert same.json()["accepted"][0]["result"] == "unchanged"

    rows = db_session.scalars(select(Parcel).where(Parcel.waybill_no == original["waybill_no"])).all()
    assert len(rows) == 1
    assert rows[0].weight_g == 2500
    events = client.get(f"/v1/parcels/{original['waybill_no']}/events", headers=tenant.auth).json()["events"]
    assert [e["kind"] for e in events] == ["created", "updated"]
    assert sorted(events[1]["changed_fields"]) == ["address", "weight_g"]


def test_delivered_parcel_cannot_be_changed(client: TestClient, db_session: Session) -> None:
    """Once delivered, a re-post with changes is rejected for that record; an identical one is unchanged."""
    tenant = make_tenant(db_session)
    original = record()
    _post(client, tenant, batch(original))
    db_session.execute(
        update(Parcel)
        .where(Parcel.waybill_no == original["waybill_no"])
        .values(status=ParcelStatus.DELIVERED_RECIPIENT)
    )
    db_session.flush()
    changed = _post(client, tenant, batch(dict(original, weight_g=1))).json()
    assert changed["accepted"] == []
    assert changed["rejected"][0]["field"] == "waybill_no"
    assert "delivered_recipient" in changed["rejected"][0]["reason"]
    assert _post(client, tenant, batch(original)).json()["accepted"][0]["result"] == "unchanged"


def test_views_mask_recipient_and_show_operator_time(client: TestClient, db_session: Session) -> None:
    """GET returns name and phone masked (≥1 char, ≥6 digits hidden) and times in +08:00."""
    tenant = make_tenant(db_session)
    rec = record(recipient={"name": "欧阳娜娜", "phone": "13912345678"})
    _post(client, tenant, batch(rec))
    resp = client.get(f"/v1/parcels/{rec['waybill_no']}", headers=tenant.auth)
    assert resp.status_code == 200
    body = resp.json()
    assert body["recipient"] == {"name": "欧***", "phone": "*******5678"}
    assert "13912345678" not in resp.text
    assert "欧阳娜娜" not in resp.text
    assert body["created_at"].endswith("+08:00")
    listed = client.get("/v1/parcels", headers=tenant.auth).text
    assert "13912345678" not in listed
    assert "欧阳娜娜" not in listed


def test_waybill_lookup_is_case_insensitive(client: TestClient, db_session: Session) -> None:
    """Waybills are stored upper-case, and a lower-case lookup finds them."""
    tenant = make_tenant(db_session)
    _post(client, tenant, batch(record(waybill_no="yt1234567890123")))
    assert (
        client.get("/v1/parcels/yt1234567890123", headers=tenant.auth).json()["waybill_no"]
        == "YT1234567890123"
    )


def test_list_pages_with_cursor_filters_and_caps(client: TestClient, db_session: Session) -> None:
    """Cursor pages cover every parcel once, in change order; status filters; limit is capped."""
    tenant = make_tenant(db_session)
    records = [record() for _ in range(7)]
    _post(client, tenant, batch(*records[:4]))
    _post(client, tenant, batch(*records[4:]))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/parcels", params=params, headers=tenant.auth).json()
        seen += [p["waybill_no"] for p in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(r["waybill_no"] for r in records)
    assert len(seen) == len(set(seen))
    assert pages == 3

    db_session.execute(
        update(Parcel)
        .where(Parcel.waybill_no == records[0]["waybill_no"])
        .values(status=ParcelStatus.AT_STATION)
    )
    db_session.flush()
    at_station = client.get("/v1/parcels", params={"status": "at_station"}, headers=tenant.auth).json()
    assert [p["waybill_no"] for p in at_station["items"]] == [records[0]["waybill_no"]]

    capped = client.get("/v1/parcels", params={"limit": 100000}, headers=tenant.auth)
    assert capped.status_code == 200
    assert len(capped.json()["items"]) == 7

    future = client.get("/v1/parcels", params={"updated_since": "2999-01-01T00:00:00"}, headers=tenant.auth)
    assert future.json()["items"] == []

    bad = client.get("/v1/parcels", params={"cursor": "not-a-cursor"}, headers=tenant.auth)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
    bad_status = client.get("/v1/parcels", params={"status": "lost"}, headers=tenant.auth)
    assert bad_status.status_code == 422
    assert bad_status.json()["errors"][0]["field"] == "query.status"


def test_events_are_appended_not_rewritten(client: TestClient, db_session: Session) -> None:
    """Each re-post with changes appends one event; earlier events stay as they were."""
    tenant = make_tenant(db_session)
    rec = record()
    _post(client, tenant, batch(rec))
    first = db_session.scalars(select(ParcelEvent).where(ParcelEvent.carrier_id == tenant.carrier_id)).all()
    snapshot = [(e.id, e.kind, e.status) for e in first]
    for weight in (2000, 3000):
        _post(client, tenant, batch(dict(rec, weight_g=weight)))
    db_session.expire_all()
    events = db_session.scalars(
        select(ParcelEvent).where(ParcelEvent.carrier_id == tenant.carrier_id).order_by(ParcelEvent.id)
    ).all()
    assert [(e.id, e.kind, e.status) for e in events[:1]] == snapshot
    assert len(events) == 3


def test_response_has_no_recipient_data(client: TestClient, db_session: Session) -> None:
    """The ingest response (which is stored for replays) holds no name, phone or address."""
    tenant = make_tenant(db_session)
    rec = record(recipient={"name": "赵铁柱", "phone": "15012345678"})
    text = json.dumps(_post(client, tenant, batch(rec, record(weight_g=-5))).json(), ensure_ascii=False)
    assert "15012345678" not in text
    assert "赵铁柱" not in text
    assert rec["address"] not in text


def test_updated_since_takes_iso_8601_only(client: TestClient, db_session: Session) -> None:
    """A bare number is not read as a Unix time: updated_since must be ISO 8601."""
    tenant = make_tenant(db_session)
    resp = client.get("/v1/parcels", params={"updated_since": "1926719065"}, headers=tenant.auth)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "query.updated_since"
    ok = client.get("/v1/parcels", params={"updated_since": "2026-11-30T08:00:00+08:00"}, headers=tenant.auth)
    assert ok.status_code == 200


def test_a_delivery_preference_lands_and_a_bad_one_is_named(client: TestClient, db_session: Session) -> None:
    """door / station / locker is stored and shown; anything else rejects that record alone, naming it;
    a re-post may change it."""
    tenant = make_tenant(db_session)
    good, bad = record(delivery_preference="locker"), record(delivery_preference="roof")
    body = _post(client, tenant, batch(good, bad)).json()
    assert [a["index"] for a in body["accepted"]] == [0]
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "delivery_preference")]
    shown = client.get(f"/v1/parcels/{good['waybill_no']}", headers=tenant.auth).json()
    assert shown["delivery_preference"] == "locker"
    _post(client, tenant, batch({**good, "delivery_preference": "door"}))
    shown = client.get(f"/v1/parcels/{good['waybill_no']}", headers=tenant.auth).json()
    assert shown["delivery_preference"] == "door"
