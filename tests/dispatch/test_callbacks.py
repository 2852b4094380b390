"""Carrier callbacks (PostgreSQL, outbound HTTP through an httpx MockTransport, a simulated clock):
each driver scan reaches its carrier once, in its own format, signed, in order per waybill — also after
the carrier's endpoint was down for an hour — and a delivery that never gets through is dead-lettered
where the desk sees it."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carriers import registry
from dispatch.callbacks import service as callbacks
from dispatch.db import utcnow
from dispatch.models import CallbackDelivery, CallbackStatus, CarrierAccount, Parcel, ParcelEvent
from tests.builders import make_desk_user
from tests.dispatch.test_manifests import _event, _published, _waybills, plan_client  # noqa: F401

__all__ = ["plan_client"]
URL = "https://carrier.example/gongpei/callback"


class Endpoint:
    """A carrier's callback endpoint: down until ``up_at`` (503), then 200; it records what reached it."""

    def __init__(self, up_at: Any = None) -> None:
        self.up_at = up_at
        self.now = utcnow()
        self.received: list[httpx.Request] = []
        self.refused = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.up_at is None or self.now < self.up_at:
            self.refused += 1
            return httpx.Response(503)
        self.received.append(request)
        return httpx.Response(200, json={"result": "ok"})


def _with_callbacks(session: Session, operator_id: uuid.UUID) -> None:
    session.execute(
        update(CarrierAccount).where(CarrierAccount.operator_id == operator_id).values(callback_url=URL)
    )


def _operator_of(session: Session, waybill: str) -> uuid.UUID:
    """The test's own operator (other tests may have committed parcels to the same database)."""
    return session.execute(select(Parcel.operator_id).where(Parcel.waybill_no == waybill)).scalar_one()


def _scan_everything(client: TestClient, session: Session) -> tuple[list[str], dict[str, str]]:
    """A published route; the driver fails every parcel first, then delivers it (two scans per waybill)."""
    manifest, headers = _published(client, session)
    operator_id = _operator_of(session, _waybills(manifest)[0])
    _with_callbacks(session, operator_id)
    # What the API process sends right after each request goes nowhere real: an endpoint that is down.
    client.app.state.callback_transport = httpx.MockTransport(lambda _request: httpx.Response(503))  # type: ignore[attr-defined]
    mine = _waybills(manifest)
    first = [
        _event(w, type="failed", reason="nobody_home", occurred_at="2026-11-30T10:00:00+08:00") for w in mine
    ]
    second = [_event(w, occurred_at="2026-11-30T15:00:00+08:00") for w in mine]
    for batch in (first, second):
        # Deliveries are queued by the request; the test drives the sending itself with its own clock.
        assert client.post("/v1/driver/events", json={"events": batch}, headers=headers).status_code == 200
    return mine, headers


def test_each_scan_reaches_its_carrier_once_signed_in_its_format(
    plan_client: TestClient, db_session: Session
) -> None:
    mine, _ = _scan_everything(plan_client, db_session)
    db_session.execute(
        update(CallbackDelivery).values(
            status=CallbackStatus.PENDING, attempts=0, delivered_at=None, next_attempt_at=utcnow()
        )
    )  # the in-process send after the response had no endpoint to reach; start over with ours
    endpoint = Endpoint(up_at=utcnow() - timedelta(seconds=1))
    outcome = callbacks.deliver_due(db_session, transport=httpx.MockTransport(endpoint.handler))
    assert outcome.delivered == len(mine)  # the oldest pending one of each waybill only
    callbacks.deliver_due(db_session, transport=httpx.MockTransport(endpoint.handler))
    assert len(endpoint.received) == 2 * len(mine)
    accounts = {a.id: a for a in db_session.execute(select(CarrierAccount)).scalars()}
    parcels = {p.waybill_no: p for p in db_session.execute(select(Parcel)).scalars()}
    for request in endpoint.received:
        body = request.content
        ts = request.headers["x-gongpei-timestamp"]
        payload = json.loads(body)
        waybill = next(w for w in mine if w in body.decode())
        account = accounts[parcels[waybill].carrier_id]
        assert request.headers["x-gongpei-signature"] == callbacks.sign(account.signing_secret, ts, body)
        scan = db_session.execute(
            select(ParcelEvent).where(ParcelEvent.event_key == request.headers["x-gongpei-event"])
        ).scalar_one()
        rendered = registry.get(account.brand.value).render_event(callbacks.tracking_event(scan, waybill))
        assert payload == json.loads(json.dumps(rendered, ensure_ascii=False))
    assert callbacks.deliver_due(db_session, transport=httpx.MockTransport(endpoint.handler)).delivered == 0


