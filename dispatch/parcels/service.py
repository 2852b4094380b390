"""Parcel ingestion (per-record validation, upsert by waybill, events) and the carrier's read views."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from carriers import registry
from carriers.base import CarrierAdapter, ParseResult, RecordBuilder, Severity
from carriers.unified import TERMINAL_STATUSES, Parcel, ParcelStatus
from carriers.waybill import check_s10
from dispatch.accounts.service import CarrierContext
from dispatch.db import utcnow
from dispatch.errors import NotFound, ValidationFailed
from dispatch.models import EventKind, ParcelEvent
from dispatch.models import Parcel as ParcelRow
from dispatch.parcels import repository
from dispatch.parcels.schemas import (
    AcceptedRecord,
    EventList,
    EventOut,
    FieldError,
    IngestResponse,
    IngestSummary,
    MaskedRecipient,
    ParcelOut,
    ParcelPage,
    RejectedRecord,
    Resolution,
)
from dispatch.privacy import mask_name, mask_phone

# API field name -> column, for the fields a re-post may change.
MUTABLE_FIELDS: dict[str, str] = {
    "direction": "direction",
    "recipient.name": "recipient_name",
    "recipient.phone": "recipient_phone",
    "address": "address_text",
    "weight_g": "weight_g",
    "volume_cm3": "volume_cm3",
    "pieces": "pieces",
    "temperature": "temperature",
    "cod_fen": "cod_fen",
    "declared_value_fen": "declared_value_fen",
    "promised_date": "promised_date",
    "sort_hint": "sort_hint",
    "delivery_preference": "delivery_preference",
}
# A new address makes the resolved station stale: the parcel is pending again until matching runs.
_RESOLUTION_COLUMNS = (
    "county_code",
    "township_code",
    "village_code",
    "station_id",
    "match_status",
    "match_confidence",
    "match_reason",
)


def _columns(record: Parcel) -> dict[str, Any]:
    return {
        "direction": record.direction,
        "recipient_name": record.recipient.name,
        "recipient_phone": record.recipient.phone,
        "address_text": record.address,
        "weight_g": record.weight_g,
        "volume_cm3": record.volume_cm3,
        "pieces": record.pieces,
        "temperature": record.temperature,
        "cod_fen": record.cod_fen,
        "declared_value_fen": record.declared_value_fen,
        "promised_date": record.promised_date,
        "sort_hint": record.sort_hint,
        "delivery_preference": None
        if record.delivery_preference is None
        else record.delivery_preference.value,
    }


def _rejection(index: int, waybill: Any, errors: list[dict[str, str]]) -> RejectedRecord:
    first = errors[0]
    return RejectedRecord(
        index=index,
        waybill_no=waybill if isinstance(waybill, str) else None,
        field=first["field"],
        reason=first["reason"],
        errors=[FieldError(**e) for e in errors],
    )


def validate_envelope(body: Any, *, max_records: int) -> list[Any]:
    """The list of raw records in ``{"parcels": [...]}``; anything else is a 422 naming the field."""
    if not isinstance(body, dict):
        raise ValidationFailed(
            "Body must be a JSON object with a 'parcels' array.",
            errors=[{"field": "body", "reason": "must be a JSON object"}],
        )
    unknown = sorted(set(body) - {"parcels"})
    if unknown:
        raise ValidationFailed(
            f"Unknown top-level field(s): {', '.join(unknown)}.",
            errors=[{"field": name, "reason": "unknown field"} for name in unknown],
        )
    records = body.get("parcels")
    if not isinstance(records, list):
        raise ValidationFailed(
            "'parcels' must be an array of parcel records.",
            errors=[{"field": "parcels", "reason": "required array"}],
        )
    if not 1 <= len(records) <= max_records:
        raise ValidationFailed(
            f"'parcels' must hold 1 to {max_records} records; it holds {len(records)}.",
            errors=[{"field": "parcels", "reason": f"must hold 1 to {max_records} records"}],
        )
    return records


def brand_adapter(carrier: CarrierContext) -> CarrierAdapter | None:
    """The adapter of the account's brand, if the brand has one (``other`` has none)."""
    try:
        return registry.get(carrier.brand.value)
    except registry.UnknownFormat:
        return None


@dataclass
class Validated:
    """Records split into valid parcels (with their warnings) and rejections, by record index."""

    good: list[tuple[int, Parcel]]
    rejected: list[RejectedRecord]
    warnings: dict[int, list[FieldError]]
    received: int


