"""STO (申通) wire formats.

Push (``STO_TRACE_PLATFORM_PUSH``, via STO's ``link.do`` gateway): a form POST with ``content`` (JSON),
``data_digest = Base64(MD5(content + secretKey))``, ``api_name``, ``from_appkey``, ``from_code``,
``to_appkey``, ``to_code``. ``content`` is one waybill's trace::

    {"waybillNo": "773…", "linkCode": "<order no.>", "trace": {"opTime": "2026-11-30 09:30:00",
     "scanType": "派件", "memo": "…", "opOrgName": "…", "opOrgCode": "…", "opOrgType": "1",
     "opOrgProvinceName": "…", "opOrgCityName": "…", "opOrgTel": "…", "opEmpName": "…", "opEmpCode": "…",
     "bizEmpName": "…", "bizEmpCode": "…", "bizEmpPhone": "…", "bizEmpTel": "…", "nextOrgName": "…",
     "nextOrgCode": "…", "nextOrgType": "…", "issueName": "…", "signoffPeople": "…", "weight": 1.2,
     "address": "…", "outBizCode": "…", "tz": "…"}}

``outBizCode`` is STO's idempotency key (it re-pushes on a timeout) and becomes the event id.
``opOrgType``: 1 网点/承包区, 2 中转/分拨中心, 3 代收点/门店/柜机. ``scanType`` is Chinese
(``codes.INBOUND``); ``issueName`` is the 问题件 reason. Also accepted: the ``content`` JSON as the raw
body, an array of such objects, a JSON object holding the form fields (``{"content": "…"}``), and a flat
trace with ``waybillNo`` beside the trace fields (the shape of STO's trace query). Times are
``yyyy-MM-dd HH:mm:ss`` Beijing time; ``tz`` is not read.

STO's trace has no field for the pickup code: we add ``pickupCode`` to ``trace`` (without it, the code is
read from ``memo``: 取件码 …). The site is ``opOrgCode``/``opOrgName``/``opOrgType``, the failure reason
``issueName``, the signer ``signoffPeople``, the city ``opOrgCityName``.

Parcels (JSON): the field names of STO's order API — ``waybillNo``, ``receiver{name, tel, mobile,
province, city, area, town, address}``, ``weight`` (kg), ``bigWord`` (大头笔). Chosen after STO's order API
where the facts are silent: ``codValue`` (代收货款, yuan), ``insuredValue`` (保价, yuan),
``goodsCount`` (pieces). The envelope ``{"waybills": [...]}``, a bare array or a single order object is
ours: STO has no public batch hand-over call.
"""

from __future__ import annotations

TRACE_FIELDS = (
    "opTime",
    "scanType",
    "memo",
    "opOrgName",
    "opOrgCode",
    "opOrgType",
    "opOrgProvinceName",
    "opOrgCityName",
    "opOrgTel",
    "opEmpName",
    "opEmpCode",
    "bizEmpName",
    "bizEmpCode",
    "bizEmpPhone",
    "bizEmpTel",
    "nextOrgName",
    "nextOrgCode",
    "nextOrgType",
    "issueName",
    "signoffPeople",
    "weight",
    "address",
    "outBizCode",
    "tz",
    "pickupCode",  # ours
)

# unified field -> STO field name, for issues in STO's vocabulary
FIELD_NAMES = {
    "waybill_no": "waybillNo",
    "recipient.name": "receiver.name",
    "recipient.phone": "receiver.mobile",
    "address": "receiver.address",
    "weight_g": "weight",
    "pieces": "goodsCount",
    "sort_hint": "bigWord",
    "cod_fen": "codValue",
    "declared_value_fen": "insuredValue",
}

# extra manifest column names STO's 到件清单 uses
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("申通单号", "申通运单号", "运单号码"),
    "sort_hint": ("大字", "大头笔编码"),
}
