"""Desk (dispatcher) authentication: desk keys and carrier keys never open each other's routes."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.accounts import service as accounts
from dispatch.db import Database, make_engine, utcnow
from dispatch.deps import current_carrier, current_dispatcher
from dispatch.errors import Unauthorized
from dispatch.main import create_app
from dispatch.models import DeskApiKey, DispatcherUser, UserRole
from dispatch.stations import router as stations_router
from tests.builders import make_desk_user, make_tenant
from tests.conftest import create_database, drop_database, settings_for
from tests.dispatch.test_cli import GONGPEI, _env


def _body(resp) -> dict:
    body = dict(resp.json())
    body.pop("request_id")
    return body


CARRIER_SCHEME, DESK_SCHEME = "HTTPBearer", "DeskKey"


def _operations(app: FastAPI) -> dict[str, list[tuple[str, str]]]:
    """security scheme -> (method, concrete path) of every operation in the OpenAPI document."""
    found: dict[str, list[tuple[str, str]]] = {}
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            concrete = re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)
            for scheme in schemes or {"none"}:
                found.setdefault(scheme, []).append((method.upper(), concrete))
    return found


def _calls(dependant: Dependant) -> set[object]:
    found: set[object] = set()
    for sub in dependant.dependencies:
        found.add(sub.call)
        found |= _calls(sub)
    return found


DESK_PATHS = (
    "/v1/stations",
    "/v1/review",
    "/v1/plans",
    "/v1/callbacks",
    "/v1/notifications",
    "/v1/contracts",
    "/v1/settlements",
    "/v1/statements",
    "/v1/proofs",
)
DRIVER_PATHS = ("/v1/driver/",)
DRIVER_SCHEME = "DriverToken"


def test_every_api_route_takes_exactly_one_kind_of_key(client: TestClient) -> None:
    """Each /v1 operation is guarded by exactly one scheme — the carrier's, the desk's or the driver's —
    never two, never none; the station and review routes by the desk guard alone."""
    app = client.app
    assert isinstance(app, FastAPI)
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            if path.startswith(DESK_PATHS):
                expected = {DESK_SCHEME}
            elif path.startswith(DRIVER_PATHS):
                expected = {DRIVER_SCHEME}
            else:
                expected = {CARRIER_SCHEME}
            assert schemes == expected, (method, path)
    for route in stations_router.router.routes:
        assert isinstance(route, APIRoute)
        calls = _calls(route.dependant)
        assert current_dispatcher in calls, route.path
        assert current_carrier not in calls, route.path


def test_carrier_keys_never_reach_desk_routes_and_back(client: TestClient, db_session: Session) -> None:
    """A carrier key on every desk operation, and a desk key on every carrier operation, get the plain 401."""
    tenant = make_tenant(db_session)
    desk = make_desk_user(db_session, operator_id=tenant.operator_id)
    app = client.app
    assert isinstance(app, FastAPI)
    operations = _operations(app)
    reference = _body(client.get("/v1/stations"))
    reference.pop("instance")
    for scheme, auth in ((DESK_SCHEME, tenant.auth), (CARRIER_SCHEME, desk.auth)):
        assert operations[scheme]
        for method, path in operations[scheme]:
            resp = client.request(method, path, headers=auth, json={})
            assert resp.status_code == 401, (method, path, resp.text)
            body = _body(resp)
            body.pop("instance")
            assert body == reference
    assert client.get("/v1/stations", headers=desk.auth).status_code == 200
    assert client.get("/v1/parcels", headers=tenant.auth).status_code == 200


def test_authenticators_refuse_the_other_kind_of_key(db_session: Session) -> None:
    """At function level: authenticate_desk refuses carrier keys, authenticate refuses desk keys,
    even with the prefix swapped to the other kind's."""
    tenant = make_tenant(db_session)
    desk = make_desk_user(db_session, operator_id=tenant.operator_id)
    bad_for_desk = [tenant.api_key, accounts.DESK_KEY_PREFIX + tenant.api_key[len(accounts.KEY_PREFIX) :]]
    bad_for_carrier = [desk.api_key, accounts.KEY_PREFIX + desk.api_key[len(accounts.DESK_KEY_PREFIX) :]]
    for key in bad_for_desk:
        with pytest.raises(Unauthorized):
            accounts.authenticate_desk(db_session, api_key=key)
    for key in bad_for_carrier:
        with pytest.raises(Unauthorized):
            accounts.authenticate(db_session, api_key=key)


