"""Tracking events from carriers' pushes: stored once each, and moving the parcel's status forward."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from carriers.base import ParseResult, Severity
from carriers.unified import ParcelStatus, TrackingEvent
from dispatch.accounts.service import CarrierContext
from dispatch.db import dialect_insert, is_postgres, utcnow
from dispatch.models import EventKind, Parcel, ParcelEvent
from dispatch.parcels.schemas import FieldError
from dispatch.tracking.schemas import AcceptedEvent, EventIngestResponse, EventSummary, RejectedEvent

FUTURE_TOLERANCE = timedelta(minutes=10)

DONE_STATUSES = frozenset(
    {
        ParcelStatus.AT_STATION,
        ParcelStatus.DELIVERED_RECIPIENT,
        ParcelStatus.DELIVERED_AGENT,
        ParcelStatus.PICKED_UP,
    }
)
"""Statuses that settle a parcel: the first time it reaches one is its ``done_at`` (the day it is billed)."""
"""Device clocks drift; an event further ahead than this is a data error."""


def event_key(event: TrackingEvent) -> str:
    """The carrier's event id, or a digest of what identifies a scan (code, time, site)."""
    if event.event_id:
        return hashlib.sha256(f"id|{event.event_id}".encode()).hexdigest()
    basis = "|".join(
        str(part or "")
        for part in (
            event.raw_namespace,
            event.raw_code,
            event.status.value,
            event.occurred_at.isoformat(),
            event.site_no,
        )
    )
    return hashlib.sha256(basis.encode()).hexdigest()


def _rejected(index: int, waybill: str | None, field: str, reason: str) -> RejectedEvent:
    return RejectedEvent(
        index=index,
        waybill_no=waybill,
        field=field,
        reason=reason,
        errors=[FieldError(field=field, reason=reason)],
    )


def ingest(
    session: Session, *, carrier: CarrierContext, result: ParseResult, actor: str, now: datetime | None = None
) -> EventIngestResponse:
    """Record each parsed event for the carrier's own parcels; repeats are reported as duplicates.

    An event for a waybill this account does not have, or dated in the future, is rejected on its own.
    """
    now = now or utcnow()
    rejected: list[RejectedEvent] = []
    for issue in result.issues:
        if issue.severity is Severity.ERROR:
            rejected.append(_rejected(issue.index, None, issue.field, issue.reason))
    waybills = sorted({e.waybill_no for e in result.events})
    parcels = (
        {
            p.waybill_no: p
            for p in session.execute(
                select(Parcel).where(Parcel.carrier_id == carrier.carrier_id, Parcel.waybill_no.in_(waybills))
            ).scalars()
        }
        if waybills
        else {}
    )

    rows: list[dict[str, Any]] = []
    pending: list[tuple[int, TrackingEvent, Parcel, str]] = []
    for index, event in zip(result.event_index, result.events, strict=True):
        parcel = parcels.get(event.waybill_no)
        if parcel is None:
            rejected.append(
                _rejected(index, event.waybill_no, "waybill_no", "no parcel with this waybill number")
            )
            continue
        if event.occurred_at > now + FUTURE_TOLERANCE:
            rejected.append(_rejected(index, event.waybill_no, "occurred_at", "event time is in the future"))
            continue
        key = event_key(event)
        pending.append((index, event, parcel, key))
        rows.append(
            {
                "parcel_id": parcel.id,
                "carrier_id": carrier.carrier_id,
                "kind": EventKind.SCAN,
                "status": event.status,
                "raw_code": (event.raw_code or "")[:64] or None,
                "raw_namespace": (event.raw_namespace or "")[:32] or None,
                "event_key": key,
                "occurred_at": event.occurred_at,
                "recorded_at": now,
                "place": (event.site_name or event.city or "")[:200] or None,
                "site_no": (event.site_no or "")[:64] or None,
                "site_type": event.site_type,
                "description": (event.description or "")[:500] or None,
                "failure_reason": event.failure_reason,
                "pickup_code": (event.pickup_code or "")[:32] or None,
                "actor": actor[:100],
                "changed_fields": None,
            }
        )
    inserted: set[tuple[Any, str]] = set()
    if rows:
        stmt = (
            dialect_insert(session)(ParcelEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["parcel_id", "event_key"])
            .returning(ParcelEvent.parcel_id, ParcelEvent.event_key)
        )
        inserted = {(row.parcel_id, row.event_key) for row in session.execute(stmt)}

    accepted: list[AcceptedEvent] = []
    latest: dict[Any, TrackingEvent] = {}
    done: dict[Any, datetime] = {}
    for index, event, parcel, key in pending:
        fresh = (parcel.id, key) in inserted
        inserted.discard((parcel.id, key))  # a repeat inside the same payload counts as a duplicate
        accepted.append(
            AcceptedEvent(
                index=index,
                waybill_no=event.waybill_no,
                status=event.status,
                occurred_at=event.occurred_at,
                result="recorded" if fresh else "duplicate",
            )
        )
        if fresh:
            current = latest.get(parcel.id)
            if current is None or event.occurred_at >= current.occurred_at:
                latest[parcel.id] = event
            if event.status in DONE_STATUSES:
                done[parcel.id] = min(done.get(parcel.id, event.occurred_at), event.occurred_at)
    # Move the status only forward in event time: a late-arriving older scan never rolls it back.
    move_statuses(session, {pid: (e.occurred_at, e.status) for pid, e in latest.items()}, now=now, done=done)
    accepted.sort(key=lambda a: a.index)
    rejected.sort(key=lambda r: r.index)
    recorded = sum(a.result == "recorded" for a in accepted)
    return EventIngestResponse(
        accepted=accepted,
        rejected=rejected,
        summary=EventSummary(
            received=result.records,
            recorded=recorded,
            duplicate=len(accepted) - recorded,
            rejected=len(rejected),
        ),
    )


