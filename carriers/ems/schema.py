"""EMS (and China Post, which shares the platform) wire formats, api.ems.com.cn 协议客户开放平台.

Trace push, current (apiCode 040002): a JSON body ``{"serialNo": …, "logitcsInterface": …, …}`` — the field
really is spelled ``logitcsInterface``. The platform SM4-encrypts that field. The standard library has no
SM4, so this adapter reads ``logitcsInterface`` only as plaintext JSON (a string holding JSON, or the JSON
itself), which is how a county centre's own deployment is configured; anything else is refused with a
``CarrierPayloadError`` that says the field looks encrypted. The plaintext holds ``{"traces": [...]}``, an
array of traces or one trace. The current push carries no digest of its own (the encryption is its
protection), so ``verify_signature`` returns None for JSON bodies. Acknowledge with
``{serialNo, code: "00000" | "S00001", codeMessage, senderNo}`` (the caller's job).

Trace push, older: ``{"traces": [...]}``. Sent as a JSON body, or as form fields ``logistics_interface``
(the JSON; ``logitcsInterface`` and ``data`` are accepted as names too) and ``data_digest``. The digest is
MD5+Base64 over the JSON text followed by the secret, but public samples disagree on the form: most
Base64-encode the 16-byte MD5 digest (``Base64(MD5(json + secret))``), one Base64-encodes the 32-character
lower-case hex digest. Both forms are accepted. A bare trace object or array is accepted as a JSON body.

Trace fields: ``waybillNo`` (older ``traceNo``), ``orderNo, opTime, opCode, opName, opDesc, opOrgCode,
opOrgName, opOrgProvName, opOrgCity, operatorNo, operatorName, deliverCode`` (妥投码, on 704),
``attemptDeliveryCode`` (未妥投码, on 705), ``productName``. Fields we add when rendering our own events,
after the PDD last-mile trace template (EMS has no field of its own for them): ``siteType``
(our ``SiteType`` value), ``failReason`` (reason text, see ``codes.FAILURE_TEXT``), ``pickupCode`` (取件码)
and ``signer``. When reading, a pickup code is also taken from ``opDesc`` text such as ``取件码3-2-117``.
Rendering writes ``waybillNo, opTime, opCode, opName, opDesc, opOrgCode`` (site number), ``opOrgName``,
``opOrgCity`` and the sub-codes: 704 gets deliverCode 10 (recipient), 30 (station), 50 (locker) or 20
(another person); a recipient who collected with a pickup code is 748; a refusal is 705 with
attemptDeliveryCode 7. ``serialNo`` identifies a push message, not an event, so events carry no event id.

Parcels (JSON): ``{"waybills": [...]}`` (our envelope: EMS has no public batch hand-over call) or a bare
array of order records as the order APIs name them: ``waybillNo`` (older ``mailNum``), ``txLogisticID``,
``receiver{name, postCode, phone, mobile, prov, city, county, address}``, ``weight`` in kg (?: public
samples do not state the unit; kg is the house convention, so a gram value is refused as over 500 kg),
``codAmount`` (代收货款) and ``insuranceAmount`` (保价金额) in yuan — the two money names follow the
open platform's order fields and are not confirmed by a public sample (?).
"""

from __future__ import annotations

TRACE_FIELDS = (
    "waybillNo",
    "traceNo",
    "orderNo",
    "opTime",
    "opCode",
    "opName",
    "opDesc",
    "opOrgCode",
    "opOrgName",
    "opOrgProvName",
    "opOrgCity",
    "operatorNo",
    "operatorName",
    "deliverCode",
    "attemptDeliveryCode",
    "productName",
)

INTERFACE_FIELDS = ("logitcsInterface", "logistics_interface", "data")
"""Names of the field that carries the trace JSON, current name first."""

# unified field -> EMS field name, for issues in EMS's vocabulary
FIELD_NAMES = {
    "waybill_no": "waybillNo",
    "recipient.name": "receiver.name",
    "recipient.phone": "receiver.mobile",
    "address": "receiver.address",
    "weight_g": "weight",
    "cod_fen": "codAmount",
    "declared_value_fen": "insuranceAmount",
}

# extra manifest column names China Post / EMS 到件清单 use (邮件号 is a common name already)
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": ("邮件号码", "EMS单号", "挂号号码", "条码号"),
    "recipient.phone": ("收件人联系电话", "收件人手机号"),
    "address": ("收件人详细地址",),
    "weight": ("邮件重量", "邮件重量(kg)", "邮件重量(g)", "邮件重量(克)"),
    "cod": ("代收货款金额", "应收货款"),
    "sort_hint": ("投递段道", "段道号", "格口号"),
}
