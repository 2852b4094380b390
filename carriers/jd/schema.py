"""JD (京东物流, LOP open platform) wire formats.

Push (轨迹推送): one JSON trace per request, ``{waybillCode, orderId, operationTime, operationTitle,
operationRemark, category, categoryName, state, scanType, operateSite, operateSiteId, routeProvinceName,
routeCityName, routeDistrictName, routeAddress, cancelReason}`` (``cancelReason`` at state ``200052``).
Accepted too: an array of traces, the query reply's ``{"data": {"traceDetails": [...]}}`` or
``{"traceDetails": [...]}``, and a form whose ``param_json``/``data``/``content`` field holds that JSON.
``state`` (node code) and ``category`` (一级 status) are in ``codes.py``; ``scanType`` is not read (its
values are not public). Times are ``yyyy-MM-dd HH:mm:ss`` Beijing (epoch ms is read too). JD gives no
event id, so events have none. Events we send back add the PDD last-mile template's ``siteType`` (our
``SiteType``), ``failReason`` (text, ``codes.FAILURE_TEXT``) and ``pickupCode``; the site goes in
``operateSiteId``/``operateSite``, the city in ``routeCityName``, the signer in ``operationRemark`` as
``签收人：…``.

Signature: no push signature or ack format was found, so ``verify_signature`` returns None; protect the
endpoint with a secret URL token. (LOP *requests* carry ``sign = MD5hex(secret + "access_token"… +
secret)`` in query parameters; that is for outbound calls.)

Parcels (JSON): CARRIER-FACTS has no receiver example, so the names follow JD's LOP order API
(``/ecap/v1/orders/create`` request model) — ``waybillCode``, ``orderId``, ``receiverContact{name,
mobile | phone, fullAddress}`` (``fullAddress`` holds province and city; ``province/city/county`` are
prefixed when given and missing from it), ``cargoes[{quantity, weight`` (kg), ``volume`` (cm³)``}]``
(LOP takes one cargo group; several are summed), ``productsReq.addedProducts[{productCode,
productAttrs}]`` with ``ed-a-0009`` 代收货款 (attr ``shouldPayMoney``, yuan) and ``ed-a-0002`` 保价
(attr ``guaranteeMoney``, yuan) ~ (one public integration). The batch envelope ``{"waybills": [...]}``
(or a bare array, or one order object) is ours: JD has no public batch hand-over call.
"""

from __future__ import annotations

TRACE_FIELDS = (
    "waybillCode",
    "orderId",
    "operationTime",
    "operationTitle",
    "operationRemark",
    "category",
    "categoryName",
    "state",
    "scanType",
    "operateSite",
    "operateSiteId",
    "routeProvinceName",
    "routeCityName",
    "routeDistrictName",
    "routeAddress",
    "cancelReason",
)
OUR_TRACE_FIELDS = ("siteType", "failReason", "pickupCode")

COD_PRODUCT = "ed-a-0009"
COD_ATTR = "shouldPayMoney"
INSURANCE_PRODUCT = "ed-a-0002"
INSURANCE_ATTR = "guaranteeMoney"

# unified field -> JD field name, for issues in JD's vocabulary
FIELD_NAMES = {
    "waybill_no": "waybillCode",
    "recipient.name": "receiverContact.name",
    "recipient.phone": "receiverContact.mobile",
    "address": "receiverContact.fullAddress",
    "weight_g": "cargoes.weight",
    "pieces": "cargoes.quantity",
    "volume_cm3": "cargoes.volume",
    "cod_fen": f"productsReq.addedProducts[{COD_PRODUCT}].productAttrs.{COD_ATTR}",
    "declared_value_fen": f"productsReq.addedProducts[{INSURANCE_PRODUCT}].productAttrs.{INSURANCE_ATTR}",
}

# extra manifest column names JD's 站点到货清单 exports use
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("京东单号", "运单号码", "waybillcode"),
    "recipient.name": ("客户姓名", "收货人名称"),
    "recipient.phone": ("客户电话", "收件人手机号", "收货人手机号", "客户手机"),
    "address": ("客户地址", "收货详细地址"),
    "weight": ("包裹重量(kg)", "重量(公斤)"),
    "pieces": ("包裹数量",),
    "cod": ("应收金额", "应收货款", "应收金额(元)"),
    "sort_hint": ("路区", "路区号"),
}
