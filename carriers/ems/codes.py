"""EMS open-platform trace vocabulary <-> canonical statuses (CARRIER-FACTS.md, China Post / EMS).

China Post (中国邮政) and EMS push the same trace records from api.ems.com.cn, so both adapters use this
module. The codes are the API's ``opCode`` namespace; the public web tracker's codes (``opCode`` 5 已揽收,
6 运送中 …, with ``opStateCode``) are another vocabulary and are deliberately not listed here.

``704`` 妥投 is refined by ``deliverCode`` (who or what received the item) and ``705`` 未妥投 by
``attemptDeliveryCode`` (why delivery failed, 1–16; only some meanings are public). The event's
``raw_code`` keeps both: ``704/20`` is opCode 704 with deliverCode 20.

Choices where the public facts are silent: a 704 without a known deliverCode counts as delivered to the
recipient (the opCode's own meaning; the code stays in raw_code); 705 is a failed attempt unless its code
or reason says refused (7 拒收 -> refused) or lost (13 丢失 -> exception), and its reason comes from our
``failReason`` text, then the code, then key words in ``opDesc``. EMS has no problem code of its own, so our
exceptions go out as 705 and read back as failed attempts with their reason. The 撤销 codes (742/743/744)
void an earlier 702/704/705; there is no "void" event, so they read as exceptions for a person to look at.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus, SiteType

NAMESPACE = "opCode"

# opCode -> Chinese name as the platform writes it (used as opName when rendering).
OP_NAMES: dict[str, str] = {
    "203": "收寄计费信息",
    "208": "客户交接",
    "305": "揽投封车",
    "389": "处理中心封车",
    "954": "到达处理中心",
    "713": "到达投递机构",
    "702": "投递下段",
    "704": "妥投",
    "705": "未妥投",
    "723": "转窗投",
    "747": "包裹柜/自提点已接收",
    "748": "收件人已取走",
    "749": "投递员取走",
    "750": "投递员收回",
    "708": "退件登记",
    "711": "退回妥投",
    "741": "妥投退回登记",
    "801": "撤单",
    "802": "改址",
    "987": "丢失已赔付",
    "988": "丢失已赔付",
    "742": "撤销投递下段",
    "743": "撤销妥投",
    "744": "撤销未妥投",
}

# opCode -> our status. 704 and 705 are refined by their sub-codes below.
INBOUND: dict[str, ParcelStatus] = {
    "203": ParcelStatus.PICKED_UP,
    "208": ParcelStatus.PICKED_UP,  # 客户交接: a contract customer hands items over
    "305": ParcelStatus.LOADED,
    "389": ParcelStatus.LOADED,
    "954": ParcelStatus.HUB_RECEIVED,
    "713": ParcelStatus.HUB_RECEIVED,  # 投递机构: the county centre when it delivers for China Post
    "750": ParcelStatus.HUB_RECEIVED,  # 投递员收回: back in the delivery office
    "702": ParcelStatus.OUT_FOR_DELIVERY,
    "749": ParcelStatus.OUT_FOR_DELIVERY,  # 投递员取走: the courier holds the item again
    "723": ParcelStatus.AT_STATION,  # 转窗投: held at the post-office window for collection
    "747": ParcelStatus.AT_STATION,
    "748": ParcelStatus.DELIVERED_RECIPIENT,  # the recipient took it from the locker / pickup point
    "704": ParcelStatus.DELIVERED_RECIPIENT,
    "705": ParcelStatus.FAILED_ATTEMPT,
    "708": ParcelStatus.RETURNED,
    "711": ParcelStatus.RETURNED,
    "741": ParcelStatus.RETURNED,
    "801": ParcelStatus.CANCELLED,
    "802": ParcelStatus.EXCEPTION,  # 改址: the route plan must change
    "987": ParcelStatus.EXCEPTION,
    "988": ParcelStatus.EXCEPTION,
    # 撤销 voids an earlier 702/704/705; we have no "void" event, so it is an exception a person looks at.
    "742": ParcelStatus.EXCEPTION,
    "743": ParcelStatus.EXCEPTION,
    "744": ParcelStatus.EXCEPTION,
}

VOIDS: dict[str, str] = {"742": "702", "743": "704", "744": "705"}
"""Which earlier opCode a 撤销 code cancels."""

# deliverCode (妥投码) -> (name, status, where it was left). Codes not listed count as delivered.
DELIVER_CODES: dict[str, tuple[str, ParcelStatus, SiteType | None]] = {
    "10": ("本人", ParcelStatus.DELIVERED_RECIPIENT, None),
    "20": ("他人代收", ParcelStatus.DELIVERED_AGENT, None),
    "30": ("自提点", ParcelStatus.DELIVERED_AGENT, SiteType.STATION),
    "50": ("包裹柜", ParcelStatus.DELIVERED_AGENT, SiteType.LOCKER),
    "60": ("收发室", ParcelStatus.DELIVERED_AGENT, SiteType.OTHER),
    "70": ("物业", ParcelStatus.DELIVERED_AGENT, SiteType.OTHER),
    "100": ("其他", ParcelStatus.DELIVERED_AGENT, None),
    "160": ("村委会", ParcelStatus.DELIVERED_AGENT, SiteType.STATION),
    "161": ("家门口", ParcelStatus.DELIVERED_AGENT, None),
}

# attemptDeliveryCode (未妥投码, 1–16) -> (name, reason, status). Only these meanings are public; the
# other codes are failed attempts for a reason we cannot name (FailureReason.OTHER, code kept).
ATTEMPT_CODES: dict[str, tuple[str, FailureReason, ParcelStatus]] = {
    "7": ("拒收", FailureReason.REFUSED, ParcelStatus.REFUSED),
    "8": ("存局自取", FailureReason.OTHER, ParcelStatus.FAILED_ATTEMPT),
    "9": ("转窗投", FailureReason.OTHER, ParcelStatus.FAILED_ATTEMPT),
    "13": ("丢失", FailureReason.OTHER, ParcelStatus.EXCEPTION),
}

# Our status -> the opCode we push.
OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "203",
    ParcelStatus.HUB_RECEIVED: "713",
    ParcelStatus.SORTED: "713",
    ParcelStatus.LOADED: "305",
    ParcelStatus.OUT_FOR_DELIVERY: "702",
    ParcelStatus.AT_STATION: "747",
    ParcelStatus.DELIVERED_RECIPIENT: "704",  # 748 when the recipient collected it with a pickup code
    ParcelStatus.DELIVERED_AGENT: "704",
    ParcelStatus.FAILED_ATTEMPT: "705",
    ParcelStatus.EXCEPTION: "705",  # EMS has no problem code of its own: reads back as a failed attempt
    ParcelStatus.REFUSED: "705",
    ParcelStatus.RETURNED: "708",
    ParcelStatus.CANCELLED: "801",
}

RECIPIENT_DELIVER_CODE = "10"
DELIVER_CODE_FOR_SITE: dict[SiteType, str] = {SiteType.STATION: "30", SiteType.LOCKER: "50"}
AGENT_DELIVER_CODE = "20"
REFUSED_ATTEMPT_CODE = "7"

# Failure reasons as we write them in the failReason field (and as we recognise them in opDesc).
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "收件人不在",
    FailureReason.UNREACHABLE: "电话联系不上",
    FailureReason.DAMAGED: "邮件破损",
    FailureReason.WRONG_SORT: "错分邮件",
    FailureReason.OUT_OF_AREA: "超出投递范围",
    FailureReason.OVERDUE_AT_STATION: "自提点逾期未取",
    FailureReason.RESCHEDULED: "收件人要求改期投递",
    FailureReason.OTHER: "其他原因",
}

# Words in free text (opDesc) that name a reason, tried in order after the exact phrases above.
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("超区", FailureReason.OUT_OF_AREA),
    ("超出投递范围", FailureReason.OUT_OF_AREA),
    ("逾期", FailureReason.OVERDUE_AT_STATION),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("不在", FailureReason.NOBODY_HOME),
    ("无人", FailureReason.NOBODY_HOME),
    ("电话", FailureReason.UNREACHABLE),
    ("联系不上", FailureReason.UNREACHABLE),
    ("改期", FailureReason.RESCHEDULED),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
