"""SF (顺丰): order-API parcels, manifest files, route pushes (JSON v2, legacy XML), events as SF routes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus
from xml.etree.ElementTree import Element, ParseError, fromstring

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    declared_site_type,
    is_form,
    kg_to_grams,
    load_form,
    load_json,
    parse_time,
    pickup_code_in,
    receiver_address,
    signer_in,
    text,
    whole,
    yuan_to_fen,
)
from carriers.common import Adapter, FieldProblem, decimal_field, field_value, parcel_list, record_object
from carriers.sf import codes, schema
from carriers.unified import FailureReason, ParcelStatus, SiteType, TrackingEvent

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
# Form fields a legacy push has been seen to carry its XML (or JSON) in.
_FORM_FIELDS = ("content", "xml", "data", "msgData", "logistics_interface")


def _count(value: Any) -> Any:
    # Order APIs send counts as text as often as numbers; anything else is left for validation to name.
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


# ---- push bodies ---------------------------------------------------------------------------------------
def _xml_traces(raw: bytes) -> list[Any]:
    """The ``WaybillRoute`` elements of a legacy ``RoutePushService`` XML body, each as a dict of fields."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    declared = _XML_ENCODING.match(raw)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        body = raw.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise CarrierPayloadError(f"XML body is not in its declared encoding {encoding!r}") from exc
    if "<!doctype" in body.lower() or "<!entity" in body.lower():
        raise CarrierPayloadError("XML with a DTD or entities is refused")
    try:
        root = fromstring(_XML_DECLARATION.sub("", body, count=1))
    except (ParseError, ValueError, LookupError) as exc:
        raise CarrierPayloadError(f"body is not XML: {exc}") from exc
    if root.tag != "Request":
        raise CarrierPayloadError('expected <Request service="RoutePushService">', field="Request")
    service = root.get("service")
    if service is not None and service != "RoutePushService":
        raise CarrierPayloadError(f"service {service[:40]!r} is not RoutePushService", field="service")
    return [_element_fields(route) for route in root.iter("WaybillRoute")]


def _element_fields(element: Element) -> dict[str, Any]:
    fields: dict[str, Any] = {child.tag: child.text or "" for child in element if isinstance(child.tag, str)}
    fields.update(element.attrib)  # attributes are the documented form; they win
    return fields


