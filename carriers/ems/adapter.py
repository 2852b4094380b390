"""EMS (中国邮政速递): order parcels, manifest files, trace pushes, events rendered as EMS push traces.

China Post (``carriers.china_post``) reads and writes the same platform formats and subclasses this adapter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    declared_site_type,
    digest_matches,
    failure_of,
    is_form,
    json_field,
    kg_to_grams,
    load_form,
    load_json,
    md5_base64,
    md5_hex_base64,
    parse_time,
    pickup_code_in,
    present,
    received_digests,
    receiver_address,
    text,
    yuan_to_fen,
)
from carriers.common import (
    Adapter,
    FieldProblem,
    event_waybill,
    field_value,
    object_field,
    parcel_list,
    record_object,
    verify_form,
)
from carriers.ems import codes, schema
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

DOMESTIC_OR_S10 = re.compile(r"[981]\d{12}|P[A-Z]\d{11}|[A-Z]{2}\d{9}[A-Z]{2}")
"""Domestic parcel/EMS numbers (13 characters) and UPU S10 items; the S10 check digit is checked apart."""


class EmsAdapter(Adapter):
    code = "ems"
    label = "EMS"
    waybill_pattern = DOMESTIC_OR_S10
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(payload, "waybills", expected='{"waybills": [...]} or an array of order records')

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "waybill")
        receiver = object_field(record, "receiver")
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("waybillNo")) or text(record.get("mailNum")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("phone")) or "",
            },
            "address": receiver_address(receiver, "address", ("prov", "city", "county")),
        }
        if record.get("weight") in (None, ""):
            raise FieldProblem("weight", "required (kg)")
        unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        if record.get("codAmount") not in (None, ""):
            unified["cod_fen"] = field_value("codAmount", yuan_to_fen, record["codAmount"])
        if record.get("insuranceAmount") not in (None, ""):
            unified["declared_value_fen"] = field_value(
                "insuranceAmount", yuan_to_fen, record["insuranceAmount"]
            )
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
        occurred = field_value("opTime", parse_time, trace.get("opTime"))

        desc = text(trace.get("opDesc")) or text(trace.get("opName"))
        fail_text = text(trace.get("failReason"))
        raw_code = op_code
        site_type = declared_site_type(trace.get("siteType"))
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
            failure = codes.FAILURES.reason(fail_text)  # our own reason text is the most precise
            if named is not None:
                name, reason, status = named
                failure = failure or reason
                note = fail_text or name
            else:
                failure = failure or codes.FAILURES.reason(desc) or FailureReason.OTHER
                if failure is FailureReason.REFUSED:
                    status = ParcelStatus.REFUSED
                note = fail_text or (f"未妥投码 {attempt[:20]}" if attempt else None)
        elif op_code in codes.VOIDS:
            failure = FailureReason.OTHER
            note = f"{codes.OP_NAMES[op_code]}：撤销此前的 {codes.VOIDS[op_code]} 记录"
        elif status is ParcelStatus.EXCEPTION:
            failure = codes.FAILURES.reason(fail_text) or FailureReason.OTHER
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
        op_code = self.outbound(codes.OUTBOUND, event, "push opCode")
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
            reason = failure_of(event)
            if event.status is ParcelStatus.REFUSED or reason is FailureReason.REFUSED:
                trace["attemptDeliveryCode"] = codes.REFUSED_ATTEMPT_CODE
            trace["failReason"] = codes.FAILURES.write(reason, event.failure_note)
        trace.update(present(pickupCode=event.pickup_code, signer=event.signer))
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """The older form push's ``data_digest``; None for the current JSON push, which has no digest."""

        def matches(form: dict[str, str], given: str) -> bool:
            content = next((form[n] for n in schema.INTERFACE_FIELDS if n in form), "")
            expected = (md5_base64(content, secret), md5_hex_base64(content, secret))
            return any(digest_matches(e, g) for e in expected for g in received_digests(given))

        return verify_form(raw, content_type, "data_digest", matches)


def _interface_json(value: Any, name: str) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            raise CarrierPayloadError(f"{name} is empty", field=name)
        if stripped[:1] not in ("{", "["):
            raise CarrierPayloadError(
                f"{name} is not JSON: it looks SM4-encrypted, and SM4 cannot be decrypted here; "
                "configure the push to send the interface field as plaintext JSON",
                field=name,
            )
        value = stripped
    return json_field(value, name)


def _traces(payload: Any) -> list[Any]:
    if isinstance(payload, dict) and "traces" in payload:
        return as_list(payload["traces"], where="traces")
    return as_list(payload, where="traces")


def _site_type(op_code: str, org_name: str | None) -> SiteType | None:
    if op_code in ("747", "748"):
        return SiteType.LOCKER if org_name and "柜" in org_name else SiteType.STATION
    if op_code in ("203", "208", "305", "389", "954", "713", "750"):
        return SiteType.HUB
    if op_code in ("702", "749"):
        return SiteType.VEHICLE
    return None


ADAPTER = EmsAdapter()
