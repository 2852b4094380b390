"""kuaidi100 (快递100) status vocabulary <-> canonical statuses (CARRIER-FACTS.md, kuaidi100 push).

Two vocabularies arrive: ``lastResult.state``, a number for the parcel as a whole (0 在途, 1 揽收, 2 疑难,
3 签收, 4 退签, 5 派件, 6 退回, 7 转投, 10–13 清关, 14 拒签; kuaidi100-api/java-demo QueryTrackResp.java),
and each ``data[]`` entry's ``status``, the same names as text. With kuaidi100's high-resolution option
(``resultv2``) the entry's ``status`` carries a finer name instead (投柜或驿站, 代签, 派件异常 …); those names
are from kuaidi100's documentation as we remember it, not from a public sample (?), so only the text is read
— their numeric ``statusCode`` is not.

Choices where the facts are silent: 在途 (0) is ``hub_received``; 退签 (4) and 退回 (6) are both ``returned``;
转投 (7, handed to another carrier) and 清关异常 are exceptions. A bare 疑难 (2) is an exception whose reason
comes from ``failReason`` or the context text; when a carrier's context names a delivery-attempt reason
(``carriers.unified.ATTEMPT_REASONS``) it reads as a failed attempt, and when it names a refusal, as refused.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "kuaidi100"
"""Events read from kuaidi100 carry ``kuaidi100:<com>`` (the brand's kuaidi100 code) as raw_namespace."""

STATE: dict[str, ParcelStatus] = {
    "0": ParcelStatus.HUB_RECEIVED,  # 在途
    "1": ParcelStatus.PICKED_UP,  # 揽收
    "2": ParcelStatus.EXCEPTION,  # 疑难
    "3": ParcelStatus.DELIVERED_RECIPIENT,  # 签收
    "4": ParcelStatus.RETURNED,  # 退签: returned and signed for by the sender
    "5": ParcelStatus.OUT_FOR_DELIVERY,  # 派件
    "6": ParcelStatus.RETURNED,  # 退回: on its way back to the sender
    "7": ParcelStatus.EXCEPTION,  # 转投: handed to another carrier; no longer ours to deliver as planned
    "8": ParcelStatus.HUB_RECEIVED,  # 清关
    "10": ParcelStatus.HUB_RECEIVED,  # 待清关
    "11": ParcelStatus.HUB_RECEIVED,  # 清关中
    "12": ParcelStatus.HUB_RECEIVED,  # 已清关
    "13": ParcelStatus.EXCEPTION,  # 清关异常
    "14": ParcelStatus.REFUSED,  # 拒签
}

# data[].status text -> (status, failure reason implied by the name)
STATUS_TEXT: dict[str, tuple[ParcelStatus, FailureReason | None]] = {
    "在途": (ParcelStatus.HUB_RECEIVED, None),
    "揽收": (ParcelStatus.PICKED_UP, None),
    "疑难": (ParcelStatus.EXCEPTION, None),
    "签收": (ParcelStatus.DELIVERED_RECIPIENT, None),
    "退签": (ParcelStatus.RETURNED, None),
    "派件": (ParcelStatus.OUT_FOR_DELIVERY, None),
    "退回": (ParcelStatus.RETURNED, None),
    "转投": (ParcelStatus.EXCEPTION, FailureReason.OTHER),
    "清关": (ParcelStatus.HUB_RECEIVED, None),
    "待清关": (ParcelStatus.HUB_RECEIVED, None),
    "清关中": (ParcelStatus.HUB_RECEIVED, None),
    "已清关": (ParcelStatus.HUB_RECEIVED, None),
    "清关异常": (ParcelStatus.EXCEPTION, FailureReason.OTHER),
    "拒签": (ParcelStatus.REFUSED, FailureReason.REFUSED),
    # high-resolution (resultv2) names (?)
    "已下单": (ParcelStatus.ANNOUNCED, None),
    "待揽收": (ParcelStatus.ANNOUNCED, None),
    "已揽收": (ParcelStatus.PICKED_UP, None),
    "到达派件城市": (ParcelStatus.HUB_RECEIVED, None),
    "干线": (ParcelStatus.HUB_RECEIVED, None),
    "转递": (ParcelStatus.HUB_RECEIVED, None),
    "投柜或驿站": (ParcelStatus.AT_STATION, None),
    "本人签收": (ParcelStatus.DELIVERED_RECIPIENT, None),
    "派件异常后签收": (ParcelStatus.DELIVERED_RECIPIENT, None),
    "代签": (ParcelStatus.DELIVERED_AGENT, None),
    "投柜或站签收": (ParcelStatus.DELIVERED_AGENT, None),
    "派件异常": (ParcelStatus.FAILED_ATTEMPT, None),
    "无法联系": (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE),
    "拒收": (ParcelStatus.REFUSED, FailureReason.REFUSED),
    "超时未签收": (ParcelStatus.EXCEPTION, FailureReason.OTHER),
    "超时未更新": (ParcelStatus.EXCEPTION, FailureReason.OTHER),
    "柜或驿站超时未取": (ParcelStatus.EXCEPTION, FailureReason.OVERDUE_AT_STATION),
    "超区": (ParcelStatus.EXCEPTION, FailureReason.OUT_OF_AREA),
    "滞留": (ParcelStatus.EXCEPTION, FailureReason.OTHER),
    "破损": (ParcelStatus.EXCEPTION, FailureReason.DAMAGED),
    "已销单": (ParcelStatus.CANCELLED, None),
    "销单": (ParcelStatus.CANCELLED, None),
}

# Our status -> (state, status text) of the data[] entry we render.
OUTBOUND: dict[ParcelStatus, tuple[str, str]] = {
    ParcelStatus.PICKED_UP: ("1", "揽收"),
    ParcelStatus.HUB_RECEIVED: ("0", "在途"),
    ParcelStatus.SORTED: ("0", "在途"),
    ParcelStatus.LOADED: ("0", "在途"),
    ParcelStatus.OUT_FOR_DELIVERY: ("5", "派件"),
    ParcelStatus.AT_STATION: ("5", "投柜或驿站"),
    ParcelStatus.DELIVERED_RECIPIENT: ("3", "签收"),
    ParcelStatus.DELIVERED_AGENT: ("3", "代签"),  # 投柜或站签收 when signed at a station or locker
    ParcelStatus.FAILED_ATTEMPT: ("2", "派件异常"),
    ParcelStatus.EXCEPTION: ("2", "疑难"),
    ParcelStatus.REFUSED: ("14", "拒签"),
    ParcelStatus.RETURNED: ("6", "退回"),
}
AGENT_AT_SITE_TEXT = "投柜或站签收"

# Failure reasons as we write them in the failReason field and recognise them in context text.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "地址不详",
    FailureReason.NOBODY_HOME: "收件人不在家",
    FailureReason.UNREACHABLE: "电话无法联系",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "驿站超时未取",
    FailureReason.RESCHEDULED: "收件人要求改期派送",
    FailureReason.OTHER: "其他原因",
}

FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("超区", FailureReason.OUT_OF_AREA),
    ("超时未取", FailureReason.OVERDUE_AT_STATION),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("不在家", FailureReason.NOBODY_HOME),
    ("无人", FailureReason.NOBODY_HOME),
    ("联系不上", FailureReason.UNREACHABLE),
    ("无法联系", FailureReason.UNREACHABLE),
    ("电话", FailureReason.UNREACHABLE),
    ("改期", FailureReason.RESCHEDULED),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
