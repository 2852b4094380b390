"""ZTO (中通): order/print-API parcels, manifest files, trace pushes, events rendered as ZTO push traces."""

from __future__ import annotations

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
    md5_base64,
    parse_time,
    text,
)
from carriers.common import Adapter, FieldProblem
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.zto import codes, schema

_STATION_COMPANIES = {"1014": "菜鸟驿站", "1022": "兔喜生活"}


def kg_to_grams(value: Any, field: str) -> int:
    """A weight in kilograms (number or text) as whole grams."""
    try:
        grams = Decimal(str(value).strip()) * 1000
    except (InvalidOperation, ValueError) as exc:
        raise FieldProblem(field, "must be a weight in kg") from exc
    if not grams.is_finite():
        raise FieldProblem(field, "must be a weight in kg")
    return int(grams.quantize(Decimal(1)))


def yuan_to_fen(value: Any, field: str) -> int:
    try:
        fen = Decimal(str(value).strip()) * 100
    except (InvalidOperation, ValueError) as exc:
        raise FieldProblem(field, "must be an amount in yuan") from exc
    if not fen.is_finite() or fen != fen.to_integral_value():
        raise FieldProblem(field, "must be an amount in yuan with at most two decimals")
    return int(fen)


class ZtoAdapter(Adapter):
    code = "zto"
    label = "ZTO"
    waybill_pattern = re.compile(r"7[3-68]\d{12}|78\d{10,11}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        if isinstance(payload, dict):
            if "waybills" not in payload:
                raise CarrierPayloadError(
                    'expected {"waybills": [...]} or an array of waybills', field="waybills"
                )
            payload = payload["waybills"]
        return as_list(payload, where="waybills")

    def to_unified(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise FieldProblem("waybill", "must be an object")
        receiver = record.get("receiveInfo")
        if not isinstance(receiver, dict):
            raise FieldProblem("receiveInfo", "required object")
        address = text(receiver.get("receiverAddress")) or ""
        region = "".join(
            part
            for key in ("receiverProvince", "receiverCity", "receiverDistrict")
            if (part := text(receiver.get(key))) and part not in address
        )
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("billCode")) or "",
            "recipient": {
                "name": text(receiver.get("receiverName")) or "",
                "phone": text(receiver.get("receiverMobile")) or text(receiver.get("receiverPhone")) or "",
            },
            "address": region + address,
        }
        if record.get("weight") is None:
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = kg_to_grams(record["weight"], "weight")
        if record.get("quantity") is not None:
            unified["pieces"] = record["quantity"]
        mark = record.get("bigMarkInfo")
        if isinstance(mark, dict) and text(mark.get("mark")):
            unified["sort_hint"] = text(mark.get("mark"))
        if record.get("codAmount") not in (None, ""):
            unified["cod_fen"] = yuan_to_fen(record["codAmount"], "codAmount")
        if record.get("insuredAmount") not in (None, ""):
            unified["declared_value_fen"] = yuan_to_fen(record["insuredAmount"], "insuredAmount")
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            if "data" not in form:
                raise CarrierPayloadError("form has no 'data' field", field="data")
            payload = load_json(form["data"].encode("utf-8"))
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "data" in payload and "billCode" not in payload:
                payload = payload["data"]
        return as_list(payload, where="data")

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = text(trace.get("billCode"))
        if not waybill:
            raise FieldProblem("billCode", "required")
        action = text(trace.get("action")) or text(trace.get("scanType"))
        if not action:
            raise FieldProblem("action", "required")
        status = codes.INBOUND.get(action) or codes.INBOUND.get(action.upper())
        if status is None:
            raise FieldProblem("action", f"unknown ZTO action {action!r}")
        try:
            occurred = parse_time(trace.get("actionTime", trace.get("scanDate")))
        except ValueError as exc:
            raise FieldProblem("actionTime", str(exc)) from exc
        desc = text(trace.get("desc"))
        failure = _failure_from_text(desc) if status is ParcelStatus.FAILED_ATTEMPT else None
        com_code = text(trace.get("comCode"))
        site_type = _site_type(action, com_code, text(trace.get("facilityType")))
        signer = text(trace.get("expressSigner"))
        if status is ParcelStatus.DELIVERED_RECIPIENT and signer and action == "SIGNED" and com_code:
            status = ParcelStatus.DELIVERED_AGENT
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=action,
            raw_namespace=codes.NAMESPACE,
            description=desc,
            site_no=text(trace.get("facilityCode")),
            site_name=text(trace.get("facilityName")),
            site_type=site_type,
            city=text(trace.get("city")),
            failure_reason=failure,
            failure_note=desc if failure else None,
            pickup_code=text(trace.get("pickupCode")),
            signer=signer,
            event_id=text(trace.get("traceId")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        action = codes.OUTBOUND.get(event.status)
        if action is None:
            raise CarrierPayloadError(f"ZTO has no push action for {event.status.value}", field="status")
        if event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            action = "DEPARTURE_SIGNED"
        desc = event.description or ""
        if event.failure_reason is not None:
            desc = codes.FAILURE_TEXT[event.failure_reason] + (
                f"：{event.failure_note}" if event.failure_note else ""
            )
        trace: dict[str, object] = {
            "billCode": event.waybill_no,
            "action": action,
            "actionTime": beijing(event.occurred_at),
            "desc": desc,
            "facilityCode": event.site_no or "",
            "facilityName": event.site_name or "",
            "facilityType": (event.site_type or SiteType.OTHER).value,
            "city": event.city or "",
        }
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        if event.signer:
            trace["expressSigner"] = event.signer
        if event.event_id:
            trace["traceId"] = event.event_id
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        if not is_form(content_type):
            return None
        form = load_form(raw)
        if "data_digest" not in form:
            return False
        return digest_matches(md5_base64(form.get("data", ""), secret), form["data_digest"])


def _site_type(action: str, com_code: str | None, declared: str | None) -> SiteType | None:
    if declared:
        try:
            return SiteType(declared)
        except ValueError:
            pass
    if action in ("INBOUND", "HANDOVERSCAN_SIGNED", "DEPARTURE_SIGNED") or com_code in _STATION_COMPANIES:
        return SiteType.STATION
    if action in ("ARRIVAL", "DEPARTURE", "GOT"):
        return SiteType.HUB
    if action == "DISPATCH":
        return SiteType.VEHICLE
    return None


def _failure_from_text(desc: str | None) -> FailureReason:
    if desc:
        for reason, phrase in codes.FAILURE_TEXT.items():
            if desc.startswith(phrase):
                return reason
        for word, reason in (
            ("拒", FailureReason.REFUSED),
            ("地址", FailureReason.ADDRESS_NOT_FOUND),
            ("无人", FailureReason.NOBODY_HOME),
            ("电话", FailureReason.UNREACHABLE),
            ("破损", FailureReason.DAMAGED),
            ("超区", FailureReason.OUT_OF_AREA),
        ):
            if word in desc:
                return reason
    return FailureReason.OTHER


ADAPTER = ZtoAdapter()