def from_parse_result(result: ParseResult, *, waybills: dict[int, str | None] | None = None) -> Validated:
    """A carrier adapter's result in the shape ingestion stores and reports."""
    errors: dict[int, list[dict[str, str]]] = {}
    warnings: dict[int, list[FieldError]] = {}
    for issue in result.issues:
        if issue.severity is Severity.WARNING:
            warnings.setdefault(issue.index, []).append(FieldError(field=issue.field, reason=issue.reason))
        else:
            errors.setdefault(issue.index, []).append({"field": issue.field, "reason": issue.reason})
    names = waybills or {}
    rejected = [_rejection(index, names.get(index), errs) for index, errs in sorted(errors.items())]
    good = list(zip(result.parcel_index, result.parcels, strict=True))
    return Validated(good=good, rejected=rejected, warnings=warnings, received=result.records)


def validate_records(records: list[Any], *, carrier: CarrierContext | None = None) -> Validated:
    """Validate each unified record on its own, with the brand's waybill checks; a waybill repeated in
    the batch is rejected after its first use."""
    adapter = brand_adapter(carrier) if carrier is not None else None
    # Brands without an adapter still get the one hard rule: a UPU S10 number's check digit.
    builder = RecordBuilder(check_waybill=adapter.check_waybill if adapter else check_s10)
    for index, raw in enumerate(records):
        builder.add(index, raw)
    waybills = {i: r.get("waybill_no") if isinstance(r, dict) else None for i, r in enumerate(records)}
    return from_parse_result(builder.result(len(records)), waybills=waybills)


def ingest(session: Session, *, carrier: CarrierContext, records: list[Any]) -> IngestResponse:
    """Create or update each valid record by (carrier, waybill); good records land whatever the others do.

    Raises ``ValidationFailed`` when no record in the batch is valid (nothing is written then).
    """
    validated = validate_records(records, carrier=carrier)
    if not validated.good:
        raise ValidationFailed(
            "No record in the batch is valid.",
            errors=[
                {"field": f"parcels.{r.index}.{r.field}", "reason": r.reason} for r in validated.rejected
            ],
        )
    return store(session, carrier=carrier, validated=validated)


def store(session: Session, *, carrier: CarrierContext, validated: Validated) -> IngestResponse:
    """Write valid parcels: new waybills are created, known ones updated in place with an event."""
    now = utcnow()
    actor = f"carrier:{carrier.brand.value}"
    rejected = list(validated.rejected)
    by_waybill = {record.waybill_no: (index, record) for index, record in validated.good}

    existing = repository.find_by_waybills(
        session, carrier_id=carrier.carrier_id, waybills=list(by_waybill), lock=True
    )
    new_rows = [
        {
            "id": uuid.uuid4(),
            "operator_id": carrier.operator_id,
            "carrier_id": carrier.carrier_id,
            "brand": carrier.brand,
            "waybill_no": waybill,
            "status": ParcelStatus.ANNOUNCED,
            "created_at": now,
            "updated_at": now,
            **_columns(record),
        }
        for waybill, (_index, record) in by_waybill.items()
        if waybill not in existing
    ]
    # New parcels land unmatched (match_status NULL = pending); matching runs after the commit, in a
    # worker (see dispatch.jobs.matching), so ingestion pays for storage only.
    created = repository.insert_new(session, new_rows)
    raced = [row["waybill_no"] for row in new_rows if row["waybill_no"] not in created]
    if raced:  # inserted by a concurrent request between our read and our insert
        existing.update(
            repository.find_by_waybills(session, carrier_id=carrier.carrier_id, waybills=raced, lock=True)
        )

    events: list[dict[str, Any]] = []
    results: dict[int, AcceptedRecord] = {}
    for waybill, (index, record) in by_waybill.items():
        warnings = validated.warnings.get(index, [])
        if waybill in created:
            results[index] = AcceptedRecord(
                index=index,
                waybill_no=waybill,
                parcel_id=created[waybill],
                result="created",
                warnings=warnings,
            )
            events.append(
                _event(created[waybill], carrier, EventKind.CREATED, ParcelStatus.ANNOUNCED, now, actor)
            )
            continue
        row = existing[waybill]
        outcome = _apply_update(session, row=row, record=record, carrier=carrier, now=now, events=events)
        if outcome is None:
            reason = f"parcel is {row.status.value}; it can no longer change"
            rejected.append(_rejection(index, waybill, [{"field": "waybill_no", "reason": reason}]))
        else:
            results[index] = AcceptedRecord(
                index=index, waybill_no=waybill, parcel_id=row.id, result=outcome, warnings=warnings
            )
    repository.insert_events(session, events)

    accepted = [results[i] for i in sorted(results)]
    rejected.sort(key=lambda r: r.index)
    counts = {k: sum(1 for a in accepted if a.result == k) for k in ("created", "updated", "unchanged")}
    return IngestResponse(
        accepted=accepted,
        rejected=rejected,
        summary=IngestSummary(received=validated.received, rejected=len(rejected), **counts),
    )


def _event(
    parcel_id: uuid.UUID,
    carrier: CarrierContext,
    kind: EventKind,
    status: ParcelStatus,
    now: datetime,
    actor: str,
    changed: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "parcel_id": parcel_id,
        "carrier_id": carrier.carrier_id,
        "kind": kind,
        "status": status,
        "raw_code": None,
        "occurred_at": now,
        "recorded_at": now,
        "place": None,
        "actor": actor,
        "changed_fields": changed,
    }


