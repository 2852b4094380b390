"""API-key authentication: one identical 401 for every kind of bad credential."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.accounts import service as accounts
from dispatch.db import utcnow
from dispatch.models import ApiKey, CarrierAccount
from tests.builders import make_tenant


def _body(resp) -> dict:
    body = dict(resp.json())
    body.pop("request_id")
    return body


def test_every_bad_credential_gets_the_same_401(client: TestClient, db_session: Session) -> None:
    """Missing, wrong scheme, unknown, revoked, expired and deactivated keys answer alike."""
    tenant = make_tenant(db_session)
    revoked = make_tenant(db_session)
    accounts.revoke_key(
        db_session,
        key_id=db_session.scalar(select(ApiKey.id).where(ApiKey.carrier_id == revoked.carrier_id)),
    )
    expired = make_tenant(db_session)
    db_session.execute(
        update(ApiKey)
        .where(ApiKey.carrier_id == expired.carrier_id)
        .values(expires_at=utcnow() - timedelta(1))
    )
    inactive = make_tenant(db_session)
    db_session.execute(
        update(CarrierAccount).where(CarrierAccount.id == inactive.carrier_id).values(active=False)
    )
    db_session.flush()

    headers_list = [
        {},
        {"Authorization": f"Basic {tenant.api_key}"},
        {"Authorization": "Bearer gpk_unknownunknownunknownunknownunknown00000"},
        {"Authorization": "Bearer " + tenant.api_key[:-1] + ("A" if tenant.api_key[-1] != "A" else "B")},
        {"Authorization": "Bearer not-even-our-format"},
        revoked.auth,
        expired.auth,
        inactive.auth,
    ]
    responses = [client.get("/v1/parcels", headers=h) for h in headers_list]
    assert {r.status_code for r in responses} == {401}
    bodies = [_body(r) for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in responses)
    assert client.get("/v1/parcels", headers=tenant.auth).status_code == 200


def test_key_is_stored_only_as_a_digest(db_session: Session) -> None:
    """The database holds the key's SHA-256 and a short prefix, never the key."""
    tenant = make_tenant(db_session)
    stored = db_session.scalars(select(ApiKey).where(ApiKey.carrier_id == tenant.carrier_id)).one()
    assert stored.key_sha256 == accounts.hash_key(tenant.api_key)
    assert tenant.api_key not in (stored.key_sha256, stored.prefix)
    assert tenant.api_key.startswith(stored.prefix)
    assert len(stored.prefix) < len(tenant.api_key) // 3


def test_rotation_keeps_old_key_until_revoked(client: TestClient, db_session: Session) -> None:
    """A second key works beside the first; revoking the first leaves the second working."""
    tenant = make_tenant(db_session)
    second = accounts.issue_key(db_session, carrier_id=tenant.carrier_id)
    first_id = db_session.scalar(
        select(ApiKey.id).where(ApiKey.carrier_id == tenant.carrier_id, ApiKey.id != second.key_id)
    )
    accounts.revoke_key(db_session, key_id=first_id)
    db_session.flush()
    assert client.get("/v1/parcels", headers=tenant.auth).status_code == 401
    assert client.get("/v1/parcels", headers={"Authorization": f"Bearer {second.api_key}"}).status_code == 200
