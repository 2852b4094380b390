"""J&T (极兔) wire formats.

Signature: headers ``apiAccount``, ``timestamp`` and ``digest = Base64(MD5(bizContent + privateKey))``;
the body is the form field ``bizContent=<JSON>``. Acknowledge a push with
``{"code":"1","msg":"success","data":"SUCCESS"}``.

Push (轨迹回传, ``#/apiDoc/logistics/statusFeedback``): form field ``bizContent`` holding
``{billCode, txlogisticId, details[detail, …]}`` or an array of these (one regional document shows the
array). The same JSON is accepted without the form (``application/json``), as is a JSON object whose
``bizContent`` holds it. Each detail is one record: issue indices count details across the whole body in
order, and each detail is read with its bill's ``billCode``.

Detail fields: ``scanTime`` (yyyy-MM-dd HH:mm:ss Beijing), ``desc``, ``scanType`` (Chinese name, e.g.
入库扫描), ``scanTypeCode``/``traceNode`` (node number 1–14, codes.py), ``scanNetworkId``,
``scanNetworkName``, ``scanNetworkTypeName``, ``scanNetworkProvince/City/Area``, ``scanNetworkContact``,
``staffName``, ``staffContact``, ``nextStopName``, ``problemType`` (A1…A35). Fields J&T does not show,
ours: ``failReason`` (failure text, after the PDD last-mile trace template; codes.FAILURE_TEXT),
``pickupCode`` (取件码) and ``signerName``. ``render_event`` writes one bill with one detail, the body of
a push for one event.

Parcels (JSON): after J&T's order API (addOrder) — ``{"waybills": [order, …]}`` (our envelope: J&T has
no batch hand-over call), a bare array or one order, each ``{billCode, txlogisticId, weight (kg),
sortingCode (三段码, the sort hint), receiver{name, mobile | phone, prov, city, area, town, street,
address}}``; and, from our reading of addOrder (unverified ?), ``itemsValue`` (代收货款, yuan) and
``offerFee`` (保价金额, yuan). J&T's ``receiver.address`` usually already starts with the region; region
parts it lacks are prefixed.
"""

from __future__ import annotations

DETAIL_FIELDS = (
    "scanTime",
    "desc",
    "scanType",
    "scanTypeCode",
    "traceNode",
    "scanNetworkId",
    "scanNetworkName",
    "scanNetworkTypeName",
    "scanNetworkProvince",
    "scanNetworkCity",
    "scanNetworkArea",
    "scanNetworkContact",
    "staffName",
    "staffContact",
    "nextStopName",
    "problemType",
    "failReason",
    "pickupCode",
    "signerName",
)

# unified field -> J&T field name, for issues in J&T's vocabulary
FIELD_NAMES = {
    "waybill_no": "billCode",
    "recipient.name": "receiver.name",
    "recipient.phone": "receiver.mobile",
    "address": "receiver.address",
    "weight_g": "weight",
    "sort_hint": "sortingCode",
    "cod_fen": "itemsValue",
    "declared_value_fen": "offerFee",
}

# extra manifest column names J&T's 到件清单 uses
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("极兔单号", "极兔运单号"),
    "district": ("收件区", "收件区域"),
    "sort_hint": ("sortingcode", "三段码信息"),
}
