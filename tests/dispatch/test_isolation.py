"""Per-carrier isolation: every endpoint answers another carrier's waybill exactly like a missing one."""

from __future__ import annotations

import random
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.models import Parcel
from tests.builders import Tenant, batch, idem, make_tenant, record, waybill


def _comparable(resp: Any) -> tuple[int, dict[str, Any]]:
    body = dict(resp.json())
    body.pop("request_id", None)
    body.pop("instance", None)
    return resp.status_code, body


def _setup(client: TestClient, db_session: Session) -> tuple[Tenant, Tenant, list[str], list[str]]:
    a = make_tenant(db_session)
    b = make_tenant(db_session, operator_id=a.operator_id)
    a_records = [record() for _ in range(5)]
    b_records = [record() for _ in range(5)]
    assert client.post("/v1/parcels", json=batch(*a_records), headers={**a.auth, **idem()}).status_code == 200
    assert client.post("/v1/parcels", json=batch(*b_records), headers={**b.auth, **idem()}).status_code == 200
    return a, b, [r["waybill_no"] for r in a_records], [r["waybill_no"] for r in b_records]


def test_foreign_and_random_waybills_answer_identically(client: TestClient, db_session: Session) -> None:
    """A's key on B's waybills and on random ones: 404 with the same body, for every id-taking route."""
    a, _b, _a_waybills, b_waybills = _setup(client, db_session)
    rng = random.Random(7)
    for path in ("/v1/parcels/{w}", "/v1/parcels/{w}/events"):
        foreign = [_comparable(client.get(path.format(w=w), headers=a.auth)) for w in b_waybills]
        missing = [_comparable(client.get(path.format(w=waybill(rng)), headers=a.auth)) for _ in b_waybills]
        assert {f[0] for f in foreign} == {404}
        assert foreign == missing


def test_lists_show_only_own_parcels(client: TestClient, db_session: Session) -> None:
    """Each carrier's list holds its own parcels and none of the other's, whatever the filter."""
    a, b, a_waybills, b_waybills = _setup(client, db_session)
    for tenant, own in ((a, a_waybills), (b, b_waybills)):
        for params in ({}, {"status": "announced"}, {"updated_since": "2000-01-01T00:00:00Z"}):
            items = client.get("/v1/parcels", params=params, headers=tenant.auth).json()["items"]
            assert sorted(p["waybill_no"] for p in items) == sorted(own)


def test_posting_a_foreign_waybill_creates_own_row_and_leaves_theirs(
    client: TestClient, db_session: Session
) -> None:
    """A posting B's waybill number gets a parcel of its own; B's row is unchanged."""
    a, b, _a_waybills, b_waybills = _setup(client, db_session)
    before = db_session.execute(select(Parcel).where(Parcel.carrier_id == b.carrier_id)).scalars().all()
    snapshot = {p.waybill_no: (p.weight_g, p.updated_at) for p in before}
    resp = client.post(
        "/v1/parcels", json=batch(record(waybill_no=b_waybills[0], weight_g=42)), headers={**a.auth, **idem()}
    )
    assert resp.json()["accepted"][0]["result"] == "created"
    db_session.expire_all()
    after = db_session.execute(select(Parcel).where(Parcel.carrier_id == b.carrier_id)).scalars().all()
    assert {p.waybill_no: (p.weight_g, p.updated_at) for p in after} == snapshot
    b_view = client.get(f"/v1/parcels/{b_waybills[0]}", headers=b.auth).json()
    assert b_view["weight_g"] != 42


def test_cursor_from_another_carrier_reveals_nothing(client: TestClient, db_session: Session) -> None:
    """B's cursor used with A's key pages through A's parcels only."""
    a, b, a_waybills, _b_waybills = _setup(client, db_session)
    cursor = client.get("/v1/parcels", params={"limit": 1}, headers=b.auth).json()["next_cursor"]
    items = client.get("/v1/parcels", params={"cursor": cursor}, headers=a.auth).json()["items"]
    assert {p["waybill_no"] for p in items} <= set(a_waybills)
