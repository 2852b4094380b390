"""YTO (圆通): order-API parcels, manifest files, classic XML status pushes, events rendered as YTO traces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from carriers.base import (
    CarrierPayloadError,
    as_list,
    beijing,
    declared_site_type,
    digest_matches,
    failure_of,
    form_field,
    is_form,
    kg_to_grams,
    load_form,
    load_json,
    md5_base64,
    mentions,
    parse_time,
    pickup_code_in,
    present,
    received_digests,
    text,
    with_region,
    yuan_to_fen,
)
from carriers.common import Adapter, FieldProblem, field_value, parcel_list, record_object, verify_form
from carriers.unified import HOLDING_REASONS, FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.yto import codes, schema

_FAILURE_CODES = frozenset({"FAILED", "NOT_SEND"})


class YtoAdapter(Adapter):
    code = "yto"
    label = "YTO"
    waybill_pattern = re.compile(r"YT\d{13}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload,
            "waybills",
            single=("mailNo", "logisticsNo"),
            expected='{"waybills": [...]}, an array of orders or one order',
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "order")
        legacy = record.get("receiver")
        old: dict[str, Any] = legacy if isinstance(legacy, dict) else {}

        def field(new: str, *older: str) -> str | None:
            value = text(record.get(new))
            for key in older:
                value = value or text(old.get(key))
            return value

        unified: dict[str, Any] = {
            "waybill_no": text(record.get("mailNo")) or text(record.get("logisticsNo")) or "",
            "recipient": {
                "name": field("recipientName", "name") or "",
                "phone": field("recipientMobile", "mobile") or field("recipientPhone", "phone") or "",
            },
            "address": with_region(
                field("recipientAddress", "address"),
                field("recipientProvinceName", "prov"),
                field("recipientCityName", "city"),
                field("recipientCountyName", "county"),
            ),
        }
        if record.get("weight") not in (None, ""):
            unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        pieces = record.get("itemsNumber")
        if pieces not in (None, ""):
            unified["pieces"] = int(pieces) if isinstance(pieces, str) and pieces.isdigit() else pieces
        if sort_hint := text(record.get("shortAddress")):
            unified["sort_hint"] = sort_hint
        if record.get("agencyFund") not in (None, ""):
            unified["cod_fen"] = field_value("agencyFund", yuan_to_fen, record["agencyFund"])
        if record.get("insuranceValue") not in (None, ""):
            unified["declared_value_fen"] = field_value(
                "insuranceValue", yuan_to_fen, record["insuranceValue"]
            )
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            interface = form_field(load_form(raw), "logistics_interface")
            return _records(_interface_text(interface), xml=False, nested=False)
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CarrierPayloadError("body is not UTF-8") from exc
        return _records(body, xml="xml" in content_type.lower(), nested=True)

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        waybill = text(trace.get("mailNo"))
        if not waybill:
            raise FieldProblem("mailNo", "required")
        info_type = text(trace.get("infoType"))
        if info_type and info_type.upper() != "STATUS":
            raise FieldProblem("infoType", f"expected STATUS, got {info_type[:40]!r}")
        raw_code = text(trace.get("infoContent"))
        if not raw_code:
            raise FieldProblem("infoContent", "required")
        track_code = raw_code.upper()
        if track_code in codes.NOT_TRACKING:
            raise FieldProblem(
                "infoContent", f"YTO order-status code {raw_code!r} carries no tracking status"
            )
        status = codes.INBOUND.get(track_code)
        if status is None:
            raise FieldProblem("infoContent", f"unknown YTO track code {raw_code[:40]!r}")
        occurred = field_value("acceptTime", parse_time, trace.get("acceptTime"))
        remark = text(trace.get("remark"))
        signer = text(trace.get("signedName")) or text(trace.get("name"))
        failure: FailureReason | None = None
        note: str | None = None
        if track_code in _FAILURE_CODES:
            failure, note = codes.FAILURES.read(text(trace.get("failReason")) or remark)
            if track_code == "FAILED" and failure in HOLDING_REASONS:
                status = ParcelStatus.EXCEPTION
        if status is ParcelStatus.DELIVERED_RECIPIENT and mentions(codes.AGENT_MARKERS, remark, signer):
            status = ParcelStatus.DELIVERED_AGENT
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=raw_code,
            raw_namespace=codes.NAMESPACE,
            description=remark,
            site_no=text(trace.get("siteNo")),
            site_name=text(trace.get("siteName")),
            site_type=_site_type(track_code, text(trace.get("siteType"))),
            city=text(trace.get("city")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=text(trace.get("pickupCode")) or pickup_code_in(remark),
            signer=signer,
            event_id=text(trace.get("id")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as one YTO ``UpdateInfo`` (JSON keys = XML element names), times in Beijing time.

        ``clientID`` and ``txLogisticID`` (the merchant's order) are left out: events do not carry them.

        Raises ``CarrierPayloadError`` for a status YTO has no track code for (``announced``).
        """
        track_code = self.outbound(codes.OUTBOUND, event, "track code")
        remark = event.description or ""
        if event.status is ParcelStatus.DELIVERED_AGENT and not mentions(
            codes.AGENT_MARKERS, remark, event.signer
        ):
            marker = codes.AGENT_REMARK.format(site=event.site_name or "代收点")
            remark = f"{remark}；{marker}" if remark else marker
        trace: dict[str, object] = {
            "logisticProviderID": "YTO",
            "mailNo": event.waybill_no,
            "infoType": "STATUS",
            "infoContent": track_code,
            "remark": remark,
            "acceptTime": beijing(event.occurred_at),
            "siteNo": event.site_no or "",
            "siteName": event.site_name or "",
            "siteType": (event.site_type or SiteType.OTHER).value,
            "city": event.city or "",
        }
        if track_code == "FAILED":
            trace["failReason"] = codes.FAILURES.write(failure_of(event), event.failure_note)
        trace.update(present(pickupCode=event.pickup_code, signedName=event.signer, id=event.event_id))
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether ``data_digest`` is Base64(MD5(xml + partnerKey)); None for a body that is not a form."""

        def matches(form: dict[str, str], given: str) -> bool:
            interface = form.get("logistics_interface", "")
            return any(
                digest_matches(md5_base64(signed, secret), digest)
                for signed in {interface, _interface_text(interface)}
                for digest in received_digests(given)
            )

        return verify_form(raw, content_type, "data_digest", matches)


def _site_type(track_code: str, declared: str | None) -> SiteType | None:
    if site_type := declared_site_type(declared):
        return site_type
    if track_code == "INBOUND":
        return SiteType.STATION
    if track_code in ("GOT", "ARRIVAL", "DEPARTURE", "AIRSEND", "AIRPICK"):
        return SiteType.HUB
    if track_code == "SENT_SCAN":
        return SiteType.VEHICLE
    return None


def _interface_text(value: str) -> str:
    """``logistics_interface`` after the form decoder; decoded once more when it was encoded twice."""
    stripped = value.strip()
    if stripped[:1] not in ("<", "{", "[") and "%" in stripped:
        return unquote(stripped).strip()
    return stripped


def _records(body: str, *, xml: bool, nested: bool) -> list[Any]:
    stripped = body.strip()
    if xml or stripped.startswith("<"):
        return _xml_records(stripped)
    payload = load_json(stripped.encode("utf-8"))
    if isinstance(payload, dict) and "mailNo" not in payload:
        if nested and isinstance(payload.get("logistics_interface"), str):
            return _records(_interface_text(payload["logistics_interface"]), xml=False, nested=False)
        if "UpdateInfo" in payload:
            payload = payload["UpdateInfo"]
    return as_list(payload, where="UpdateInfo")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_records(document: str) -> list[dict[str, str]]:
    upper = document.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise CarrierPayloadError("XML with a DOCTYPE is refused", field="logistics_interface")
    try:
        root = ElementTree.fromstring(document)
    except (ElementTree.ParseError, ValueError, LookupError) as exc:
        raise CarrierPayloadError(f"XML cannot be read: {exc}", field="logistics_interface") from exc
    if _local(root.tag) == "UpdateInfo":
        return [_fields(root)]
    items = [child for child in root if _local(child.tag) == "UpdateInfo"]
    if not items:
        raise CarrierPayloadError("expected an <UpdateInfo> element", field="UpdateInfo")
    return [_fields(item) for item in items]


def _fields(element: ElementTree.Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for child in element:
        name = _local(child.tag)
        if name and name not in fields:
            fields[name] = "".join(child.itertext()).strip()
    return fields


ADAPTER = YtoAdapter()
