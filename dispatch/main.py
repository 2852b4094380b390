"""The FastAPI application: routers, error handlers, health, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.callbacks import router as callbacks_router
from dispatch.config import Settings, get_settings
from dispatch.db import Database, make_engine
from dispatch.deps import check_query_params
from dispatch.drivers import router as drivers_router
from dispatch.errors import (
    Conflict,
    DispatchError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    field_errors,
)
from dispatch.imports import router as imports_router
from dispatch.inbound import router as inbound_router
from dispatch.notifications import router as notifications_router
from dispatch.observability import BodySizeLimitMiddleware, RequestContextMiddleware, configure_logging, log
from dispatch.parcels import router as parcels_router
from dispatch.plans import router as plans_router
from dispatch.review import router as review_router
from dispatch.settlements import router as settlements_router
from dispatch.stations import router as stations_router
from dispatch.web import router as web_router

PROBLEM_JSON = "application/problem+json"
# Transient conflicts between concurrent transactions: the client should simply retry.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


def _problem_response(request: Request, error: DispatchError) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    return JSONResponse(
        error.problem(instance=request.url.path, request_id=request_id),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def dispatch_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DispatchError)
        return _problem_response(request, exc)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = field_errors(list(exc.errors()))
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        return _problem_response(request, ValidationFailed(detail, errors=errors))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        error: DispatchError
        if exc.status_code == 404:
            error = NotFound("No such resource.")
        else:
            error = DispatchError(str(exc.detail), headers=dict(exc.headers or {}))
            error.status = exc.status_code  # type: ignore[misc]
            error.title = str(exc.detail)  # type: ignore[misc]
            error.slug = f"http-{exc.status_code}"  # type: ignore[misc]
        return _problem_response(request, error)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        orig = getattr(exc, "orig", None)
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate in ("22021", "22P05") or "NUL (0x00)" in str(orig):
            # Text PostgreSQL cannot store (a NUL character): the input's fault, not the server's.
            return _problem_response(
                request,
                ValidationFailed(
                    "Text contains a character that cannot be stored (NUL).",
                    errors=[{"field": "body", "reason": "contains a NUL character"}],
                ),
            )
        if sqlstate in _RETRYABLE_SQLSTATES:
            log.warning("transaction_conflict", sqlstate=sqlstate)
            return _problem_response(
                request,
                Conflict(
                    "A concurrent request touched the same records; retry.", headers={"Retry-After": "1"}
                ),
            )
        if (
            isinstance(exc, DBAPIError)
            and not exc.connection_invalidated
            and sqlstate is not None
            and not (sqlstate.startswith("08") or sqlstate.startswith("57"))
        ):
            log.error("database_error", sqlstate=sqlstate, error_type=type(exc).__name__)
            return _problem_response(request, DispatchError())
        log.warning("database_unavailable", error_type=type(exc).__name__)
        return _problem_response(request, ServiceUnavailable("The database is unreachable; retry shortly."))

    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
        return _problem_response(request, DispatchError())

    app.add_exception_handler(DispatchError, dispatch_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(Exception, unexpected_error)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["field", "reason"],
            },
        },
    },
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            invalid = operation.get("responses", {}).get("422")
            if invalid is not None:  # every error, validation included, is problem+json
                invalid["content"] = problem
            if "requestBody" in operation:  # any body may be malformed JSON or too large
                operation["responses"].setdefault(
                    "400", {"description": "Body is not valid JSON", "content": problem}
                )
                operation["responses"].setdefault(
                    "413", {"description": "Body too large", "content": problem}
                )
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    # Optional in the signature so a missing key is our 400, not a generic 422.
                    parameter["required"] = True
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for model in parcels_router.EXTRA_SCHEMAS:
        extra = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        components.update(extra.pop("$defs", {}))
        components[model.__name__] = extra
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json_lines=settings.log_json)
    database = database or Database(
        make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            connect_timeout_s=settings.db_connect_timeout_s,
        )
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        database.engine.dispose()

    app = FastAPI(
        title="gongpei",
        version="0.1.0",
        description="Dispatch backend for a county shared-delivery company (共配中心). "
        "Carriers post parcels and read their own; the dispatch desk manages stations. "
        "Errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        dependencies=[Depends(check_query_params)],
    )
    app.state.settings = settings
    app.state.database = database
    _install_error_handlers(app)
    app.include_router(parcels_router.router)
    app.include_router(inbound_router.router)
    app.include_router(imports_router.router)
    app.include_router(review_router.router)
    app.include_router(stations_router.router)
    app.include_router(plans_router.router)
    app.include_router(drivers_router.router)
    app.include_router(drivers_router.proofs_router)
    app.include_router(callbacks_router.router)
    app.include_router(notifications_router.router)
    app.include_router(web_router.router)
    app.include_router(settlements_router.contracts_router)
    app.include_router(settlements_router.settlements_router)
    app.include_router(settlements_router.statements_router)
    app.include_router(settlements_router.carrier_router)
    app.include_router(settlements_router.carrier_contracts_router)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="Readiness: the database answers",
        responses={503: {"description": "Database unreachable", "content": {PROBLEM_JSON: {}}}},
    )
    def readyz() -> dict[str, str]:
        try:
            with database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise ServiceUnavailable("The database is unreachable.") from exc
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        overrides={"/v1/parcels/files": settings.max_upload_bytes},
    )
    app.add_middleware(RequestContextMiddleware)
    return app
