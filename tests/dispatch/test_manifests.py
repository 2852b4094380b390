"""Publishing a plan as manifests and the driver's phone fetching its own (PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carriers.unified import ParcelStatus
from dispatch.fleet import service as fleet
from dispatch.models import Driver, Manifest, Parcel, ParcelEvent
from tests.builders import make_desk_user, make_tenant
from tests.dispatch.test_plans import DAY, _county_day, plan_client  # noqa: F401 - the fixture

__all__ = ["plan_client"]


def _plan(client: TestClient, auth: dict[str, str], **body: object) -> dict[str, object]:
    plan_id = client.post("/v1/plans", json={"service_date": DAY, **body}, headers=auth).json()["plan_id"]
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth).json()
    assert plan["status"] == "draft", plan.get("error")
    return plan


def _tokens(session: Session, operator_id: uuid.UUID) -> dict[str, str]:
    drivers = session.execute(select(Driver).where(Driver.operator_id == operator_id)).scalars()
    return {str(d.id): fleet.issue_driver_token(session, driver_id=d.id, hours=14).api_key for d in drivers}


def test_publish_makes_one_manifest_per_route_once(plan_client: TestClient, db_session: Session) -> None:
    desk, _, _ = _county_day(db_session)
    plan = _plan(plan_client, desk.auth, wave=1)
    first = plan_client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth)
    again = plan_client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    made = first.json()["manifests"]
    assert sorted(m["vehicle_id"] for m in made) == sorted(r["vehicle_id"] for r in plan["routes"])  # type: ignore[union-attr]
    assert {m["version"] for m in made} == {1}
    assert plan_client.get(f"/v1/plans/{plan['plan_id']}", headers=desk.auth).json()["status"] == "published"


def test_the_driver_fetches_only_their_own_manifest_masked(
    plan_client: TestClient, db_session: Session
) -> None:
    desk, _, _ = _county_day(db_session)
    tokens = _tokens(db_session, desk.operator_id)
    plan = _plan(plan_client, desk.auth, wave=1)
    made = plan_client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
    phones = {p.recipient_phone for p in db_session.execute(select(Parcel)).scalars()}
    names = {p.recipient_name for p in db_session.execute(select(Parcel)).scalars()}

    for manifest in made:
        token = tokens[manifest["driver_id"]]
        headers = {"Authorization": f"Bearer {token}", "X-Device-Id": f"phone-{manifest['driver_id'][:6]}"}
        resp = plan_client.get("/v1/driver/manifest", headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["manifest_id"] == manifest["manifest_id"]
        assert body["driver_id"] == manifest["driver_id"]
        text = json.dumps(body, ensure_ascii=False)
        assert not any(phone in text for phone in phones)
        assert not any(f'"{name}"' in text for name in names)
        crates = [s["crate"] for s in body["stops"] if s["trip"] == 1]
        assert body["loading_order"][0]["load_first_to_last"] == list(reversed(crates))
        etag = resp.headers["etag"]
        unchanged = plan_client.get("/v1/driver/manifest", headers={**headers, "If-None-Match": etag})
        assert unchanged.status_code == 304
        other_phone = {**headers, "X-Device-Id": "someone-elses-phone"}
        assert plan_client.get("/v1/driver/manifest", headers=other_phone).status_code == 401
    assert (
        plan_client.get(
            "/v1/driver/manifest", headers={"Authorization": f"Bearer {next(iter(tokens.values()))}"}
        ).status_code
        == 401
    )
    carrier = make_tenant(db_session, operator_id=desk.operator_id)
    assert (
        plan_client.get("/v1/driver/manifest", headers={**carrier.auth, "X-Device-Id": "x"}).status_code
        == 401
    )
    assert (
        plan_client.get("/v1/driver/manifest", headers={**desk.auth, "X-Device-Id": "x"}).status_code == 401
    )


def test_a_driver_with_nothing_published_gets_404(plan_client: TestClient, db_session: Session) -> None:
    desk, _, _ = _county_day(db_session)
    _, token = fleet.create_driver(
        db_session, operator_id=desk.operator_id, name="休息的师傅", token_hours=14
    )
    plan = _plan(plan_client, desk.auth, wave=1)
    plan_client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth)
    resp = plan_client.get(
        "/v1/driver/manifest", headers={"Authorization": f"Bearer {token.api_key}", "X-Device-Id": "p"}
    )
    assert resp.status_code == 404


def test_published_parcels_stay_out_of_other_plans_and_a_replan_supersedes(
    plan_client: TestClient, db_session: Session
) -> None:
    desk, _, _ = _county_day(db_session)
    tokens = _tokens(db_session, desk.operator_id)
    first = _plan(plan_client, desk.auth, wave=1)
    made = plan_client.post(f"/v1/plans/{first['plan_id']}/publish", headers=desk.auth).json()["manifests"]

    everything_else = _plan(plan_client, desk.auth)  # no wave: all waiting parcels not on a published route
    assert everything_else["routes"] == []
    assert everything_else["parcels"] == 0

    replan = _plan(plan_client, desk.auth, wave=1)  # the same wave again takes its parcels again
    assert replan["parcels"] == first["parcels"]
    second = plan_client.post(f"/v1/plans/{replan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
    assert {m["version"] for m in second} == {2}
    db_session.expire_all()
    old = db_session.execute(
        select(Manifest).where(Manifest.id.in_([uuid.UUID(m["manifest_id"]) for m in made]))
    )
    assert all(m.superseded_at is not None for m in old.scalars())
    driver_id = second[0]["driver_id"]
    headers = {"Authorization": f"Bearer {tokens[driver_id]}", "X-Device-Id": "phone"}
    assert plan_client.get("/v1/driver/manifest", headers=headers).json()["version"] == 2


def test_only_a_draft_of_ones_own_can_be_published(plan_client: TestClient, db_session: Session) -> None:
    """A failed plan (no fleet) is a 409 naming its status; another operator's plan is a 404 like a
    random id."""
    lonely = make_desk_user(db_session, county_code="210624")
    failed = plan_client.post("/v1/plans", json={"service_date": DAY}, headers=lonely.auth).json()["plan_id"]
    refused = plan_client.post(f"/v1/plans/{failed}/publish", headers=lonely.auth)
    assert refused.status_code == 409
    assert refused.json()["errors"] == [{"field": "status", "reason": "is failed, not draft"}]
    desk, _, _ = _county_day(db_session)
    theirs = plan_client.post(f"/v1/plans/{failed}/publish", headers=desk.auth)
    random = plan_client.post(f"/v1/plans/{uuid.uuid4()}/publish", headers=desk.auth)
    assert theirs.status_code == random.status_code == 404


def _published(client: TestClient, session: Session) -> tuple[dict[str, Any], dict[str, str]]:
    """A published wave-1 plan; the first manifest's driver headers and their manifest."""
    desk, _, _ = _county_day(session)
    tokens = _tokens(session, desk.operator_id)
    plan = _plan(client, desk.auth, wave=1)
    made = client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
    driver_id = made[0]["driver_id"]
    headers = {"Authorization": f"Bearer {tokens[driver_id]}", "X-Device-Id": "phone-a"}
    return client.get("/v1/driver/manifest", headers=headers).json(), headers


