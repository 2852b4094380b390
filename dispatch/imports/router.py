"""Manifest files (CSV/XLSX) uploaded by carriers: accepted at once, processed in the background."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from dispatch.deps import CurrentCarrier, IdempotencyKey, SessionDep, SettingsDep, get_database
from dispatch.idempotency import execute_once
from dispatch.imports import service
from dispatch.imports.schemas import ImportAccepted, ImportReport
from dispatch.jobs.imports import schedule_file_import
from dispatch.models import ImportStatus

router = APIRouter(prefix="/v1/parcels/files", tags=["parcels"])
PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.post(
    "",
    status_code=202,
    summary="Upload an arrival manifest (CSV or XLSX); poll the report",
    response_model=ImportAccepted,
    responses={
        400: {"description": "Missing Idempotency-Key", **PROBLEM},
        401: {"description": "Missing or invalid API key", **PROBLEM},
        413: {"description": "File too large", **PROBLEM},
        422: {"description": "No file part, or a key reused for another file", **PROBLEM},
    },
)
def upload_manifest(
    request: Request,
    background: BackgroundTasks,
    carrier: CurrentCarrier,
    key: IdempotencyKey,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, GBK or GB18030) or XLSX, Chinese headers.")],
) -> JSONResponse:
    """The encoding, header row and columns are found from the file; each data row is reported on its own."""
    content = file.file.read()  # an empty or unreadable file is reported by the import, like any other
    path = request.url.path
    created: list[uuid.UUID] = []

    def run() -> tuple[int, dict[str, Any]]:
        record = service.create(
            session,
            carrier=carrier,
            filename=file.filename or "upload",
            content_type=file.content_type or "",
            content=content,
        )
        created.append(record.id)
        body = ImportAccepted(
            import_id=record.id, status=ImportStatus.QUEUED, report_url=f"{path}/{record.id}"
        )
        return 202, body.model_dump(mode="json")

    stored = execute_once(
        session,
        carrier_id=carrier.carrier_id,
        key=key,
        method="POST",
        path=path,
        request_fingerprint=hashlib.sha256(f"POST\n{path}\n".encode() + content).hexdigest(),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout_ms=settings.idempotency_lock_timeout_ms,
        run=run,
    )
    if created:  # runs after the response is sent, so after the upload has committed
        background.add_task(schedule_file_import, settings, get_database(request), created[0])
    return JSONResponse(
        stored.body,
        status_code=stored.status,
        headers={"Location": stored.body["report_url"], "Idempotent-Replayed": str(stored.replayed).lower()},
        background=background,
    )


@router.get(
    "/{import_id}",
    summary="Progress and per-row report of a manifest upload",
    response_model=ImportReport,
    responses={
        401: {"description": "Missing or invalid API key", **PROBLEM},
        404: {"description": "No such import for this carrier", **PROBLEM},
    },
)
def get_report(
    import_id: uuid.UUID,
    carrier: CurrentCarrier,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, description="First issue to return.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Issues per page.")] = 1000,
) -> ImportReport:
    return service.report(session, carrier=carrier, import_id=import_id, offset=offset, limit=limit)
