"""EMS (中国邮政速递): order parcels, manifest files, trace pushes, events rendered as EMS push traces.

China Post (``carriers.china_post``) reads and writes the same platform formats and subclasses this adapter.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    digest_matches,
    is_form,
    load_form,
    load_json,
    parse_time,
    text,
)
from carriers.common import Adapter, FieldProblem
from carriers.ems import codes, schema
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

DOMESTIC_OR_S10 = re.compile(r"[981]\d{12}|P[A-Z]\d{11}|[A-Z]{2}\d{9}[A-Z]{2}")
"""Domestic parcel/EMS numbers (13 characters) and UPU S10 items; the S10 check digit is checked apart."""

_WAYBILL = re.compile(r"[A-Z0-9][A-Z0-9-]{3,39}")
_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码|取件号)[：:\s]*([A-Za-z0-9][A-Za-z0-9-]{0,31})")


def kg_to_grams(value: Any, field: str) -> int:
    """A weight in kilograms (number or text) as whole grams; ``FieldProblem`` when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldProblem(field, "must be a weight in kg")
    try:
        grams = (Decimal(str(value).strip()) * 1000).quantize(Decimal(1))
    except (InvalidOperation, ValueError) as exc:
        raise FieldProblem(field, "must be a weight in kg") from exc
    if not grams.is_finite():
        raise FieldProblem(field, "must be a weight in kg")
    return int(grams)


def yuan_to_fen(value: Any, field: str) -> int:
    """An amount in yuan as exact fen; ``FieldProblem`` for text that is not money or has sub-fen digits."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldProblem(field, "must be an amount in yuan")
    try:
        fen = Decimal(str(value).strip()) * 100
    except (InvalidOperation, ValueError) as exc:
        raise FieldProblem(field, "must be an amount in yuan") from exc
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise FieldProblem(field, "must be an amount in yuan with at most two decimals")
    try:
        return int(fen)
    except (OverflowError, ValueError) as exc:
        raise FieldProblem(field, "must be an amount in yuan") from exc


def event_waybill(value: Any, field: str) -> str:
    """A trace's waybill number, normalised; ``FieldProblem`` when missing or not a waybill number."""
    waybill = text(value)
    if not waybill:
        raise FieldProblem(field, "required")
    waybill = waybill.upper()
    if not _WAYBILL.fullmatch(waybill):
        raise FieldProblem(field, "must be 4 to 40 letters, digits or hyphens")
    return waybill


def pickup_code_in(value: str | None) -> str | None:
    """A pickup code (取件码) written into free text, if there is one."""
    if not value:
        return None
    match = _PICKUP_CODE.search(value)
    return match.group(1) if match else None


