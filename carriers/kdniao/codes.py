"""kdniao (快递鸟) status vocabulary <-> canonical statuses (CARRIER-FACTS.md, kdniao push).

``State`` is the plain state (0 暂无轨迹, 1 已揽收, 2 在途中, 3 签收, 4 问题件); ``StateEx`` and each trace's
``Action`` use the value-added vocabulary, which refines the same numbers (misu99/kdniao
request/monitor_subscribe_push_request.go; the 4xx list from a public kdniao client model in the code
corpus). One table covers all three.

Choices where the facts are silent: 206 寄件网点发件 is ``loaded``; 401/402/403/413/417/418 are exceptions
with reason ``other``; 415 客户取消发货 is ``cancelled``; 419 重新派送 is ``out_for_delivery``; 5 转寄 and
604 清关异常 are exceptions; 406 and 407 are both ``returned``. A bare 4 问题件 is an exception; when the
carrier's AcceptStation text names a delivery-attempt reason (``carriers.unified.ATTEMPT_REASONS``) it
reads as a failed attempt, and when it names a refusal, as refused.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus

NAMESPACE = "kdniao"
"""Events read from kdniao carry ``kdniao:<ShipperCode>`` as raw_namespace."""

# code -> (status, failure reason implied by the code, kdniao's name)
CODES: dict[str, tuple[ParcelStatus, FailureReason | None, str]] = {
    "0": (ParcelStatus.ANNOUNCED, None, "暂无轨迹信息"),
    "10": (ParcelStatus.ANNOUNCED, None, "待揽件"),
    "1": (ParcelStatus.PICKED_UP, None, "已揽收"),
    "2": (ParcelStatus.HUB_RECEIVED, None, "在途中"),
    "201": (ParcelStatus.HUB_RECEIVED, None, "到达派件城市"),
    "204": (ParcelStatus.HUB_RECEIVED, None, "到达转运中心"),
    "205": (ParcelStatus.HUB_RECEIVED, None, "到达派件网点"),
    "206": (ParcelStatus.LOADED, None, "寄件网点发件"),
    "202": (ParcelStatus.OUT_FOR_DELIVERY, None, "派件中"),
    "211": (ParcelStatus.AT_STATION, None, "已放入快递柜或驿站"),
    "3": (ParcelStatus.DELIVERED_RECIPIENT, None, "已签收"),
    "301": (ParcelStatus.DELIVERED_RECIPIENT, None, "正常签收"),
    "302": (ParcelStatus.DELIVERED_RECIPIENT, None, "轨迹异常后最终签收"),
    "304": (ParcelStatus.DELIVERED_AGENT, None, "代收签收"),
    "311": (ParcelStatus.DELIVERED_AGENT, None, "快递柜或驿站签收"),
    "4": (ParcelStatus.EXCEPTION, None, "问题件"),
    "401": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "发货无信息"),
    "402": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "超时未签收"),
    "403": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "超时未更新"),
    "404": (ParcelStatus.REFUSED, FailureReason.REFUSED, "拒收(退件)"),
    "405": (ParcelStatus.FAILED_ATTEMPT, None, "派件异常"),
    "406": (ParcelStatus.RETURNED, None, "退货签收"),
    "407": (ParcelStatus.RETURNED, None, "退货未签收"),
    "412": (ParcelStatus.EXCEPTION, FailureReason.OVERDUE_AT_STATION, "快递柜或驿站超时未取"),
    "413": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "单号已拦截"),
    "414": (ParcelStatus.EXCEPTION, FailureReason.DAMAGED, "破损"),
    "415": (ParcelStatus.CANCELLED, None, "客户取消发货"),
    "416": (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE, "无法联系"),
    "417": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "配送延迟"),
    "418": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "快件取出"),
    "419": (ParcelStatus.OUT_FOR_DELIVERY, None, "重新派送"),
    "420": (ParcelStatus.FAILED_ATTEMPT, FailureReason.ADDRESS_NOT_FOUND, "收货地址不详细"),
    "421": (ParcelStatus.FAILED_ATTEMPT, FailureReason.UNREACHABLE, "收件人电话错误"),
    "422": (ParcelStatus.EXCEPTION, FailureReason.WRONG_SORT, "错分件"),
    "423": (ParcelStatus.EXCEPTION, FailureReason.OUT_OF_AREA, "超区件"),
    "5": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "转寄"),
    "6": (ParcelStatus.HUB_RECEIVED, None, "清关"),
    "601": (ParcelStatus.HUB_RECEIVED, None, "待清关"),
    "602": (ParcelStatus.HUB_RECEIVED, None, "清关中"),
    "603": (ParcelStatus.HUB_RECEIVED, None, "已清关"),
    "604": (ParcelStatus.EXCEPTION, FailureReason.OTHER, "清关异常"),
}

# Our status -> the Action we render; failures and exceptions pick a code by reason first.
OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.ANNOUNCED: "10",
    ParcelStatus.PICKED_UP: "1",
    ParcelStatus.HUB_RECEIVED: "205",  # the county centre is the delivering 网点
    ParcelStatus.SORTED: "205",
    ParcelStatus.LOADED: "2",
    ParcelStatus.OUT_FOR_DELIVERY: "202",
    ParcelStatus.AT_STATION: "211",
    ParcelStatus.DELIVERED_RECIPIENT: "301",
    ParcelStatus.DELIVERED_AGENT: "304",  # 311 when signed at a station or locker
    ParcelStatus.FAILED_ATTEMPT: "405",
    ParcelStatus.EXCEPTION: "4",
    ParcelStatus.REFUSED: "404",
    ParcelStatus.RETURNED: "407",  # on its way back to the sender
    ParcelStatus.CANCELLED: "415",
}
AGENT_AT_SITE = "311"
FAILED_BY_REASON: dict[FailureReason, str] = {
    FailureReason.UNREACHABLE: "416",
    FailureReason.ADDRESS_NOT_FOUND: "420",
}
EXCEPTION_BY_REASON: dict[FailureReason, str] = {
    FailureReason.OVERDUE_AT_STATION: "412",
    FailureReason.DAMAGED: "414",
    FailureReason.WRONG_SORT: "422",
    FailureReason.OUT_OF_AREA: "423",
}

# Failure reasons as we write them in the failReason field and recognise them in AcceptStation text.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收件人拒收",
    FailureReason.ADDRESS_NOT_FOUND: "收货地址不详细",
    FailureReason.NOBODY_HOME: "收件人不在家",
    FailureReason.UNREACHABLE: "无法联系收件人",
    FailureReason.DAMAGED: "快件破损",
    FailureReason.WRONG_SORT: "错分件",
    FailureReason.OUT_OF_AREA: "超区件",
    FailureReason.OVERDUE_AT_STATION: "快递柜或驿站超时未取",
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
