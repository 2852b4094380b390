"""YTO (圆通) wire formats.

Push (classic status push): a form POST with ``logistics_interface`` (the XML below, URL-encoded) and
``data_digest = Base64(MD5(xml + partnerKey))`` (URL-encoded too); the digest covers the XML text after
URL-decoding. Some senders URL-encode ``logistics_interface`` twice; both forms are read. Also accepted:
the XML as the raw body, ``logistics_interface`` holding JSON, and a JSON body that is one object or an
array of objects with the same field names (``render_event`` produces that object). One ``<UpdateInfo>``
is one trace; a root element holding several ``<UpdateInfo>`` children (``<UpdateInfos>``) is a batch.
XML with a DOCTYPE is refused (no entity expansion)::

    <UpdateInfo>
      <logisticProviderID>YTO</logisticProviderID><clientID>…</clientID><txLogisticID>…</txLogisticID>
      <mailNo>YT…</mailNo><infoType>STATUS</infoType><infoContent>SENT_SCAN</infoContent>
      <remark>…</remark><acceptTime>2026-11-30 09:30:00</acceptTime>
      <name>signer</name> | <signedName>signer</signedName> <deliveryName/> <contactInfo/>
    </UpdateInfo>

``infoType`` must be ``STATUS`` when present. ``infoContent`` is a track code (``codes.INBOUND``). YTO's
push has no fields for the site, the failure reason or the pickup code; we add them after the PDD
last-mile trace template, as child elements or JSON keys: ``siteNo``, ``siteName``, ``siteType`` (our
``SiteType`` values), ``city``, ``failReason`` (text, see ``codes.FAILURE_TEXT``), ``pickupCode`` and
``id`` (our event id). Without them the pickup code is read from ``remark`` (取件码 …) and the failure
reason from ``remark``.

Parcels (JSON): the field names of YTO's order API (``privacy_create_adapter``): ``mailNo`` (the waybill;
``logisticsNo`` is read when ``mailNo`` is absent), ``recipientName``, ``recipientMobile`` |
``recipientPhone``, ``recipientProvinceName``, ``recipientCityName``, ``recipientCountyName``,
``recipientAddress``, ``weight`` (kg). Chosen after YTO's classic order XML where the facts are silent:
``shortAddress`` (大头笔), ``agencyFund`` (代收货款, yuan), ``insuranceValue`` (保价, yuan),
``itemsNumber`` (pieces). The legacy ``receiver{name, phone, mobile, prov, city, address}`` object is read
when the ``recipient*`` fields are absent. The envelope ``{"waybills": [...]}``, a bare array or a single
order object is ours: YTO has no public batch hand-over call.
"""

from __future__ import annotations

TRACE_FIELDS = (
    "logisticProviderID",
    "clientID",
    "txLogisticID",
    "mailNo",
    "infoType",
    "infoContent",
    "remark",
    "acceptTime",
    "name",
    "signedName",
    "deliveryName",
    "contactInfo",
    # ours, after the PDD last-mile trace template
    "siteNo",
    "siteName",
    "siteType",
    "city",
    "failReason",
    "pickupCode",
    "id",
)

# unified field -> YTO field name, for issues in YTO's vocabulary
FIELD_NAMES = {
    "waybill_no": "mailNo",
    "recipient.name": "recipientName",
    "recipient.phone": "recipientMobile",
    "address": "recipientAddress",
    "weight_g": "weight",
    "pieces": "itemsNumber",
    "sort_hint": "shortAddress",
    "cod_fen": "agencyFund",
    "declared_value_fen": "insuranceValue",
}

# extra manifest column names YTO's 到件清单 uses
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("圆通单号", "圆通运单号", "运单号码"),
    "sort_hint": ("大头笔信息", "三段码信息"),
}
