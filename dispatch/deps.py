"""FastAPI dependency aliases, defined once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from dispatch.accounts.service import CarrierContext, DeskContext, authenticate, authenticate_desk
from dispatch.config import Settings
from dispatch.db import Database
from dispatch.errors import ClientDisconnected, MalformedBody, Unauthorized, ValidationFailed
from dispatch.fleet.service import DriverContext, authenticate_driver
from dispatch.idempotency import check_key


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_session(request: Request) -> Iterator[Session]:
    """The request's transaction: committed when the handler returns, rolled back when it raises.

    Used with ``scope="function"`` so the commit happens before the response is sent: a client never
    sees a success for data that did not commit.
    """
    database = get_database(request)
    with database.sessionmaker() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

_bearer = HTTPBearer(auto_error=False, description="A carrier account's API key.")


def current_carrier(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CarrierContext:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    database = get_database(request)
    with database.sessionmaker() as session:
        return authenticate(session, api_key=credentials.credentials)


CurrentCarrier = Annotated[CarrierContext, Depends(current_carrier)]

_desk_bearer = HTTPBearer(
    auto_error=False, scheme_name="DeskKey", description="A dispatch-desk user's API key (gpd_…)."
)


def current_dispatcher(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_desk_bearer)],
) -> DeskContext:
    """The desk user calling; a carrier's key gets the same 401 as an unknown one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    database = get_database(request)
    with database.sessionmaker() as session:
        return authenticate_desk(session, api_key=credentials.credentials)


CurrentDispatcher = Annotated[DeskContext, Depends(current_dispatcher)]

_driver_bearer = HTTPBearer(
    auto_error=False, scheme_name="DriverToken", description="A driver's shift token (gpt_…)."
)


def current_driver(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_driver_bearer)],
    device_id: Annotated[
        str | None,
        Header(
            alias="X-Device-Id",
            max_length=64,
            description="The phone's own id; a shift token works from the first device that uses it only.",
        ),
    ] = None,
) -> DriverContext:
    """The driver calling; any other kind of key, or another device, gets the same 401 as an unknown one."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not device_id:
        raise Unauthorized()

    with get_database(request).session_scope() as session:  # binding the device is a write
        return authenticate_driver(session, token=credentials.credentials, device_id=device_id)


CurrentDriver = Annotated[DriverContext, Depends(current_driver)]


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Required. Repeat the same key with the same body to retry safely (kept ≥ 72 h).",
        ),
    ] = None,
) -> str:
    return check_key(key)


IdempotencyKey = Annotated[str, Depends(idempotency_key)]


async def _raw_body(request: Request) -> bytes:
    """The body as bytes; the size limit is enforced while it streams (BodySizeLimitMiddleware)."""
    try:
        return await request.body()
    except ClientDisconnect as exc:
        # An ordinary event on rural links: the client will retry with the same Idempotency-Key.
        raise ClientDisconnected() from exc


read_raw_body = Depends(_raw_body)


async def read_json_body(request: Request) -> Any:
    """The body parsed as JSON."""
    raw = await _raw_body(request)
    if not raw.strip():
        raise MalformedBody("The request body is empty.", errors=[{"field": "body", "reason": "empty"}])
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise MalformedBody(
            "The request body is not UTF-8.", errors=[{"field": "body", "reason": "not UTF-8"}]
        ) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = (
            f"invalid JSON at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "JSON nested too deeply"
        )
        raise MalformedBody(
            f"The request body is not valid JSON: {reason}.", errors=[{"field": "body", "reason": reason}]
        ) from exc


JsonBody = Annotated[Any, Depends(read_json_body)]


def _dependant_query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _dependant_query_names(sub)
    return names


def _query_names(route: APIRoute) -> frozenset[str]:
    return frozenset(_dependant_query_names(route.dependant))


def check_query_params(request: Request) -> None:
    """Refuse unknown and repeated query parameters: a typo such as ``?stauts=`` must not pass silently."""
    route = request.scope.get("route")
    allowed = _query_names(route) if isinstance(route, APIRoute) else frozenset()
    seen: set[str] = set()
    for name, _value in request.query_params.multi_items():
        reason = None
        if name not in allowed:
            reason = "unknown query parameter"
        elif name in seen:
            reason = "given more than once"
        if reason:
            raise ValidationFailed(
                f"Query parameter {name!r}: {reason}.", errors=[{"field": f"query.{name}", "reason": reason}]
            )
        seen.add(name)