def test_desk_context_comes_from_the_key(db_session: Session) -> None:
    """The context names the user, its operator, its role and the operator's time zone."""
    desk = make_desk_user(db_session, role=UserRole.ADMIN, timezone="Asia/Urumqi")
    context = accounts.authenticate_desk(db_session, api_key=desk.api_key)
    assert context == accounts.DeskContext(
        user_id=desk.user_id, operator_id=desk.operator_id, role=UserRole.ADMIN, timezone="Asia/Urumqi"
    )


def test_every_bad_desk_credential_gets_the_same_401(client: TestClient, db_session: Session) -> None:
    """Missing, wrong scheme, unknown, tampered, revoked, expired, deactivated-user and carrier keys
    answer alike on a desk route."""
    desk = make_desk_user(db_session)
    revoked = make_desk_user(db_session)
    accounts.revoke_desk_key(
        db_session,
        key_id=db_session.scalar(select(DeskApiKey.id).where(DeskApiKey.user_id == revoked.user_id)),
    )
    expired = make_desk_user(db_session)
    db_session.execute(
        update(DeskApiKey)
        .where(DeskApiKey.user_id == expired.user_id)
        .values(expires_at=utcnow() - timedelta(1))
    )
    inactive = make_desk_user(db_session)
    db_session.execute(
        update(DispatcherUser).where(DispatcherUser.id == inactive.user_id).values(active=False)
    )
    carrier = make_tenant(db_session)
    db_session.flush()

    headers_list = [
        {},
        {"Authorization": f"Basic {desk.api_key}"},
        {"Authorization": "Bearer gpd_unknownunknownunknownunknownunknown00000"},
        {"Authorization": "Bearer " + desk.api_key[:-1] + ("A" if desk.api_key[-1] != "A" else "B")},
        {"Authorization": "Bearer " + "gpd_" + "x" * 200},
        revoked.auth,
        expired.auth,
        inactive.auth,
        carrier.auth,
    ]
    responses = [client.get("/v1/stations", headers=h) for h in headers_list]
    assert {r.status_code for r in responses} == {401}
    bodies = [_body(r) for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert all(r.headers["content-type"] == "application/problem+json" for r in responses)
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in responses)
    assert client.get("/v1/stations", headers=desk.auth).status_code == 200


def test_desk_key_is_stored_only_as_a_digest(db_session: Session) -> None:
    """The database holds the desk key's SHA-256 and a short gpd_ prefix, never the key."""
    desk = make_desk_user(db_session)
    stored = db_session.scalars(select(DeskApiKey).where(DeskApiKey.user_id == desk.user_id)).one()
    assert desk.api_key.startswith("gpd_")
    assert stored.key_sha256 == accounts.hash_key(desk.api_key)
    assert desk.api_key not in (stored.key_sha256, stored.prefix)
    assert desk.api_key.startswith(stored.prefix)
    assert len(stored.prefix) < len(desk.api_key) // 3


def test_rotation_keeps_the_old_desk_key_until_revoked(client: TestClient, db_session: Session) -> None:
    """A second desk key works beside the first; revoking the first leaves the second working."""
    desk = make_desk_user(db_session)
    second = accounts.issue_desk_key(db_session, user_id=desk.user_id)
    first_id = db_session.scalar(
        select(DeskApiKey.id).where(DeskApiKey.user_id == desk.user_id, DeskApiKey.id != second.key_id)
    )
    accounts.revoke_desk_key(db_session, key_id=first_id)
    db_session.flush()
    assert client.get("/v1/stations", headers=desk.auth).status_code == 401
    assert (
        client.get("/v1/stations", headers={"Authorization": f"Bearer {second.api_key}"}).status_code == 200
    )