class EmsAdapter(Adapter):
    code = "ems"
    label = "EMS"
    waybill_pattern = DOMESTIC_OR_S10
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        if isinstance(payload, dict):
            if "waybills" not in payload:
                raise CarrierPayloadError(
                    'expected {"waybills": [...]} or an array of order records', field="waybills"
                )
            payload = payload["waybills"]
        return as_list(payload, where="waybills")

    def to_unified(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise FieldProblem("waybill", "must be an object")
        receiver = record.get("receiver")
        if not isinstance(receiver, dict):
            raise FieldProblem("receiver", "required object")
        address = text(receiver.get("address")) or ""
        region = "".join(
            part
            for key in ("prov", "city", "county")
            if (part := text(receiver.get(key))) and part not in address
        )
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("waybillNo")) or text(record.get("mailNum")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": region + address,
        }
        if record.get("weight") in (None, ""):
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = kg_to_grams(record["weight"], "weight")
        if record.get("codAmount") not in (None, ""):
            unified["cod_fen"] = yuan_to_fen(record["codAmount"], "codAmount")
        if record.get("insuranceAmount") not in (None, ""):
            unified["declared_value_fen"] = yuan_to_fen(record["insuranceAmount"], "insuranceAmount")
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            name = next((n for n in schema.INTERFACE_FIELDS if n in form), None)
            if name is None:
                raise CarrierPayloadError(
                    "form has no 'logistics_interface' field", field="logistics_interface"
                )
            return _traces(_interface_json(form[name], name))
        payload = load_json(raw)
        if isinstance(payload, dict):
            name = next((n for n in schema.INTERFACE_FIELDS[:2] if n in payload), None)
            if name is not None:
                return _traces(_interface_json(payload[name], name))
        return _traces(payload)

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill_field = "waybillNo" if "waybillNo" in trace or "traceNo" not in trace else "traceNo"
        waybill = event_waybill(trace.get(waybill_field), waybill_field)
        op_code = text(trace.get("opCode"))
        if not op_code:
            raise FieldProblem("opCode", "required")
        status = codes.INBOUND.get(op_code)
        if status is None:
            raise FieldProblem("opCode", f"unknown {self.label} opCode {op_code[:20]!r}")
        try:
            occurred = parse_time(trace.get("opTime"))
        except ValueError as exc:
            raise FieldProblem("opTime", str(exc)) from exc

        desc = text(trace.get("opDesc")) or text(trace.get("opName"))
        fail_text = text(trace.get("failReason"))
        raw_code = op_code
        site_type = _declared_site_type(trace.get("siteType"))
        failure: FailureReason | None = None
        note: str | None = None
        if op_code == "704":
            deliver = text(trace.get("deliverCode"))
            if deliver:
                raw_code = f"704/{deliver[:20]}"
                known = codes.DELIVER_CODES.get(deliver)
                if known is not None:
                    _name, status, where = known
                    site_type = site_type or where
        elif op_code == "705":
            attempt = text(trace.get("attemptDeliveryCode"))
            named = codes.ATTEMPT_CODES.get(attempt) if attempt else None
            if attempt:
                raw_code = f"705/{attempt[:20]}"
            failure = codes.failure_from_text(fail_text)  # our own reason text is the most precise
            if named is not None:
                name, reason, status = named
                failure = failure or reason
                note = fail_text or name
            else:
                failure = failure or codes.failure_from_text(desc) or FailureReason.OTHER
                if failure is FailureReason.REFUSED:
                    status = ParcelStatus.REFUSED
                note = fail_text or (f"未妥投码 {attempt[:20]}" if attempt else None)
        elif op_code in codes.VOIDS:
            failure = FailureReason.OTHER
            note = f"{codes.OP_NAMES[op_code]}：撤销此前的 {codes.VOIDS[op_code]} 记录"
        elif status is ParcelStatus.EXCEPTION:
            failure = codes.failure_from_text(fail_text) or FailureReason.OTHER
            note = fail_text or codes.OP_NAMES.get(op_code)
        return TrackingEvent(
            waybill_no=waybill,
            status=status,
            occurred_at=occurred,
            raw_code=raw_code,
            raw_namespace=codes.NAMESPACE,
            description=desc,
            site_no=text(trace.get("opOrgCode")),
            site_name=text(trace.get("opOrgName")),
            site_type=site_type or _site_type(op_code, text(trace.get("opOrgName"))),
            city=text(trace.get("opOrgCity")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(desc),
            signer=text(trace.get("signer")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        op_code = codes.OUTBOUND.get(event.status)
        if op_code is None:
            raise CarrierPayloadError(
                f"{self.label} has no push opCode for {event.status.value}", field="status"
            )
        if event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            op_code = "748"
        trace: dict[str, object] = {
            "waybillNo": event.waybill_no,
            "opTime": beijing(event.occurred_at),
            "opCode": op_code,
            "opName": codes.OP_NAMES[op_code],
            "opDesc": event.description or "",
            "opOrgCode": event.site_no or "",
            "opOrgName": event.site_name or "",
            "opOrgCity": event.city or "",
            "siteType": (event.site_type or SiteType.OTHER).value,
        }
        if op_code == "704":
            if event.status is ParcelStatus.DELIVERED_RECIPIENT:
                trace["deliverCode"] = codes.RECIPIENT_DELIVER_CODE
            else:
                trace["deliverCode"] = codes.DELIVER_CODE_FOR_SITE.get(
                    event.site_type or SiteType.OTHER, codes.AGENT_DELIVER_CODE
                )
        if op_code == "705":
            reason = event.failure_reason or (
                FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER
            )
            if event.status is ParcelStatus.REFUSED or reason is FailureReason.REFUSED:
                trace["attemptDeliveryCode"] = codes.REFUSED_ATTEMPT_CODE
            trace["failReason"] = codes.FAILURE_TEXT[reason] + (
                f"：{event.failure_note}" if event.failure_note else ""
            )
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        if event.signer:
            trace["signer"] = event.signer
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """The older form push's ``data_digest``; None for the current JSON push, which has no digest."""
        if not is_form(content_type):
            return None
        form = load_form(raw)
        given = form.get("data_digest")
        if given is None:
            return False
        content = next((form[n] for n in schema.INTERFACE_FIELDS if n in form), "")
        digest = hashlib.md5((content + secret).encode("utf-8"))
        candidates = (
            base64.b64encode(digest.digest()).decode("ascii"),
            base64.b64encode(digest.hexdigest().encode("ascii")).decode("ascii"),
        )
        given = given.replace(" ", "+")  # an unencoded '+' arrives as a space
        return any(digest_matches(expected, given) for expected in candidates)


def _interface_json(value: Any, name: str) -> Any:
    if isinstance(value, dict | list):
        return value
    if not isinstance(value, str):
        raise CarrierPayloadError(f"{name} must be JSON text", field=name)
    if not value.strip():
        raise CarrierPayloadError(f"{name} is empty", field=name)
    stripped = value.strip()
    if stripped[:1] not in ("{", "["):
        raise CarrierPayloadError(
            f"{name} is not JSON: it looks SM4-encrypted, and SM4 cannot be decrypted here; "
            "configure the push to send the interface field as plaintext JSON",
            field=name,
        )
    try:
        return load_json(stripped.encode("utf-8"))
    except CarrierPayloadError as exc:
        raise CarrierPayloadError(f"{name}: {exc.reason}", field=name) from exc


def _traces(payload: Any) -> list[Any]:
    if isinstance(payload, dict) and "traces" in payload:
        return as_list(payload["traces"], where="traces")
    return as_list(payload, where="traces")


def _declared_site_type(value: Any) -> SiteType | None:
    declared = text(value)
    if declared:
        try:
            return SiteType(declared)
        except ValueError:
            return None
    return None


def _site_type(op_code: str, org_name: str | None) -> SiteType | None:
    if op_code in ("747", "748"):
        return SiteType.LOCKER if org_name and "柜" in org_name else SiteType.STATION
    if op_code in ("203", "208", "305", "389", "954", "713", "750"):
        return SiteType.HUB
    if op_code in ("702", "749"):
        return SiteType.VEHICLE
    return None


ADAPTER = EmsAdapter()
