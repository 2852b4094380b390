"""Carrier API for parcels: ingestion and the carrier's own read views."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator

from carriers.unified import ParcelStatus
from dispatch.deps import CurrentCarrier, IdempotencyKey, JsonBody, SessionDep, SettingsDep, get_database
from dispatch.idempotency import execute_once, fingerprint
from dispatch.jobs.matching import schedule_matching
from dispatch.observability import IDEMPOTENT_REPLAYS, PARCELS_INGESTED
from dispatch.parcels import service
from dispatch.parcels.schemas import EventList, IngestResponse, ParcelBatchIn, ParcelOut, ParcelPage

router = APIRouter(prefix="/v1/parcels", tags=["parcels"])


def _iso_only(value: object) -> object:
    # pydantic also reads bare numbers as Unix times; the API promises ISO 8601 only.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-11-30T08:00:00+08:00")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown, revoked or expired API key", **PROBLEM},
    422: {"description": "Invalid request", **PROBLEM},
}


@router.post(
    "",
    summary="Post 1 to 1,000 parcels (idempotent)",
    response_model=IngestResponse,
    responses={
        **_COMMON_ERRORS,
        400: {"description": "Missing Idempotency-Key or malformed JSON", **PROBLEM},
        409: {"description": "The same Idempotency-Key is still in flight", **PROBLEM},
        413: {"description": "Body too large", **PROBLEM},
        422: {"description": "No valid record, a malformed envelope, or a key reused", **PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ParcelBatchIn"}}},
        }
    },
)
def post_parcels(
    request: Request,
    carrier: CurrentCarrier,
    key: IdempotencyKey,
    body: JsonBody,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> JSONResponse:
    """Each record is validated on its own: good ones land, bad ones come back with index, field and reason.

    A known waybill is updated in place (its mutable fields) and gets an event; it never gets a second row.
    New and re-addressed parcels are matched to a village and station right after the response.
    """
    records = service.validate_envelope(body, max_records=settings.max_batch_records)
    path = request.url.path

    def run() -> tuple[int, dict[str, Any]]:
        result = service.ingest(session, carrier=carrier, records=records)
        return 200, result.model_dump(mode="json")

    stored = execute_once(
        session,
        carrier_id=carrier.carrier_id,
        key=key,
        method="POST",
        path=path,
        request_fingerprint=fingerprint("POST", path, body),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout_ms=settings.idempotency_lock_timeout_ms,
        run=run,
    )
    if stored.replayed:
        IDEMPOTENT_REPLAYS.inc()
    else:
        summary = stored.body["summary"]
        for result in ("created", "updated", "unchanged", "rejected"):
            PARCELS_INGESTED.labels(result).inc(summary[result])
        if summary["created"] or summary["updated"]:
            background.add_task(schedule_matching, settings, get_database(request), carrier.operator_id)
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        headers={"Idempotent-Replayed": "true" if stored.replayed else "false"},
        background=background,
    )


@router.get(
    "",
    summary="List this carrier's parcels, oldest change first",
    response_model=ParcelPage,
    responses=_COMMON_ERRORS,
)
def list_parcels(
    carrier: CurrentCarrier,
    session: SessionDep,
    settings: SettingsDep,
    status: ParcelStatus | None = None,
    updated_since: Annotated[
        IsoDateTime | None, Query(description="ISO 8601; without an offset, the operator's time zone.")
    ] = None,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[
        int | None, Query(ge=1, description="Page size; capped at the server's maximum (500).")
    ] = None,
) -> ParcelPage:
    page_size = min(limit or settings.default_page_size, settings.max_page_size)
    return service.list_parcels(
        session, carrier=carrier, status=status, updated_since=updated_since, cursor=cursor, limit=page_size
    )


WaybillPath = Annotated[str, Path(min_length=1, max_length=40, description="The carrier's waybill number.")]


@router.get(
    "/{waybill_no}",
    summary="One parcel (recipient masked)",
    response_model=ParcelOut,
    responses={**_COMMON_ERRORS, 404: {"description": "No such parcel for this carrier", **PROBLEM}},
)
def get_parcel(waybill_no: WaybillPath, carrier: CurrentCarrier, session: SessionDep) -> ParcelOut:
    return service.get_parcel(session, carrier=carrier, waybill_no=waybill_no)


@router.get(
    "/{waybill_no}/events",
    summary="A parcel's events, oldest first",
    response_model=EventList,
    responses={**_COMMON_ERRORS, 404: {"description": "No such parcel for this carrier", **PROBLEM}},
)
def get_parcel_events(waybill_no: WaybillPath, carrier: CurrentCarrier, session: SessionDep) -> EventList:
    return service.get_events(session, carrier=carrier, waybill_no=waybill_no)


EXTRA_SCHEMAS = (ParcelBatchIn,)
