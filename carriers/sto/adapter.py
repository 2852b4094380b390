"""STO (申通): order-API parcels, manifest files, STO_TRACE_PLATFORM_PUSH traces, events rendered back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carriers.base import (
    as_list,
    beijing,
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
    receiver_address,
    text,
    yuan_to_fen,
)
from carriers.common import Adapter, FieldProblem, field_value, object_field, parcel_list, record_object
from carriers.sto import codes, schema
from carriers.unified import HOLDING_REASONS, FailureReason, ParcelStatus, SiteType, TrackingEvent

_ORG_TYPE = {
    SiteType.STATION: codes.ORG_TYPE_STATION,
    SiteType.LOCKER: codes.ORG_TYPE_STATION,
    SiteType.HUB: "2",
    SiteType.COUNTY_CENTER: "1",  # the county centre works as STO's contract-area site (承包区)
    SiteType.VEHICLE: "1",
}


class StoAdapter(Adapter):
    code = "sto"
    label = "STO"
    waybill_pattern = re.compile(r"(?:77|43)\d{12,15}")
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS

    # ---- parcels ---------------------------------------------------------------------------------------
    def parcel_records(self, payload: Any) -> list[Any]:
        return parcel_list(
            payload,
            "waybills",
            single=("waybillNo",),
            expected='{"waybills": [...]}, an array of orders or one order',
        )

    def to_unified(self, record: Any) -> dict[str, Any]:
        record = record_object(record, "order")
        receiver = object_field(record, "receiver")
        unified: dict[str, Any] = {
            "waybill_no": text(record.get("waybillNo")) or "",
            "recipient": {
                "name": text(receiver.get("name")) or "",
                "phone": text(receiver.get("mobile")) or text(receiver.get("tel")) or "",
            },
            "address": receiver_address(receiver, "address", ("province", "city", "area", "town")),
        }
        if record.get("weight") not in (None, ""):
            unified["weight_g"] = field_value("weight", kg_to_grams, record["weight"])
        pieces = record.get("goodsCount")
        if pieces not in (None, ""):
            unified["pieces"] = int(pieces) if isinstance(pieces, str) and pieces.isdigit() else pieces
        if big_word := text(record.get("bigWord")):
            unified["sort_hint"] = big_word
        if record.get("codValue") not in (None, ""):
            unified["cod_fen"] = field_value("codValue", yuan_to_fen, record["codValue"])
        if record.get("insuredValue") not in (None, ""):
            unified["declared_value_fen"] = field_value("insuredValue", yuan_to_fen, record["insuredValue"])
        return unified

    # ---- events ----------------------------------------------------------------------------------------
    def trace_records(self, raw: bytes, content_type: str) -> list[Any]:
        if is_form(content_type):
            payload = load_json(form_field(load_form(raw), "content").encode("utf-8"))
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
        occurred = field_value(prefix + "opTime", parse_time, inner.get("opTime"))
        memo = text(inner.get("memo"))
        signer = text(inner.get("signoffPeople"))
        failure: FailureReason | None = None
        note: str | None = None
        if scan == "问题件":
            failure, note = codes.FAILURES.read(text(inner.get("issueName")) or memo)
            if failure in HOLDING_REASONS:
                status = ParcelStatus.EXCEPTION
        if scan in codes.SIGNATURES and mentions(codes.AGENT_MARKERS, memo, signer):
            status = ParcelStatus.DELIVERED_AGENT
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
            pickup_code=text(inner.get("pickupCode")) or pickup_code_in(memo),
            signer=signer,
            event_id=text(inner.get("outBizCode")),
        )

    def render_event(self, event: TrackingEvent) -> dict[str, object]:
        """Our event as one STO push ``content`` (``{waybillNo, trace{…}}``), times in Beijing time.

        ``linkCode`` (the order number) is left out: events do not carry it.

        Raises ``CarrierPayloadError`` for a status STO has no scan type for (``announced``, ``cancelled``).
        """
        scan = self.outbound(codes.OUTBOUND, event, "scan type")
        if event.status is ParcelStatus.AT_STATION and event.site_type is SiteType.LOCKER:
            scan = "柜机代收"
        elif event.status is ParcelStatus.DELIVERED_RECIPIENT and event.pickup_code:
            scan = "快件取出"
        memo = event.description or ""
        if event.status is ParcelStatus.DELIVERED_AGENT and not mentions(
            codes.AGENT_MARKERS, memo, event.signer
        ):
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
            trace["issueName"] = codes.FAILURES.write(failure_of(event), event.failure_note)
        trace.update(
            present(pickupCode=event.pickup_code, signoffPeople=event.signer, outBizCode=event.event_id)
        )
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
        expected = md5_base64(content, secret)
        return any(digest_matches(expected, digest) for digest in received_digests(given))


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
