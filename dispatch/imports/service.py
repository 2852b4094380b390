"""Manifest-file imports: stored on upload, processed in the background in chunks, reported per row."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from carriers.base import CarrierPayloadError, ParseResult, RecordBuilder, Severity
from carriers.manifest import ManifestReader
from dispatch.accounts.service import CarrierContext
from dispatch.db import Database, utcnow
from dispatch.errors import NotFound
from dispatch.imports.schemas import ImportReport, Progress, RowIssue
from dispatch.matching import service as matching
from dispatch.models import CarrierAccount, FileImport, ImportStatus, Operator
from dispatch.observability import log
from dispatch.parcels import service as parcels

CHUNK = 1000
MAX_STORED_ISSUES = 20_000
STALE_AFTER = timedelta(minutes=10)
"""A processing import untouched this long is taken to have lost its worker and may be taken again."""


def create(
    session: Session, *, carrier: CarrierContext, filename: str, content_type: str, content: bytes
) -> FileImport:
    record = FileImport(
        operator_id=carrier.operator_id,
        carrier_id=carrier.carrier_id,
        filename=filename[:255] or "upload",
        content_type=content_type[:128] or "application/octet-stream",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        status=ImportStatus.QUEUED,
    )
    session.add(record)
    session.flush()
    return record


def report(
    session: Session, *, carrier: CarrierContext, import_id: uuid.UUID, offset: int = 0, limit: int = 1000
) -> ImportReport:
    record = session.execute(
        select(FileImport).where(FileImport.id == import_id, FileImport.carrier_id == carrier.carrier_id)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound("No file import with this id.")
    zone = ZoneInfo(carrier.timezone)
    total = record.rows_total
    percent = 100 if record.status is ImportStatus.DONE else (record.rows_done * 100 // total if total else 0)
    issues = record.issues or []
    return ImportReport(
        import_id=record.id,
        filename=record.filename,
        status=record.status,
        progress=Progress(rows_done=record.rows_done, rows_total=total, percent=min(percent, 100)),
        summary=record.summary,
        error=record.error,
        issues=[RowIssue(**i) for i in issues[offset : offset + limit]],
        issues_total=len(issues),
        created_at=record.created_at.astimezone(zone),
        finished_at=record.finished_at.astimezone(zone) if record.finished_at else None,
    )


def _claim(session: Session, import_id: uuid.UUID) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(FileImport)
        .where(FileImport.id == import_id)
        .where(
            or_(
                FileImport.status == ImportStatus.QUEUED,
                (FileImport.status == ImportStatus.PROCESSING) & (FileImport.started_at < now - STALE_AFTER),
            )
        )
        .values(status=ImportStatus.PROCESSING, started_at=now, attempts=FileImport.attempts + 1)
        .returning(FileImport.id)
    ).scalar_one_or_none()
    return claimed is not None


def carrier_context(session: Session, carrier_id: uuid.UUID) -> CarrierContext:
    account, timezone = session.execute(
        select(CarrierAccount, Operator.timezone)
        .join(Operator, Operator.id == CarrierAccount.operator_id)
        .where(CarrierAccount.id == carrier_id)
    ).one()
    return CarrierContext(
        carrier_id=account.id, operator_id=account.operator_id, brand=account.brand, timezone=timezone
    )


def parse_file(carrier: CarrierContext, content: bytes, content_type: str) -> ParseResult:
    """The file read by the brand's adapter, or by the common manifest columns for brands without one."""
    adapter = parcels.brand_adapter(carrier)
    if adapter is not None:
        return adapter.parse_parcels(content, content_type)
    return ManifestReader({}, RecordBuilder).parse(content, content_type or "text/csv")


def process(
    database: Database, import_id: uuid.UUID, *, on_progress: Callable[[int, int], None] | None = None
) -> ImportStatus | None:
    """Process one import if it is waiting (or was abandoned); None when another worker has it or it is done.

    Parcels are stored in chunks of 1,000, each in its own transaction, with the progress beside them: a
    crash loses at most the chunk in flight, and running again only finds those parcels unchanged.
    """
    with database.session_scope() as session:
        if not _claim(session, import_id):
            return None
    with database.session_scope() as session:
        record = session.get(FileImport, import_id)
        assert record is not None
        content, content_type = record.content or b"", record.content_type
        carrier = carrier_context(session, record.carrier_id)
    try:
        result = parse_file(carrier, content, content_type)
    except CarrierPayloadError as exc:
        with database.session_scope() as session:
            session.execute(
                update(FileImport)
                .where(FileImport.id == import_id)
                .values(
                    status=ImportStatus.FAILED, error=exc.reason[:500], finished_at=utcnow(), content=None
                )
            )
        log.info("file_import_failed", import_id=str(import_id), reason=exc.reason)
        return ImportStatus.FAILED

    validated = parcels.from_parse_result(result)
    issues = [
        {"index": i.index, "line": i.line, "field": i.field, "reason": i.reason, "severity": i.severity.value}
        for i in result.issues
    ]
    counts = {"received": result.records, "created": 0, "updated": 0, "unchanged": 0}
    total = len(validated.good)
    with database.session_scope() as session:
        session.execute(
            update(FileImport).where(FileImport.id == import_id).values(rows_total=total, rows_done=0)
        )
    lines = {i.index: i.line for i in result.issues}
    for start in range(0, total, CHUNK):
        chunk = validated.good[start : start + CHUNK]
        with database.session_scope() as session:
            stored = parcels.store(
                session,
                carrier=carrier,
                validated=parcels.Validated(
                    good=chunk, rejected=[], warnings=validated.warnings, received=len(chunk)
                ),
            )
            for key in ("created", "updated", "unchanged"):
                counts[key] += getattr(stored.summary, key)
            for rejected in stored.rejected:
                issues.append(
                    {
                        "index": rejected.index,
                        "line": lines.get(rejected.index),
                        "field": rejected.field,
                        "reason": rejected.reason,
                        "severity": Severity.ERROR.value,
                    }
                )
            done = start + len(chunk)
            session.execute(update(FileImport).where(FileImport.id == import_id).values(rows_done=done))
        if on_progress is not None:
            on_progress(done, total)
    issues.sort(key=lambda i: (i["index"], i["severity"] != "error"))
    counts["rejected"] = len({i["index"] for i in issues if i["severity"] == Severity.ERROR.value})
    counts["warnings"] = sum(1 for i in issues if i["severity"] == Severity.WARNING.value)
    with database.session_scope() as session:
        session.execute(
            update(FileImport)
            .where(FileImport.id == import_id)
            .values(
                status=ImportStatus.DONE,
                summary=counts,
                issues=issues[:MAX_STORED_ISSUES],
                finished_at=utcnow(),
                content=None,
            )
        )
    log.info("file_import_done", import_id=str(import_id), **counts)
    matching.match_all_pending(database, carrier.operator_id)
    return ImportStatus.DONE