def _json_traces(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        if "Body" in payload:
            body = payload["Body"]
            if not isinstance(body, dict) or "WaybillRoute" not in body:
                raise CarrierPayloadError('"Body" has no "WaybillRoute"', field="Body")
            return as_list(body["WaybillRoute"], where="Body.WaybillRoute")
        if "WaybillRoute" in payload:
            return as_list(payload["WaybillRoute"], where="WaybillRoute")
        if any(key in payload for key in ("mailno", "mailNo", "opCode")):
            return [payload]
        raise CarrierPayloadError('expected {"Body": {"WaybillRoute": [...]}}', field="Body")
    return as_list(payload, where="WaybillRoute")


def _body_kind(raw: bytes, content_type: str) -> str:
    head = raw.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if head == b"<":
        return "xml"
    if head in (b"{", b"["):
        return "json"
    return "xml" if "xml" in content_type.lower() else "json"


class SfAdapter(Adapter):
    code = "sf"
    label = "SF"
    waybill_pattern = re.compile(r"SF[0-9A-Z]\d{12}|\d{12}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload,
            "waybills",
            single=("contactInfoList",),
            expected='{"waybills": [...]}, an array of orders or one order',
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "waybill")
        receiver = _recipient(record)
        unified: dict[str, Any] = {
            "waybill_no": _waybill_no(record),
            "recipient": {
                "name": text(receiver.get("contact")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("tel")) or "",
            },
            "address": receiver_address(receiver, "address", ("province", "city", "county")),
            "weight_g": field_value("totalWeight", kg_to_grams, _weight_kg(record)),
        }
        if record.get("parcelQty") not in (None, ""):
            unified["pieces"] = _count(record["parcelQty"])
        if record.get("volume") not in (None, ""):
            unified["volume_cm3"] = whole(decimal_field(record["volume"], "volume", unit="cm³"))
        services = record.get("serviceList")
        if isinstance(services, list):
            for service in services:
                if not isinstance(service, dict) or service.get("value") in (None, ""):
                    continue
                name = text(service.get("name"))
                if name == "COD":
                    unified["cod_fen"] = field_value("serviceList[COD].value", yuan_to_fen, service["value"])
                elif name == "INSURE":
                    where = "serviceList[INSURE].value"
                    unified["declared_value_fen"] = field_value(where, yuan_to_fen, service["value"])
        if label := text(record.get("destRouteLabel")):
            unified["sort_hint"] = label
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            return _form_traces(raw)
        if _body_kind(raw, content_type) == "xml":
            return _xml_traces(raw)
        return _json_traces(load_json(raw))

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = text(trace.get("mailno")) or text(trace.get("mailNo"))
        if not waybill:
            raise FieldProblem("mailno", "required")
        op_code = text(trace.get("opCode")) or text(trace.get("opcode"))
        if not op_code:
            raise FieldProblem("opCode", "required")
        status = codes.INBOUND.get(op_code)
        if status is None:
            raise FieldProblem("opCode", f"unknown SF opCode {op_code[:20]!r}")
        occurred = field_value("acceptTime", parse_time, trace.get("acceptTime"))
        remark = text(trace.get("remark"))
        failure: FailureReason | None = None
        note: str | None = None
        if op_code in codes.FAILURE_CODES:
            stated = text(trace.get("failReason"))
            failure = codes.FAILURES.reason(stated or remark) or FailureReason.OTHER
            note = remark or stated
            if reason_code := text(trace.get("reasonCode")):
                note = f"{note}（reasonCode {reason_code}）" if note else f"reasonCode {reason_code}"
            if failure is FailureReason.REFUSED:
                status = ParcelStatus.REFUSED
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=op_code,
            raw_namespace=codes.NAMESPACE,
            description=remark,
            site_no=text(trace.get("siteNo")),
            site_name=text(trace.get("siteName")),
            site_type=declared_site_type(trace.get("siteType")) or codes.SITE_TYPES.get(op_code),
            city=text(trace.get("acceptAddress")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(remark),
            signer=signer_in(remark),
            event_id=text(trace.get("id")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        op_code = self.outbound(codes.OUTBOUND, event, "route opCode")
        reason = event.failure_reason
        if event.status is ParcelStatus.REFUSED:  # a refusal is its own reason, whatever else was noted
            reason = FailureReason.REFUSED
        remark = event.description or ""
        if reason is not None:
            remark = codes.FAILURES.write(reason, event.failure_note)
        if event.signer:
            remark = f"{remark} 签收人：{event.signer}".strip()
        trace: dict[str, object] = {"id": event.event_id} if event.event_id else {}
        trace.update(
            {
                "mailno": event.waybill_no,
                "acceptTime": beijing(event.occurred_at),
                "acceptAddress": event.city or "",
                "remark": remark,
                "opCode": op_code,
                "siteNo": event.site_no or "",
                "siteName": event.site_name or "",
                "siteType": (event.site_type or SiteType.OTHER).value,
            }
        )
        if reason is not None:
            trace["failReason"] = codes.FAILURES.write(reason)
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """None: SF's route push carries no digest; the endpoint is protected by a secret URL token."""
        return None


def _form_traces(raw: bytes) -> list[Any]:
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CarrierPayloadError("form body is not UTF-8") from exc
    whole = unquote_plus(body).lstrip()
    if whole.startswith("<"):  # the XML itself, URL-encoded as the whole body
        return _xml_traces(whole.encode("utf-8"))
    form = load_form(raw)
    for key in _FORM_FIELDS:
        value = form.get(key, "").lstrip()
        if value.startswith("<"):
            return _xml_traces(value.encode("utf-8"))
        if value.startswith(("{", "[")):
            return _json_traces(load_json(value.encode("utf-8")))
    raise CarrierPayloadError("form holds no route push (RoutePushService XML or JSON)", field="content")


def _waybill_no(record: dict[str, Any]) -> str:
    direct = text(record.get("waybillNo")) or text(record.get("mailno"))
    if direct:
        return direct
    numbers = record.get("waybillNoInfoList")
    if isinstance(numbers, list):
        entries = [n for n in numbers if isinstance(n, dict) and text(n.get("waybillNo"))]
        parent = [n for n in entries if text(n.get("waybillType")) == "1"]
        for entry in parent or entries:
            return text(entry.get("waybillNo")) or ""
    return ""


def _recipient(record: dict[str, Any]) -> dict[str, Any]:
    contacts = record.get("contactInfoList")
    if not isinstance(contacts, list):
        raise FieldProblem("contactInfoList", "required array of contacts")
    for contact in contacts:
        if isinstance(contact, dict) and text(contact.get("contactType")) == "2":
            return contact
    raise FieldProblem("contactInfoList", "no recipient (contactType 2)")


def _weight_kg(record: dict[str, Any]) -> Any:
    """``totalWeight`` as given, or the weights of ``cargoDetails`` times their counts, summed (kg)."""
    if record.get("totalWeight") not in (None, ""):
        return record["totalWeight"]
    cargoes = record.get("cargoDetails")
    if not isinstance(cargoes, list) or not cargoes:
        raise FieldProblem("totalWeight", "required (kg), or cargoDetails with weight")
    total = Decimal(0)
    for position, cargo in enumerate(cargoes):
        where = f"cargoDetails[{position}]"
        if not isinstance(cargo, dict):
            raise FieldProblem(where, "must be an object")
        if cargo.get("weight") in (None, ""):
            raise FieldProblem(f"{where}.weight", "required (kg)")
        count = decimal_field(cargo.get("count", 1), f"{where}.count", unit="pieces")
        if count < 0 or count != count.to_integral_value():
            raise FieldProblem(f"{where}.count", "must be a whole number")
        total += decimal_field(cargo["weight"], f"{where}.weight", unit="kg") * count
    return total


ADAPTER = SfAdapter()
