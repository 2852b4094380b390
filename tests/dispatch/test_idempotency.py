"""The Idempotency-Key contract of POST /v1/parcels, including races and a model-based state machine."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dispatch.db import Database, utcnow
from dispatch.models import IdempotencyRecord, Parcel
from tests.builders import Tenant, batch, make_tenant, record

STATEFUL_EXAMPLES = int(os.environ.get("GONGPEI_STATEFUL_EXAMPLES", "500"))


def _post(client: TestClient, tenant: Tenant, body: Any, key: str | None):
    headers = dict(tenant.auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/parcels", json=body, headers=headers)


def _count(session: Session, tenant: Tenant) -> int:
    return (
        session.scalar(select(func.count()).select_from(Parcel).where(Parcel.carrier_id == tenant.carrier_id))
        or 0
    )


def test_missing_or_malformed_key_is_400(client: TestClient, db_session: Session) -> None:
    """No key, an empty key and a key with spaces or over 255 chars are refused before anything runs."""
    tenant = make_tenant(db_session)
    for key in (None, "", "has space", "k" * 256, "tab\tkey"):
        headers = dict(tenant.auth)
        if key is not None:
            headers["Idempotency-Key"] = key
        resp = client.post("/v1/parcels", json=batch(record()), headers=headers)
        assert resp.status_code == 400, key
        assert resp.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _count(db_session, tenant) == 0


def test_same_key_same_body_replays_identically(client: TestClient, db_session: Session) -> None:
    """Three posts with one key and body: one row, three identical responses, the last two marked replayed."""
    tenant = make_tenant(db_session)
    body = batch(record(), record(weight_g=-1))
    responses = [_post(client, tenant, body, "key-1") for _ in range(3)]
    assert {r.status_code for r in responses} == {200}
    assert responses[0].json() == responses[1].json() == responses[2].json()
    assert [r.headers["Idempotent-Replayed"] for r in responses] == ["false", "true", "true"]
    assert _count(db_session, tenant) == 1


def test_key_order_and_spacing_do_not_change_the_fingerprint(client: TestClient, db_session: Session) -> None:
    """The same JSON with keys reordered is the same request (replayed, not 422)."""
    tenant = make_tenant(db_session)
    rec = record()
    first = _post(client, tenant, batch(rec), "k-order")
    reordered = {"parcels": [dict(reversed(list(rec.items())))]}
    again = _post(client, tenant, reordered, "k-order")
    assert again.status_code == 200
    assert again.json() == first.json()


def test_same_key_different_body_is_422_and_changes_nothing(client: TestClient, db_session: Session) -> None:
    """Reusing a key for another body is refused with 422 and writes nothing."""
    tenant = make_tenant(db_session)
    rec = record()
    _post(client, tenant, batch(rec), "key-2")
    resp = _post(client, tenant, batch(dict(rec, weight_g=9999)), "key-2")
    assert resp.status_code == 422
    assert resp.json()["type"] == "/problems/idempotency-key-reused"
    assert (
        db_session.scalar(select(Parcel.weight_g).where(Parcel.waybill_no == rec["waybill_no"]))
        == rec["weight_g"]
    )


def test_keys_are_scoped_per_carrier(client: TestClient, db_session: Session) -> None:
    """Carrier B using A's key string runs its own request and sees nothing of A's."""
    a = make_tenant(db_session)
    b = make_tenant(db_session, operator_id=a.operator_id)
    resp_a = _post(client, a, batch(record()), "shared-key")
    resp_b = _post(client, b, batch(record()), "shared-key")
    assert resp_b.status_code == 200
    assert resp_b.headers["Idempotent-Replayed"] == "false"
    assert resp_a.json()["accepted"][0]["waybill_no"] != resp_b.json()["accepted"][0]["waybill_no"]
    assert _count(db_session, a) == 1
    assert _count(db_session, b) == 1


def test_failed_validation_stores_no_key(client: TestClient, db_session: Session) -> None:
    """A request refused as a whole keeps no key: the corrected body may reuse it."""
    tenant = make_tenant(db_session)
    assert _post(client, tenant, batch(record(weight_g=0)), "key-3").status_code == 422
    assert _post(client, tenant, {"parcels": []}, "key-3").status_code == 422
    assert _post(client, tenant, batch(record()), "key-3").status_code == 200


def test_expired_key_runs_again(client: TestClient, db_session: Session) -> None:
    """A key older than the retention is forgotten: a different body with it is accepted."""
    tenant = make_tenant(db_session)
    _post(client, tenant, batch(record()), "old-key")
    db_session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.carrier_id == tenant.carrier_id)
        .values(created_at=utcnow() - timedelta(hours=73))
    )
    db_session.flush()
    resp = _post(client, tenant, batch(record()), "old-key")
    assert resp.status_code == 200
    assert resp.headers["Idempotent-Replayed"] == "false"
    assert _count(db_session, tenant) == 2


def test_parallel_same_key_creates_once(committed_client: TestClient, committed_db: Database) -> None:
    """20 parallel posts of one key and body: one execution; every other answer is the replay or 409."""
    with committed_db.session_scope() as s:
        tenant = make_tenant(s)
    body = batch(*[record() for _ in range(1000)])
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: _post(committed_client, tenant, body, "race-key"), range(20)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, statuses
    ok = [r for r in responses if r.status_code == 200]
    assert sum(r.headers["Idempotent-Replayed"] == "false" for r in ok) == 1
    assert all(r.json() == ok[0].json() for r in ok)
    with committed_db.session_scope() as s:
        assert _count(s, tenant) == 1000


def test_parallel_different_keys_same_waybills_never_duplicate(
    committed_client: TestClient, committed_db: Database
) -> None:
    """Two keys racing on the same waybills: one row per waybill, every answer a 2xx or a retryable 409."""
    with committed_db.session_scope() as s:
        tenant = make_tenant(s)
    records = [record() for _ in range(300)]
    bodies = [batch(*records), batch(*reversed(records))]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(lambda i: _post(committed_client, tenant, bodies[i % 2], f"k-{i}"), range(6))
        )
    assert {r.status_code for r in responses} <= {200, 409}
    with committed_db.session_scope() as s:
        assert _count(s, tenant) == 300


# ---- model-based: a Hypothesis state machine against an in-memory model ---------------------------

WAYBILLS = [f"7312345678{i:04d}" for i in range(4)]
KEYS = ["k1", "k2", "k3"]


def _body(items: list[tuple[int, int]]) -> dict[str, Any]:
    return batch(*[record(waybill_no=WAYBILLS[w], weight_g=weight) for w, weight in items])


BODIES = st.lists(
    st.tuples(st.integers(0, len(WAYBILLS) - 1), st.sampled_from([500, 1500])),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)


@pytest.mark.slow
def test_idempotency_state_machine(committed_client: TestClient, committed_db: Database) -> None:
    """Posts, replays, reused keys and races never disagree with a simple model of the contract."""

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with committed_db.session_scope() as s:
                self.tenant = make_tenant(s)
            self.prefix = uuid.uuid4().hex[:8]
            self.stored: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (body json, response)
            self.weights: dict[str, int] = {}

        def _expect_fresh(self, items: list[tuple[int, int]]) -> list[str]:
            results = []
            for w, weight in items:
                waybill = WAYBILLS[w]
                if waybill not in self.weights:
                    results.append("created")
                elif self.weights[waybill] != weight:
                    results.append("updated")
                else:
                    results.append("unchanged")
                self.weights[waybill] = weight
            return results

        def _check(self, key: str, items: list[tuple[int, int]], resp: Any) -> None:
            body_text = repr(items)  # record order is part of the request
            if key in self.stored:
                stored_body, stored_resp = self.stored[key]
                if stored_body == body_text:
                    assert resp.status_code == 200
                    assert resp.headers["Idempotent-Replayed"] == "true"
                    assert resp.json() == stored_resp
                else:
                    assert resp.status_code == 422
                return
            assert resp.status_code == 200, resp.text
            assert resp.headers["Idempotent-Replayed"] == "false"
            expected = self._expect_fresh(items)
            assert [a["result"] for a in resp.json()["accepted"]] == expected
            self.stored[key] = (body_text, resp.json())

        @rule(key=st.sampled_from(KEYS), items=BODIES)
        def post(self, key: str, items: list[tuple[int, int]]) -> None:
            resp = _post(committed_client, self.tenant, _body(items), f"{self.prefix}-{key}")
            self._check(key, items, resp)

        @rule(key=st.sampled_from(KEYS), items=BODIES)
        def race(self, key: str, items: list[tuple[int, int]]) -> None:
            full_key = f"{self.prefix}-{key}"
            with ThreadPoolExecutor(max_workers=2) as pool:
                first, second = pool.map(
                    lambda _: _post(committed_client, self.tenant, _body(items), full_key), range(2)
                )
            if key in self.stored:
                self._check(key, items, first)
                self._check(key, items, second)
                return
            fresh = [r for r in (first, second) if r.headers.get("Idempotent-Replayed") == "false"]
            assert len(fresh) == 1, (first.status_code, second.status_code)
            self._check(key, items, fresh[0])
            other = second if fresh[0] is first else first
            assert other.status_code == 409 or other.json() == fresh[0].json()

        @invariant()
        def database_matches_model(self) -> None:
            with committed_db.session_scope() as s:
                rows = dict(
                    s.execute(
                        select(Parcel.waybill_no, Parcel.weight_g).where(
                            Parcel.carrier_id == self.tenant.carrier_id
                        )
                    ).all()
                )
            assert rows == self.weights

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
