"""Publishing tells each driver: the in-app inbox always, a signed webhook and an SMS gateway when
configured (httpx MockTransport), retried, and failures shown to the desk (PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.db import utcnow
from dispatch.main import create_app
from dispatch.models import Driver, DriverNotification, NotificationStatus
from dispatch.notifications import service as notifications
from tests.builders import make_desk_user
from tests.conftest import _RolledBackDatabase, settings_for
from tests.dispatch.test_manifests import _plan, _tokens
from tests.dispatch.test_plans import _county_day

WEBHOOK = "https://drivers.example/hook"
SMS = "https://sms.example/send"
SECRET = "webhook-secret"


@pytest.fixture
def told(pg_url: str, pg_connection: Any) -> tuple[TestClient, Any]:
    settings = settings_for(
        pg_url,
        solver_solution_limit=30,
        driver_webhook_url=WEBHOOK,
        driver_webhook_secret=SECRET,
        sms_gateway_url=SMS,
    )
    app = create_app(settings, database=_RolledBackDatabase(pg_connection))
    received: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    app.state.notification_transport = httpx.MockTransport(endpoint)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, (received, settings)


def test_publishing_tells_every_driver_on_every_channel(
    told: tuple[TestClient, Any], db_session: Session
) -> None:
    client, (received, _settings) = told
    desk, _, _ = _county_day(db_session)
    db_session.execute(update(Driver).values(phone="13800001234"))
    tokens = _tokens(db_session, desk.operator_id)
    plan = _plan(client, desk.auth, wave=1)
    made = client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth).json()["manifests"]
    hooks = [r for r in received if str(r.url) == WEBHOOK]
    texts = [r for r in received if str(r.url) == SMS]
    assert len(hooks) == len(texts) == len(made)
    for hook in hooks:
        ts, body = hook.headers["x-gongpei-timestamp"], hook.content
        expected = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hook.headers["x-gongpei-signature"] == f"sha256={expected}"
        assert json.loads(body)["manifest_id"] in {m["manifest_id"] for m in made}
    assert {json.loads(t.content)["to"] for t in texts} == {"13800001234"}
    for manifest in made:
        headers = {"Authorization": f"Bearer {tokens[manifest['driver_id']]}", "X-Device-Id": "p"}
        inbox = client.get("/v1/driver/inbox", headers=headers).json()["items"]
        assert [m["manifest_id"] for m in inbox] == [manifest["manifest_id"]]
    assert client.get("/v1/notifications", headers=desk.auth).json()["items"] == []


def test_an_sms_gateway_that_is_down_is_retried_then_shown_to_the_desk(
    told: tuple[TestClient, Any], db_session: Session
) -> None:
    client, (_received, settings) = told
    desk, _, _ = _county_day(db_session)
    db_session.execute(update(Driver).values(phone="13800001234"))
    client.app.state.notification_transport = httpx.MockTransport(lambda r: httpx.Response(502))  # type: ignore[attr-defined]
    plan = _plan(client, desk.auth, wave=1)
    client.post(f"/v1/plans/{plan['plan_id']}/publish", headers=desk.auth)
    now = utcnow()
    for _ in range(notifications.MAX_ATTEMPTS):
        now += timedelta(hours=1)
        notifications.send_due(
            db_session,
            settings=settings,
            now=now,
            transport=httpx.MockTransport(lambda r: httpx.Response(502)),
        )
    db_session.expire_all()
    rows = list(db_session.execute(select(DriverNotification)).scalars())
    assert {r.status for r in rows if r.channel.value == "inbox"} == {NotificationStatus.SENT}
    assert {r.status for r in rows if r.channel.value != "inbox"} == {NotificationStatus.FAILED}
    problems = client.get("/v1/notifications", headers=desk.auth).json()["items"]
    assert {(p["channel"], p["status"], p["last_error"]) for p in problems} == {
        ("webhook", "failed", "HTTP 502"),
        ("sms", "failed", "HTTP 502"),
    }
    assert {p["attempts"] for p in problems} == {notifications.MAX_ATTEMPTS}
    stranger = make_desk_user(db_session, county_code="210624")
    assert client.get("/v1/notifications", headers=stranger.auth).json()["items"] == []