def move_statuses(
    session: Session,
    latest: dict[uuid.UUID, tuple[datetime, ParcelStatus]],
    *,
    now: datetime,
    done: dict[uuid.UUID, datetime] | None = None,
) -> None:
    """Each parcel's status moves to its newest new event, only forward in event time: one statement on
    PostgreSQL (the rows as one JSON document), one per parcel elsewhere. ``done`` holds, per parcel, the
    earliest new event with one of ``DONE_STATUSES``: ``done_at`` becomes the earliest such time ever
    seen, whatever the status does (a late hand-over scan still counts from when it happened)."""
    if latest and is_postgres(session):
        rows = [
            {"id": str(pid), "status": status.value, "status_at": at.isoformat()}
            for pid, (at, status) in latest.items()
        ]
        session.execute(
            text(
                "UPDATE parcel SET status = v.status, status_at = v.status_at, updated_at = :now "
                "FROM json_populate_recordset(NULL::parcel, CAST(:rows AS JSON)) AS v "
                "WHERE parcel.id = v.id AND (parcel.status_at IS NULL OR parcel.status_at <= v.status_at)"
            ),
            {"rows": json.dumps(rows), "now": now},
        )
    elif latest:
        for parcel_id, (occurred_at, status) in latest.items():
            session.execute(
                update(Parcel)
                .where(Parcel.id == parcel_id)
                .where((Parcel.status_at.is_(None)) | (Parcel.status_at <= occurred_at))
                .values(status=status, status_at=occurred_at, updated_at=now)
            )
    if not done:
        return
    if is_postgres(session):
        session.execute(
            text(
                "UPDATE parcel SET done_at = LEAST(COALESCE(parcel.done_at, v.done_at), v.done_at) "
                "FROM json_populate_recordset(NULL::parcel, CAST(:rows AS JSON)) AS v "
                "WHERE parcel.id = v.id AND (parcel.done_at IS NULL OR parcel.done_at > v.done_at)"
            ),
            {"rows": json.dumps([{"id": str(pid), "done_at": at.isoformat()} for pid, at in done.items()])},
        )
        return
    for parcel_id, at in done.items():
        session.execute(
            update(Parcel)
            .where(Parcel.id == parcel_id, (Parcel.done_at.is_(None)) | (Parcel.done_at > at))
            .values(done_at=at)
        )