def test_usernames_are_checked_and_unique_per_operator(db_session: Session) -> None:
    """A blank or spaced username is refused; the same name twice in one operator conflicts, in two
    operators it does not."""
    from dispatch.errors import Conflict, ValidationFailed

    desk = make_desk_user(db_session)
    accounts.create_desk_user(db_session, operator_id=desk.operator_id, username="li.ming")
    with pytest.raises(Conflict):
        accounts.create_desk_user(db_session, operator_id=desk.operator_id, username="li.ming")
    for bad in ("", "  ", "li ming", "x" * 65):
        with pytest.raises(ValidationFailed):
            accounts.create_desk_user(db_session, operator_id=desk.operator_id, username=bad)
    other = make_desk_user(db_session)
    accounts.create_desk_user(db_session, operator_id=other.operator_id, username="li.ming")


@pytest.fixture
def cli_pg(tmp_path: Path):
    url = create_database("gongpei_desk")
    yield url, _env(url, tmp_path)
    drop_database(url)


def _run(env: dict[str, str], *args: str, ok: bool = True) -> dict:
    proc = subprocess.run([GONGPEI, *args], env=env, capture_output=True, text=True, timeout=120)
    assert (proc.returncode == 0) is ok, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_cli_creates_a_desk_user_whose_key_opens_the_desk(cli_pg: tuple[str, dict[str, str]]) -> None:
    """`gongpei desk-user create` prints the user id and a gpd_ key once; the key opens /v1/stations,
    the operator's carrier key does not; a duplicate username and a bad role are refused."""
    url, env = cli_pg
    _run(env, "db", "upgrade")
    operator = _run(env, "operator", "create", "--name", "宽甸县共配中心", "--county", "210624")[
        "operator_id"
    ]
    carrier = _run(env, "carrier", "create", "--operator", operator, "--brand", "zto")
    created = _run(
        env, "desk-user", "create", "--operator", operator, "--username", "wang", "--role", "admin"
    )
    assert set(created) >= {"user_id", "api_key"}
    assert uuid.UUID(created["user_id"])
    assert created["api_key"].startswith("gpd_")
    assert created["role"] == "admin"
    assert _run(env, "desk-user", "create", "--operator", operator, "--username", "wang", ok=False) == {
        "error": "operator already has a desk user named 'wang'",
        "field": "username",
    }
    bad_role = subprocess.run(
        [GONGPEI, "desk-user", "create", "--operator", operator, "--username", "li", "--role", "root"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad_role.returncode != 0
    unknown = _run(env, "desk-user", "create", "--operator", str(uuid.uuid4()), "--username", "x", ok=False)
    assert unknown["field"] == "operator"

    engine = make_engine(url, pool_size=1)
    try:
        with TestClient(create_app(settings_for(url), database=Database(engine))) as client:
            desk = {"Authorization": f"Bearer {created['api_key']}"}
            assert client.get("/v1/stations", headers=desk).status_code == 200
            assert client.get("/v1/parcels", headers=desk).status_code == 401
            carrier_auth = {"Authorization": f"Bearer {carrier['api_key']}"}
            assert client.get("/v1/stations", headers=carrier_auth).status_code == 401
            revoked = _run(env, "desk-user", "issue-key", "--user", created["user_id"])
            _run(env, "desk-user", "revoke-key", "--key-id", revoked["key_id"])
            assert (
                client.get(
                    "/v1/stations", headers={"Authorization": f"Bearer {revoked['api_key']}"}
                ).status_code
                == 401
            )
            assert client.get("/v1/stations", headers=desk).status_code == 200
    finally:
        engine.dispose()
