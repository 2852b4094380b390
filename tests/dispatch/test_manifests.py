"""Publishing a plan as manifests and the driver's phone fetching its own (PostgreSQL)."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.fleet import service as fleet
from dispatch.models import Driver, Manifest, Parcel
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