def _waybills(manifest: dict[str, Any]) -> list[str]:
    return [
        p["waybill_no"]
        for s in manifest["stops"]
        for items in s["deliveries_by_carrier"].values()
        for p in items
    ]


def _event(waybill: str, **fields: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "waybill_no": waybill,
        "type": "delivered",
        "occurred_at": "2026-11-30T10:00:00+08:00",
        **fields,
    }


def test_driver_events_land_once_each_and_move_the_status(
    plan_client: TestClient, db_session: Session
) -> None:
    manifest, headers = _published(plan_client, db_session)
    mine = _waybills(manifest)
    events = [
        _event(mine[0], proof={"pickup_code": "3-2-118"}),
        _event(mine[-1], type="failed", reason="nobody_home"),
    ]
    first = plan_client.post("/v1/driver/events", json={"events": events}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["summary"] == {"received": 2, "recorded": 2, "duplicate": 0, "rejected": 0}
    replay = plan_client.post("/v1/driver/events", json={"events": events}, headers=headers).json()
    assert replay["summary"] == {"received": 2, "recorded": 0, "duplicate": 2, "rejected": 0}
    db_session.expire_all()
    statuses = {
        p.waybill_no: p.status
        for p in db_session.execute(
            select(Parcel).where(Parcel.waybill_no.in_([mine[0], mine[-1]]))
        ).scalars()
    }
    assert statuses == {mine[0]: ParcelStatus.DELIVERED_RECIPIENT, mine[-1]: ParcelStatus.FAILED_ATTEMPT}
    scans = db_session.execute(
        select(ParcelEvent).where(ParcelEvent.raw_namespace == "driver", ParcelEvent.pickup_code == "3-2-118")
    ).scalars()
    assert len(list(scans)) == 1


def test_bad_driver_events_are_rejected_one_by_one(plan_client: TestClient, db_session: Session) -> None:
    manifest, headers = _published(plan_client, db_session)
    mine = _waybills(manifest)
    others = [
        p.waybill_no for p in db_session.execute(select(Parcel)).scalars() if p.waybill_no not in set(mine)
    ]
    events = [
        _event(mine[0], handover={"to": "station", "consent": False}),  # no consent
        _event(others[0] if others else "7000000000000"),  # not on my manifest
        _event(mine[0], occurred_at="2099-01-01T00:00:00+08:00"),  # future
        _event(mine[0], type="failed"),  # no reason
        {
            "event_id": "not-a-uuid",
            "waybill_no": mine[0],
            "type": "delivered",
            "occurred_at": "2026-11-30T10:00:00+08:00",
        },
        _event(mine[0], handover={"to": "locker", "consent": True}),  # good: consented
    ]
    out = plan_client.post("/v1/driver/events", json={"events": events}, headers=headers).json()
    assert [(r["index"], r["field"]) for r in out["rejected"]] == [
        (0, "handover.consent"),
        (1, "waybill_no"),
        (2, "occurred_at"),
        (3, "reason"),
        (4, "event_id"),
    ]
    assert [(a["index"], a["status"]) for a in out["accepted"]] == [(5, "at_station")]
    for body in ({"events": []}, {"events": "x"}, {"events": [_event(mine[0])], "extra": 1}, []):
        resp = plan_client.post("/v1/driver/events", json=body, headers=headers)
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "events"


def test_route_start_and_end_are_recorded_on_the_manifest_once(
    plan_client: TestClient, db_session: Session
) -> None:
    manifest, headers = _published(plan_client, db_session)
    start = {"event_id": str(uuid.uuid4()), "type": "route_start", "occurred_at": "2026-11-30T08:50:00+08:00"}
    end = {"event_id": str(uuid.uuid4()), "type": "route_end", "occurred_at": "2026-11-30T16:10:00+08:00"}
    early_end = {**end, "event_id": str(uuid.uuid4()), "occurred_at": "2026-11-30T08:00:00+08:00"}
    out = plan_client.post("/v1/driver/events", json={"events": [start, early_end]}, headers=headers).json()
    assert [(a["index"], a["result"]) for a in out["accepted"]] == [(0, "recorded")]
    assert out["rejected"] == [
        {"index": 1, "field": "occurred_at", "reason": "the route cannot end before it started"}
    ]
    again = plan_client.post("/v1/driver/events", json={"events": [start, end]}, headers=headers).json()
    assert [(a["index"], a["result"]) for a in again["accepted"]] == [(0, "duplicate"), (1, "recorded")]
    db_session.expire_all()
    row = db_session.get(Manifest, uuid.UUID(manifest["manifest_id"]))
    assert row is not None
    assert (row.started_at.isoformat(), row.ended_at.isoformat()) == (  # type: ignore[union-attr]
        "2026-11-30T00:50:00+00:00",
        "2026-11-30T08:10:00+00:00",
    )
    no_waybill = {
        "event_id": str(uuid.uuid4()),
        "type": "delivered",
        "occurred_at": "2026-11-30T10:00:00+08:00",
    }
    refused = plan_client.post("/v1/driver/events", json={"events": [no_waybill]}, headers=headers).json()
    assert refused["rejected"][0]["field"] == "waybill_no"


def test_a_delivery_preference_shows_on_the_manifest_and_is_consent_on_file(
    plan_client: TestClient, db_session: Session
) -> None:
    """A parcel whose recipient chose a locker shows it on the manifest and may be left in one without a
    consent tick; one with no preference still needs the tick for a station."""
    desk, waybills, _ = _county_day(db_session)
    chosen, plain = waybills["zto"][0], waybills["zto"][1]
    db_session.execute(update(Parcel).where(Parcel.waybill_no == chosen).values(delivery_preference="locker"))
    tokens = _tokens(db_session, desk.operator_id)
    plan = _plan(plan_client, desk.auth, wave=1)
    made = plan_client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
    items: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for manifest in made:
        headers = {"Authorization": f"Bearer {tokens[manifest['driver_id']]}", "X-Device-Id": "phone"}
        content = plan_client.get("/v1/driver/manifest", headers=headers).json()
        for stop in content["stops"]:
            for parcels in stop["deliveries_by_carrier"].values():
                for item in parcels:
                    items[item["waybill_no"]] = (item, headers)
    assert items[chosen][0]["delivery_preference"] == "locker"
    assert items[chosen][0]["consent_on_file"] is True
    assert items[plain][0]["delivery_preference"] is None
    assert items[plain][0]["consent_on_file"] is False

    for waybill, to, accepted in (
        (chosen, "locker", True),
        (plain, "station", False),
        (chosen, "station", False),
    ):
        event = _event(waybill, handover={"to": to})
        out = plan_client.post(
            "/v1/driver/events", json={"events": [event]}, headers=items[waybill][1]
        ).json()
        if accepted:
            assert [a["status"] for a in out["accepted"]] == ["at_station"]
        else:
            assert [r["field"] for r in out["rejected"]] == ["handover.consent"]
    db_session.expire_all()
    scan = db_session.execute(
        select(ParcelEvent).where(
            ParcelEvent.raw_namespace == "driver", ParcelEvent.status == ParcelStatus.AT_STATION
        )
    ).scalar_one()
    assert "consent on file" in (scan.description or "")


def test_the_manifest_is_gzipped_for_phones_that_accept_it(
    plan_client: TestClient, db_session: Session
) -> None:
    """gzip when accepted (its own ETag), plain JSON otherwise; the same content either way; either ETag
    revalidates to a 304."""
    manifest, headers = _published(plan_client, db_session)
    packed = plan_client.get("/v1/driver/manifest", headers={**headers, "Accept-Encoding": "gzip"})
    plain = plan_client.get("/v1/driver/manifest", headers={**headers, "Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert packed.json() == plain.json() == manifest
    assert packed.headers["etag"] != plain.headers["etag"]
    assert int(packed.headers["content-length"]) < int(plain.headers["content-length"]) / 3
    for etag in (packed.headers["etag"], plain.headers["etag"]):
        again = plan_client.get(
            "/v1/driver/manifest", headers={**headers, "Accept-Encoding": "gzip", "If-None-Match": etag}
        )
        assert again.status_code == 304
