"""Health, readiness, metrics, request ids and logs."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from dispatch.db import Database, make_engine
from dispatch.deps import SessionDep
from dispatch.main import create_app
from tests.builders import batch, idem, make_tenant, record
from tests.conftest import settings_for

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


def test_health_and_readiness(client: TestClient) -> None:
    """Liveness and readiness answer 200 when the database is up."""
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_database_down_is_503_with_retry_after_never_500() -> None:
    """With the database unreachable: liveness 200, readiness and data calls 503 + Retry-After."""
    settings = settings_for(UNREACHABLE, db_connect_timeout_s=1)
    app = create_app(settings, database=Database(make_engine(UNREACHABLE, connect_timeout_s=1)))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"].isdigit()
        data = client.get("/v1/parcels", headers={"Authorization": "Bearer gpk_whatever_key_value_123456"})
        assert data.status_code == 503
        assert "retry-after" in data.headers
        assert data.headers["content-type"].startswith("application/problem+json")


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    """A sane incoming X-Request-ID is kept; an unsafe one is replaced by a fresh id."""
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\u0000"}).headers["x-request-id"]
    assert made != "bad id"
    assert len(made) == 32


def test_metrics_count_requests_and_ingested_parcels(client: TestClient, db_session: Session) -> None:
    """/metrics exposes request counts by route template and ingested parcels by outcome."""
    tenant = make_tenant(db_session)
    client.post("/v1/parcels", json=batch(record(), record(weight_g=0)), headers={**tenant.auth, **idem()})
    text = client.get("/metrics").text
    assert 'gongpei_http_requests_total{method="POST",route="/v1/parcels",status="200"}' in text
    assert 'gongpei_parcels_ingested_total{result="created"}' in text
    assert 'gongpei_parcels_ingested_total{result="rejected"}' in text


def test_unknown_route_and_method_are_problem_json(client: TestClient) -> None:
    """404 and 405 come back as problem+json like every other error."""
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    wrong = client.delete("/v1/parcels")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")


def test_logs_are_json_with_request_id_and_no_recipient_data(
    pg_url: str, db_session: Session, capfd, pg_connection
) -> None:
    """Each request logs one JSON line with its request id; no phone, name, address or key appears."""
    from tests.conftest import _RolledBackDatabase

    app = create_app(settings_for(pg_url, log_level="INFO"), database=_RolledBackDatabase(pg_connection))
    tenant = make_tenant(db_session)
    rec = record(recipient={"name": "孙悟空", "phone": "18612345678"})
    with TestClient(app) as client:
        client.post(
            "/v1/parcels", json=batch(rec), headers={**tenant.auth, **idem(), "X-Request-ID": "req-log-1"}
        )
        client.post("/v1/parcels", content=b"{bad", headers={**tenant.auth, **idem()})
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert any(line["request_id"] == "req-log-1" and line["status"] == 200 for line in request_lines)
    for secret in ("18612345678", "孙悟空", rec["address"], tenant.api_key):
        assert secret not in err


def test_nul_character_reaching_the_database_is_422_not_5xx(client: TestClient, db_session: Session) -> None:
    """Text PostgreSQL cannot store is the client's error, answered as a 422 problem."""
    router = APIRouter()

    @router.post("/test-nul")
    def store_nul(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT CAST(:value AS text)"), {"value": "a\x00b"})
        return {"status": "stored"}

    client.app.include_router(router)  # type: ignore[attr-defined]
    resp = client.post("/test-nul")
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["reason"] == "contains a NUL character"