def test_an_hour_down_then_every_event_once_and_in_order(
    plan_client: TestClient, db_session: Session
) -> None:
    mine, _ = _scan_everything(plan_client, db_session)
    db_session.execute(
        update(CallbackDelivery).values(status=CallbackStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    )
    start = utcnow()
    endpoint = Endpoint(up_at=start + timedelta(hours=1))
    transport = httpx.MockTransport(endpoint.handler)
    clock = start
    while clock < start + timedelta(hours=3):  # a worker waking every 5 minutes of simulated time
        endpoint.now = clock
        callbacks.deliver_due(db_session, now=clock, transport=transport)
        clock += timedelta(minutes=5)
    assert endpoint.refused > 0
    by_waybill: dict[str, list[str]] = defaultdict(list)
    for request in endpoint.received:
        waybill = next(w for w in mine if w in request.content.decode())
        by_waybill[waybill].append(request.headers["x-gongpei-event"])
    statuses = {d.parcel_event_id: d for d in db_session.execute(select(CallbackDelivery)).scalars()}
    assert all(d.status is CallbackStatus.DELIVERED for d in statuses.values())
    assert sorted(by_waybill) == sorted(mine)
    for events in by_waybill.values():
        assert len(events) == len(set(events)) == 2  # each once
    ordered = sorted(statuses.values(), key=lambda d: d.id)
    per_parcel: dict[uuid.UUID, list[CallbackDelivery]] = defaultdict(list)
    for d in ordered:
        per_parcel[d.parcel_id].append(d)
    for deliveries in per_parcel.values():
        assert deliveries[0].delivered_at is not None
        assert deliveries[1].delivered_at is not None
        assert deliveries[0].delivered_at <= deliveries[1].delivered_at  # the failed attempt first


def test_a_callback_that_never_gets_through_is_dead_lettered_for_the_desk(
    plan_client: TestClient, db_session: Session
) -> None:
    mine, _ = _scan_everything(plan_client, db_session)
    db_session.execute(
        update(CallbackDelivery).values(status=CallbackStatus.PENDING, attempts=0, next_attempt_at=utcnow())
    )
    endpoint = Endpoint(up_at=None)  # never up
    transport = httpx.MockTransport(endpoint.handler)
    clock = utcnow()
    for _ in range(callbacks.MAX_ATTEMPTS * 2):
        callbacks.deliver_due(db_session, now=clock, transport=transport)
        clock += callbacks.backoff(callbacks.MAX_ATTEMPTS)
    db_session.expire_all()
    statuses = [d.status for d in db_session.execute(select(CallbackDelivery)).scalars()]
    # The first scan of each waybill died after the last attempt; the second was then tried, and died too.
    assert statuses.count(CallbackStatus.DEAD) == 2 * len(mine)
    operator_id = _operator_of(db_session, mine[0])
    desk = make_desk_user(db_session, operator_id=operator_id)
    dead = plan_client.get("/v1/callbacks?status=dead", headers=desk.auth).json()["items"]
    assert sorted({d["waybill_no"] for d in dead}) == sorted(mine)
    assert {d["attempts"] for d in dead} == {callbacks.MAX_ATTEMPTS}
    assert {d["last_error"] for d in dead} == {"HTTP 503"}
    stranger = make_desk_user(db_session, county_code="210624")
    assert plan_client.get("/v1/callbacks?status=dead", headers=stranger.auth).json()["items"] == []


def test_no_callback_url_no_delivery(plan_client: TestClient, db_session: Session) -> None:
    manifest, headers = _published(plan_client, db_session)
    mine = _waybills(manifest)
    plan_client.post("/v1/driver/events", json={"events": [_event(mine[0])]}, headers=headers)
    assert db_session.execute(select(CallbackDelivery)).first() is None
