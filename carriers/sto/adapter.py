"""STO (申通): order-API parcels, manifest files, STO_TRACE_PLATFORM_PUSH traces, events rendered back."""

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
from carriers.sto import codes, schema
from carriers.unified import MAX_MONEY_FEN, MAX_WEIGHT_G, FailureReason, ParcelStatus, SiteType, TrackingEvent

_PICKUP_CODE = re.compile(r"(?:取件码|取货码|提货码)[:：\s]*([A-Za-z0-9][A-Za-z0-9-]{0,19})")
_ORG_TYPE = {
    SiteType.STATION: codes.ORG_TYPE_STATION,
    SiteType.LOCKER: codes.ORG_TYPE_STATION,
    SiteType.HUB: "2",
    SiteType.COUNTY_CENTER: "1",  # the county centre works as STO's contract-area site (承包区)
    SiteType.VEHICLE: "1",
}


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


class StoAdapter(Adapter):
    code = "sto"
    label = "STO"
    waybill_pattern = re.compile(r"(?:77|43)\d{12,15}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        if isinstance(payload, dict):
            if "waybills" in payload:
                payload = payload["waybills"]
            elif "waybillNo" in payload:
                payload = [payload]
            else:
                raise CarrierPayloadError(
                    'expected {"waybills": [...]}, an array of orders or one order', field="waybills"
                )
        return as_list(payload, where="waybills")

    def to_unified(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise FieldProblem("order", "must be an object")
        receiver = record.get("receiver")
        if not isinstance(receiver, dict):
            raise FieldProblem("receiver", "required object")
        address = text(receiver.get("address")) or ""
        region = "".join(
            part
            for key in ("province", "city", "area", "town")
            if (part := text(receiver.get(key))) and part not in address
        )
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("waybillNo")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("tel")) or "",
            },
            "address": region + address,
        }
        if record.get("weight") not in (None, ""):
            unified["weight_g"] = kg_to_grams(record["weight"], "weight")
        pieces = record.get("goodsCount")
        if pieces not in (None, ""):
            unified["pieces"] = int(pieces) if isinstance(pieces, str) and pieces.isdigit() else pieces
        if big_word := text(record.get("bigWord")):
            unified["sort_hint"] = big_word
        if record.get("codValue") not in (None, ""):
            unified["cod_fen"] = yuan_to_fen(record["codValue"], "codValue")
        if record.get("insuredValue") not in (None, ""):
            unified["declared_value_fen"] = yuan_to_fen(record["insuredValue"], "insuredValue")
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            form = load_form(raw)
            if "content" not in form:
                raise CarrierPayloadError("form has no 'content' field", field="content")
            payload = load_json(form["content"].encode("utf-8"))
        else:
            payload = load_json(raw)
            if isinstance(payload, dict) and "content" in payload and "waybillNo" not in payload:
                payload = payload["content"]
                if isinstance(payload, str):
                    payload = load_json(payload.encode("utf-8"))
        return as_list(payload, where="content")

    def to_event(self, trace: dict[str, Any]) -> TrackingEvent:
        inner = trace.get("trace")
        if inner is None:
            inner, prefix = trace, ""  # a flat trace, as STO's trace query returns it
        elif isinstance(inner, dict):
            prefix = "trace."
        else:
            raise FieldProblem("trace", "must be an object")
        waybill = text(trace.get("waybillNo")) or text(inner.get("waybillNo"))
        if not waybill:
            raise FieldProblem("waybillNo", "required")
        scan = text(inner.get("scanType"))
        if not scan:
            raise FieldProblem(prefix + "scanType", "required")
        status = codes.INBOUND.get(scan)
        if status is None:
            raise FieldProblem(prefix + "scanType", f"unknown STO scan type {scan[:40]!r}")
        try:
            occurred = parse_time(inner.get("opTime"))
        except ValueError as exc:
            raise FieldProblem(prefix + "opTime", str(exc)) from exc
        memo = text(inner.get("memo"))
        signer = text(inner.get("signoffPeople"))
        failure: FailureReason | None = None
        note: str | None = None
        if scan == "问题件":
            failure, note = read_failure(text(inner.get("issueName")) or memo)
            if failure in codes.EXCEPTION_REASONS:
                status = ParcelStatus.EXCEPTION
        if scan in codes.SIGNATURES and by_agent(memo, signer):
            status = ParcelStatus.DELIVERED_AGENT
        pickup = text(inner.get("pickupCode"))
        if pickup is None and memo and (match := _PICKUP_CODE.search(memo)):
            pickup = match.group(1)
        return TrackingEvent(
            waybill_no=waybill.upper(),
            status=status,
            occurred_at=occurred,
            raw_code=scan,
            raw_namespace=codes.NAMESPACE,
            description=memo,
            site_no=text(inner.get("opOrgCode")),
            site_name=text(inner.get("opOrgName")),
            site_type=_site_type(scan, text(inner.get("opOrgType"))),
            city=text(inner.get("opOrgCityName")),
            failure_reason=failure,
            failure_note=note,
            pickup_code=pickup,
            signer=signer,
            event_id=text(inner.get("outBizCode")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as one STO push ``content`` (``{waybillNo, trace{…}}``), times in Beijing time.

        ``linkCode`` (the order number) is left out: events do not carry it.

        Raises ``CarrierPayloadError`` for a status STO has no scan type for (``announced``, ``cancelled``).
        """
        scan = codes.OUTBOUND.get(event.status)
        if scan is None:
            raise CarrierPayloadError(f"STO has no scan type for {event.status.value}", field="status")
        if event.status is ParcelStatus.AT_STATION and event.site_type is SiteType.LOCKER:
            scan = "柜机代收"
        elif event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            scan = "快件取出"
        memo = event.description or ""
        if event.status is ParcelStatus.DELIVERED_AGENT and not by_agent(memo, event.signer):
            marker = codes.AGENT_MEMO.format(site=event.site_name or "代收点")
            memo = f"{memo}；{marker}" if memo else marker
        trace: dict[str, object] = {
            "opTime": beijing(event.occurred_at),
            "scanType": scan,
            "memo": memo,
            "opOrgCode": event.site_no or "",
            "opOrgName": event.site_name or "",
            "opOrgType": _ORG_TYPE.get(event.site_type, "") if event.site_type else "",
            "opOrgCityName": event.city or "",
        }
        if scan == "问题件":
            trace["issueName"] = failure_text(event)
        if event.pickup_code:
            trace["pickupCode"] = event.pickup_code
        if event.signer:
            trace["signoffPeople"] = event.signer
        if event.event_id:
            trace["outBizCode"] = event.event_id
        return {"waybillNo": event.waybill_no, "trace": trace}

    def verify_signature(
        self, raw: bytes, content_type: str, headers: Mapping[str, str], secret: str
    ) -> bool | None:
        """Whether ``data_digest`` is Base64(MD5(content + secretKey)).

        Reads the form, or a JSON object holding the form's fields; None for a body without them.
        """
        if is_form(content_type):
            fields: Any = load_form(raw)
        else:
            fields = load_json(raw)
            if not (isinstance(fields, dict) and isinstance(fields.get("content"), str)):
                return None
        given = fields.get("data_digest")
        content = fields.get("content", "")
        if not isinstance(given, str) or not isinstance(content, str):
            return False
        # A digest sent without URL-encoding has lost its '+' to spaces on the way through the form decoder.
        expected = md5_base64(content, secret)
        return digest_matches(expected, given) or digest_matches(expected, given.replace(" ", "+"))


def failure_text(event: TrackingEvent) -> str:
    """The ``issueName`` we write: the standard phrase of the reason, then the note after '：'."""
    default = FailureReason.REFUSED if event.status is ParcelStatus.REFUSED else FailureReason.OTHER
    phrase = codes.FAILURE_TEXT[event.failure_reason or default]
    return f"{phrase}：{event.failure_note}" if event.failure_note else phrase


def read_failure(reason_text: str | None) -> tuple[FailureReason, str | None]:
    """A failure reason and note from STO's text: our phrases first, then keywords; OTHER otherwise."""
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


def by_agent(memo: str | None, signer: str | None) -> bool:
    """True when the memo or signer says someone signed for the recipient (代签收, 代收 …)."""
    return any(marker in (memo or "") or marker in (signer or "") for marker in codes.AGENT_MARKERS)


def _site_type(scan: str, org_type: str | None) -> SiteType | None:
    if scan in codes.LOCKER_SCANS:
        return SiteType.LOCKER
    if org_type == codes.ORG_TYPE_STATION or scan in codes.STATION_SCANS:
        return SiteType.STATION
    if scan in ("派件", "第三方代派"):
        return SiteType.VEHICLE
    if org_type in codes.ORG_TYPE_HUB:
        return SiteType.HUB
    return None


ADAPTER = StoAdapter()
