"""YTO (圆通): order-API parcels, manifest files, classic XML status pushes, events rendered as YTO traces."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

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
from carriers.unified import MAX_MONEY_FEN, MAX_WEIGHT_G, FailureReason, ParcelStatus, SiteType, TrackingEvent
from carriers.yto import codes, schema

_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码)[:：\s]*([A-Za-z0-9][A-Za-z0-9-]{0,19})")
_FAILURE_CODES = frozenset({"FAILED", "NOT_SEND"})


def kg_to_grams(value: Any, field: str) -> int:
    """A weight in kilograms (number or text) as whole grams; ``FieldProblem`` when it is not a weight."""
    grams = _decimal(value, field, "must be a weight in kg") * 1000
    if abs(grams) > MAX_WEIGHT_G * 1000:  # far out of range: keep the number small enough to round
        raise FieldProblem(field, f"must be at most {MAX_WEIGHT_G // 1000} kg")
    return int(grams.quantize(Decimal(1)))


def yuan_to_fen(value: Any, field: str) -> int:
    """An amount in yuan (number or text) as exact fen; ``FieldProblem`` for more than two decimals."""
    fen = _decimal(value, field, "must be an amount in yuan") * 100
    if abs(fen) > MAX_MONEY_FEN * 100:
        raise FieldProblem(field, "amount is out of range")
    if fen != fen.to_integral_value():
        raise FieldProblem(field, "must be an amount in yuan with at most two decimals")
    return int(fen)


def _decimal(value: Any, field: str, reason: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldProblem(field, reason)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise FieldProblem(field, reason) from exc
    if not number.is_finite():
        raise FieldProblem(field, reason)
    return number


class YtoAdapter(Adapter):
    code = "yto"
    label = "YTO"
    waybill_pattern = re.compile(r"YT\d{13}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        if isinstance(payload, dict):
            if "waybills" in payload:
                payload = payload["waybills"]
            elif "mailNo" in payload or "logisticsNo" in payload:
                payload = [payload]
            else:
                raise CarrierPayloadError(
                    'expected {"waybills": [...]}, an array of orders or one order', field="waybills"
                )
        return as_list(payload, where="waybills")

    def to_unified(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise FieldProblem("order", "must be an object")
        legacy = record.get("receiver")
        old: dict[str, Any] = legacy if isinstance(legacy, dict) else {}

        def field(new: str, *older: str) -> str | None:
            value = text(record.get(new))
            for key in older:
                value = value or text(old.get(key))
            return value

        address = field("recipientAddress", "address") or ""
        region = "".join(
            part
            for part in (
                field("recipientProvinceName", "prov"),
                field("recipientCityName", "city"),
                field("recipientCountyName", "county"),
            )
            if part and part not in address
        )
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("mailNo")) or text(record.get("logisticsNo")) or "",
            "recipient": {
                "name": field("recipientName", "name") or "",
                "phone": field("recipientMobile", "mobile") or field("recipientPhone", "phone") or "",
            },
            "address": region + address,
        }
        if record.get("weight") not in (None, ""):
            unified["weight_g"] = kg_to_grams(record["weight"], "weight")
        pieces = record.get("itemsNumber")
        if pieces not in (None, ""):
            unified["pieces"] = int(pieces) if isinstance(pieces, str) and pieces.isdigit() else pieces
        if sort_hint := text(record.get("shortAddress")):
            unified["sort_hint"] = sort_hint
        if record.get("agencyFund") not in (None, ""):
            unified["cod_fen"] = yuan_to_fen(record["agencyFund"], "agencyFund")
        if record.get("insuranceValue") not in (None, ""):
            unified["declared_value_fen"] = yuan_to_fen(record["insuranceValue"], "insuranceValue")
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            if "logistics_interface" not in form:
                raise CarrierPayloadError(
                    "form has no 'logistics_interface' field", field="logistics_interface"
                )
            return _records(_interface_text(form["logistics_interface"]), xml=False, nested=False)
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
        try:
            occurred = parse_time(trace.get("acceptTime"))
        except ValueError as exc:
            raise FieldProblem("acceptTime", str(exc)) from exc
        remark = text(trace.get("remark"))
        signer = text(trace.get("signedName")) or text(trace.get("name"))
        failure: FailureReason | None = None
        note: str | None = None
        if track_code in _FAILURE_CODES:
            failure, note = read_failure(text(trace.get("failReason")) or remark)
            if track_code == "FAILED" and failure in codes.EXCEPTION_REASONS:
                status = ParcelStatus.EXCEPTION
        if status is ParcelStatus.DELIVERED_RECIPIENT and by_agent(remark, signer):
            status = ParcelStatus.DELIVERED_AGENT
        pickup = text(trace.get("pickupCode"))
        if pickup is None and remark and (match := _PICKUP_CODE.search(remark)):
            pickup = match.group(1)
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
            pickup_code=pickup,
            signer=signer,
            event_id=text(trace.get("id")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as one YTO ``UpdateInfo`` (JSON keys = XML element names), times in Beijing time.

        ``clientID`` and ``txLogisticID`` (the merchant's order) are left out: events do not carry them.

        Raises ``CarrierPayloadError`` for a status YTO has no track code for (``announced``).
        """
        track_code = codes.OUTBOUND.get(event.status)
        if track_code is None:
            raise CarrierPayloadError(f"YTO has no track code for {event.status.value}", field="status")
        remark = event.description or ""
        if event.status is ParcelStatus.DELIVERED_AGENT and not by_agent(remark, event.signer):
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
            trace["failReason"] = failure_text(event)
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        if event.signer:
            trace["signedName"] = event.signer
        if event.event_id:
            trace["id"] = event.event_id
        return trace

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether ``data_digest`` is Base64(MD5(xml + partnerKey)); None for a body that is not a form."""
        if not is_form(content_type):
            return None
        form = load_form(raw)
        given = form.get("data_digest")
        if given is None:
            return False
        interface = form.get("logistics_interface", "")
        # A digest sent without URL-encoding has lost its '+' to spaces on the way through the form decoder.
        digests = {given, given.replace(" ", "+"), unquote(given)}
        return any(
            digest_matches(md5_base64(signed, secret), digest)
            for signed in {interface, _interface_text(interface)}
            for digest in digests
        )


def failure_text(event: TrackingEvent) -> str:
    """The ``failReason`` we write: the standard phrase of the reason, then the note after '：'."""
    default = FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER
    phrase = codes.FAILURE_TEXT[event.failure_reason or default]
    return f"{phrase}：{event.failure_note}" if event.failure_note else phrase


def read_failure(reason_text: str | None) -> tuple[FailureReason, str | None]:
    """A failure reason and note from YTO's text: our phrases first, then keywords; OTHER otherwise."""
    if not reason_text:
        return FailureReason.OTHER, None
    for reason, phrase in codes.FAILURE_TEXT.items():
        if reason_text == phrase:
            return reason, None
        if reason_text.startswith(phrase + "："):
            return reason, reason_text[len(phrase) + 1 :].strip() or None
    for word, reason in codes.FAILURE_KEYWORDS:
        if word in reason_text:
            return reason, reason_text
    return FailureReason.OTHER, reason_text


def by_agent(remark: str | None, signer: str | None) -> bool:
    """True when the remark or signer says someone signed for the recipient (代签收, 代收 …)."""
    return any(marker in (remark or "") or marker in (signer or "") for marker in codes.AGENT_MARKERS)


def _site_type(track_code: str, declared: str | None) -> SiteType | None:
    if declared:
        try:
            return SiteType(declared)
        except ValueError:
            pass
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
