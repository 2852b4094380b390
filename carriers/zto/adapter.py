"""ZTO (中通): order/print-API parcels, manifest files, trace pushes, events rendered as ZTO push traces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carriers.base import (
    as_list,
    beijing,
    declared_site_type,
    digest_matches,
    form_field,
    is_form,
    kg_to_grams,
    load_form,
    load_json,
    md5_base64,
    parse_time,
    present,
    receiver_address,
    text,
    yuan_to_fen,
)
from carriers.common import (
    Adapter,
    FieldProblem,
    field_value,
    object_field,
    parcel_list,
    record_object,
    verify_form,
)
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.zto import codes, schema

_STATION_COMPANIES = {"1014": "菜鸟驿站", "1022": "兔喜生活"}


class ZtoAdapter(Adapter):
    code = "zto"
    label = "ZTO"
    waybill_pattern = re.compile(r"7[3-68]\d{12}|78\d{10,11}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(payload, "waybills", expected='{"waybills": [...]} or an array of waybills')

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "waybill")
        receiver = object_field(record, "receiveInfo")
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("billCode")) or "",
            "recipient": {
                "name": text(receiver.get("receiverName")) or "",
                "phone": text(receiver.get("receiverMobile")) or text(receiver.get("receiverPhone")) or "",
            },
            "address": receiver_address(
                receiver, "receiverAddress", ("receiverProvince", "receiverCity", "receiverDistrict")
            ),
        }
        if record.get("weight") is None:
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        if record.get("quantity") is not None:
            unified["pieces"] = record["quantity"]
        mark = record.get("bigMarkInfo")
        if isinstance(mark, dict) and text(mark.get("mark")):
            unified["sort_hint"] = text(mark.get("mark"))
        if record.get("codAmount") not in (None, ""):
            unified["cod_fen"] = field_value("codAmount", yuan_to_fen, record["codAmount"])
        if record.get("insuredAmount") not in (None, ""):
            unified["declared_value_fen"] = field_value("insuredAmount", yuan_to_fen, record["insuredAmount"])
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            payload = load_json(form_field(load_form(raw), "data").encode("utf-8"))
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
        occurred = field_value("actionTime", parse_time, trace.get("actionTime", trace.get("scanDate")))
        desc = text(trace.get("desc"))
        failure = None
        if status is ParcelStatus.FAILED_ATTEMPT:
            failure = codes.FAILURES.reason(desc) or FailureReason.OTHER
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
        action = self.outbound(codes.OUTBOUND, event, "push action")
        if event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            action = "DEPARTURE_SIGNED"
        desc = event.description or ""
        if event.failure_reason is not None:
            desc = codes.FAILURES.write(event.failure_reason, event.failure_note)
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
        trace.update(
            present(pickupCode=event.pickup_code, expressSigner=event.signer, traceId=event.event_id)
        )
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        def matches(form: dict[str, str], given: str) -> bool:
            return digest_matches(md5_base64(form.get("data", ""), secret), given)

        return verify_form(raw, content_type, "data_digest", matches)


def _site_type(action: str, com_code: str | None, declared: str | None) -> SiteType | None:
    if site_type := declared_site_type(declared):
        return site_type
    if action in ("INBOUND", "HANDOVERSCAN_SIGNED", "DEPARTURE_SIGNED") or com_code in _STATION_COMPANIES:
        return SiteType.STATION
    if action in ("ARRIVAL", "DEPARTURE", "GOT"):
        return SiteType.HUB
    if action == "DISPATCH":
        return SiteType.VEHICLE
    return None


ADAPTER = ZtoAdapter()
