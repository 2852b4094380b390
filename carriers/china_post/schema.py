"""China Post (中国邮政) wire formats: those of the EMS open platform (see ``carriers.ems.schema``).

Trace push: the current JSON ``{serialNo, logitcsInterface (sic)}`` whose interface field must be plaintext
JSON here (SM4 is not decrypted), the older ``{"traces": [...]}`` (JSON body, or form fields
``logistics_interface`` + ``data_digest`` = Base64 of MD5 over JSON + secret, raw-digest or hex-digest form),
or a bare trace object/array. Trace fields ``waybillNo``/``traceNo, opTime, opCode, opName, opDesc, opOrgCode,
opOrgName, opOrgCity, deliverCode, attemptDeliveryCode`` …, plus our ``siteType, failReason, pickupCode,
signer`` on rendered events.

Parcels (JSON): ``{"waybills": [...]}`` or an array of records with ``waybillNo`` (older ``mailNum``),
``receiver{name, postCode, phone, mobile, prov, city, county, address}``, ``weight`` (kg), ``codAmount`` and
``insuranceAmount`` (yuan). Numbers: domestic parcels ``[981]`` + 12 digits or ``P`` + letter + 11 digits,
and registered items in UPU S10 form (``RR…CN``), whose check digit is enforced.
"""

from __future__ import annotations

from carriers.ems.schema import FIELD_NAMES as EMS_FIELD_NAMES
from carriers.ems.schema import MANIFEST_COLUMNS as EMS_MANIFEST_COLUMNS

FIELD_NAMES = dict(EMS_FIELD_NAMES)

# China Post 到件清单 add their parcel and registered-mail column names to the EMS ones
MANIFEST_COLUMNS: dict[str, tuple[str, ...]] = {
    **EMS_MANIFEST_COLUMNS,
    "waybill_no": (*EMS_MANIFEST_COLUMNS["waybill_no"], "邮件条码", "包裹号码", "挂号信号码"),
}