def _apply_update(
    session: Session,
    *,
    row: ParcelRow,
    record: Parcel,
    carrier: CarrierContext,
    now: datetime,
    events: list[dict[str, Any]],
) -> str | None:
    """Update a known parcel's mutable fields; None when its status no longer allows changes."""
    new_values = _columns(record)
    changed = [name for name, column in MUTABLE_FIELDS.items() if getattr(row, column) != new_values[column]]
    if not changed:
        return "unchanged"
    if row.status in TERMINAL_STATUSES:
        return None
    values = {MUTABLE_FIELDS[name]: new_values[MUTABLE_FIELDS[name]] for name in changed}
    if "address" in changed:
        values.update(dict.fromkeys(_RESOLUTION_COLUMNS))
    values["updated_at"] = now
    repository.update_fields(session, parcel_id=row.id, values=values)
    events.append(
        _event(row.id, carrier, EventKind.UPDATED, row.status, now, f"carrier:{carrier.brand.value}", changed)
    )
    return "updated"


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return value.astimezone(zone)


def parcel_view(row: ParcelRow, *, timezone: str) -> ParcelOut:
    """The carrier's view of its parcel: recipient masked, times in the operator's zone."""
    zone = ZoneInfo(timezone)
    return ParcelOut(
        parcel_id=row.id,
        waybill_no=row.waybill_no,
        brand=row.brand,
        direction=row.direction,
        status=row.status,
        recipient=MaskedRecipient(name=mask_name(row.recipient_name), phone=mask_phone(row.recipient_phone)),
        address=row.address_text,
        resolution=Resolution(
            county_code=row.county_code,
            township_code=row.township_code,
            village_code=row.village_code,
            station_id=row.station_id,
        ),
        weight_g=row.weight_g,
        volume_cm3=row.volume_cm3,
        pieces=row.pieces,
        temperature=row.temperature,
        cod_fen=row.cod_fen,
        declared_value_fen=row.declared_value_fen,
        promised_date=row.promised_date,
        sort_hint=row.sort_hint,
        delivery_preference=row.delivery_preference,
        created_at=_local(row.created_at, zone),
        updated_at=_local(row.updated_at, zone),
    )


def _not_found() -> NotFound:
    # Identical for a missing waybill and another carrier's: nothing tells them apart.
    return NotFound("No parcel with this waybill number.")


def get_parcel(session: Session, *, carrier: CarrierContext, waybill_no: str) -> ParcelOut:
    row = repository.get_by_waybill(session, carrier_id=carrier.carrier_id, waybill_no=waybill_no.upper())
    if row is None:
        raise _not_found()
    return parcel_view(row, timezone=carrier.timezone)


def get_events(session: Session, *, carrier: CarrierContext, waybill_no: str) -> EventList:
    row = repository.get_by_waybill(session, carrier_id=carrier.carrier_id, waybill_no=waybill_no.upper())
    if row is None:
        raise _not_found()
    zone = ZoneInfo(carrier.timezone)
    return EventList(
        waybill_no=row.waybill_no,
        events=[_event_view(e, zone) for e in repository.list_events(session, parcel_id=row.id)],
    )


def _event_view(event: ParcelEvent, zone: ZoneInfo) -> EventOut:
    return EventOut(
        kind=event.kind,
        status=event.status,
        raw_code=event.raw_code,
        occurred_at=event.occurred_at.astimezone(zone),
        recorded_at=event.recorded_at.astimezone(zone),
        place=event.place,
        actor=event.actor,
        changed_fields=event.changed_fields,
    )


def encode_cursor(updated_at: datetime, parcel_id: uuid.UUID) -> str:
    raw = json.dumps([updated_at.isoformat(), str(parcel_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pid = json.loads(raw)
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError("naive")
        return when, uuid.UUID(pid)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not one this API issued.", errors=[{"field": "cursor", "reason": "invalid cursor"}]
        ) from exc


def list_parcels(
    session: Session,
    *,
    carrier: CarrierContext,
    status: ParcelStatus | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> ParcelPage:
    """One page of the carrier's parcels in (updated_at, id) order; ``limit`` is already capped."""
    after = decode_cursor(cursor) if cursor else None
    if updated_since is not None and updated_since.tzinfo is None:
        updated_since = updated_since.replace(tzinfo=ZoneInfo(carrier.timezone))
    rows = repository.list_page(
        session,
        carrier_id=carrier.carrier_id,
        status=status,
        after=after,
        updated_since=updated_since,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].updated_at, rows[-1].id) if more and rows else None
    return ParcelPage(
        items=[parcel_view(r, timezone=carrier.timezone) for r in rows], next_cursor=next_cursor
    )
