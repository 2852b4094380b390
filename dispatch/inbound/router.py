"""Native carrier payloads: a brand's own order/manifest JSON or its push, and the aggregators' pushes."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from carriers import registry
from carriers.base import CarrierPayloadError
from dispatch.deps import CurrentCarrier, SessionDep, SettingsDep, get_database, read_raw_body
from dispatch.errors import BadRequest, DispatchError, ValidationFailed
from dispatch.idempotency import execute_once
from dispatch.jobs.matching import schedule_matching
from dispatch.observability import IDEMPOTENT_REPLAYS
from dispatch.parcels import service as parcels
from dispatch.parcels.schemas import IngestResponse
from dispatch.tracking import service as tracking
from dispatch.tracking.schemas import EventIngestResponse

router = APIRouter(prefix="/v1/inbound", tags=["inbound"])
PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


class SignatureMismatch(DispatchError):
    status = 403
    slug = "signature-mismatch"
    title = "The payload's signature does not match"


class FormatNotAllowed(DispatchError):
    status = 403
    slug = "format-not-allowed"
    title = "This account may not post in this format"


class UnreadablePayload(BadRequest):
    slug = "unreadable-payload"
    title = "The payload cannot be read in this format"


FormatPath = Annotated[
    Literal["china_post", "ems", "zto", "yto", "sto", "yunda", "jt", "sf", "jd", "kuaidi100", "kdniao"],
    Path(description="A brand code (the account's own brand) or an aggregator: kuaidi100, kdniao."),
]


@router.post(
    "/{format}",
    summary="Post a native carrier payload: tracking pushes (default) or the brand's own parcel records",
    response_model=EventIngestResponse | IngestResponse,
    responses={
        400: {"description": "Unreadable payload", **PROBLEM},
        401: {"description": "Missing or invalid API key", **PROBLEM},
        403: {"description": "Signature mismatch, or another brand's format", **PROBLEM},
        409: {"description": "The same Idempotency-Key is still in flight", **PROBLEM},
        413: {"description": "Body too large", **PROBLEM},
        422: {"description": "Nothing valid in the payload", **PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The carrier's own payload: JSON, form-encoded or XML as the format defines.",
            "content": {
                "application/json": {"schema": {}},
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
)
def post_inbound(
    request: Request,
    format: FormatPath,
    carrier: CurrentCarrier,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    raw: Annotated[bytes, read_raw_body],
    kind: Annotated[
        Literal["events", "parcels"],
        Query(description="events: a tracking push; parcels: the brand's order/waybill records."),
    ] = "events",
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Optional: without it, an identical body is the same request (pushes are retried).",
        ),
    ] = None,
) -> JSONResponse:
    """Each record is judged on its own, as in ``POST /v1/parcels``; issues use the format's field names."""
    if format in registry.BRAND_FORMATS and format != carrier.brand.value:
        raise FormatNotAllowed(
            f"This account is {carrier.brand.value}; post its own format or an aggregator's.",
            errors=[{"field": "format", "reason": f"not this account's brand ({carrier.brand.value})"}],
        )
    if kind == "parcels" and format in registry.AGGREGATOR_FORMATS:
        raise ValidationFailed(
            f"{format} carries tracking only.",
            errors=[{"field": "kind", "reason": "aggregators carry events only"}],
        )
    adapter = registry.get(format)
    content_type = request.headers.get("content-type", "application/json")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        signed = adapter.verify_signature(raw, content_type, headers, carrier.signing_secret)
    except CarrierPayloadError as exc:
        raise UnreadablePayload(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}]) from exc
    if signed is False:
        raise SignatureMismatch(
            "Sign the payload with this account's signing secret as the format defines.",
            errors=[{"field": "signature", "reason": "does not match"}],
        )
    key = idempotency_key or "body-sha256:" + hashlib.sha256(raw).hexdigest()
    path = request.url.path + f"?kind={kind}"

    def run() -> tuple[int, dict[str, Any]]:
        try:
            result = (
                adapter.parse_parcels(raw, content_type)
                if kind == "parcels"
                else adapter.parse_events(raw, content_type)
            )
        except CarrierPayloadError as exc:
            raise UnreadablePayload(exc.reason, errors=[{"field": exc.field, "reason": exc.reason}]) from exc
        if kind == "parcels":
            validated = parcels.from_parse_result(result)
            if not validated.good:
                raise ValidationFailed(
                    "No record in the payload is valid.",
                    errors=[{"field": f"{r.index}.{r.field}", "reason": r.reason} for r in validated.rejected]
                    or [{"field": "body", "reason": "no records"}],
                )
            return 200, parcels.store(session, carrier=carrier, validated=validated).model_dump(mode="json")
        actor = f"carrier:{carrier.brand.value}" if format == carrier.brand.value else f"aggregator:{format}"
        response = tracking.ingest(session, carrier=carrier, result=result, actor=actor)
        return 200, response.model_dump(mode="json")

    stored = execute_once(
        session,
        carrier_id=carrier.carrier_id,
        key=key,
        method="POST",
        path=path,
        request_fingerprint=hashlib.sha256(f"POST\n{path}\n".encode() + raw).hexdigest(),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout_ms=settings.idempotency_lock_timeout_ms,
        run=run,
    )
    if stored.replayed:
        IDEMPOTENT_REPLAYS.inc()
    elif kind == "parcels" and (stored.body["summary"]["created"] or stored.body["summary"]["updated"]):
        background.add_task(schedule_matching, settings, get_database(request), carrier.operator_id)
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        headers={"Idempotent-Replayed": str(stored.replayed).lower()},
        background=background,
    )
