"""SF (顺丰) route opCodes <-> canonical statuses (CARRIER-FACTS.md, SF).

The opCode meanings are from the facts' table; where they were silent, the choices are ours:
- ``30``/``3036`` (完成分拣/准备送往下一站) are SORTED; ``36``, ``407``, ``501``, ``123`` (on the road)
  are LOADED.
- ``130`` 到达顺丰店/站 is AT_STATION (the parcel waits at a service point); ``607`` 代理收件 is
  DELIVERED_AGENT (an agent signed for the recipient), as the facts list it among 驿站/locker codes.
- ``33`` 派件异常原因 is EXCEPTION and ``70`` 派件不成功 is FAILED_ATTEMPT; either becomes REFUSED when the
  reason is a refusal.
- ``99`` 转寄中, ``648`` 已退回或转寄（新单号）, ``631`` 已退回 are RETURNED: the parcel leaves this waybill's
  delivery for good (a forwarded parcel carries on under a new number).
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus, SiteType

NAMESPACE = "opCode"

INBOUND: dict[str, ParcelStatus] = {
    "50": ParcelStatus.PICKED_UP,  # 上门收件
    "54": ParcelStatus.PICKED_UP,  # 已收取快件
    "30": ParcelStatus.SORTED,  # 完成分拣/装车，准备发往下一站
    "3036": ParcelStatus.SORTED,  # 准备送往下一站
    "36": ParcelStatus.LOADED,  # 离开，已在发往下一站途中
    "407": ParcelStatus.LOADED,  # 已发往顺丰店/站
    "501": ParcelStatus.LOADED,  # 运输中
    "123": ParcelStatus.LOADED,  # 正送往顺丰店/站
    "31": ParcelStatus.HUB_RECEIVED,  # 到达中转场/网点
    "130": ParcelStatus.AT_STATION,  # 到达顺丰店/站
    "44": ParcelStatus.OUT_FOR_DELIVERY,  # 派送中 / 分配快递员
    "204": ParcelStatus.OUT_FOR_DELIVERY,  # 已交快递员，派送途中
    "33": ParcelStatus.EXCEPTION,  # 派件异常原因
    "70": ParcelStatus.FAILED_ATTEMPT,  # 派件不成功
    "80": ParcelStatus.DELIVERED_RECIPIENT,  # 已签收
    "8000": ParcelStatus.DELIVERED_RECIPIENT,  # 签收人·签收图可查
    "607": ParcelStatus.DELIVERED_AGENT,  # 代理收件
    "99": ParcelStatus.RETURNED,  # 转寄中
    "648": ParcelStatus.RETURNED,  # 已退回或转寄（新单号）
    "631": ParcelStatus.RETURNED,  # 已退回
}

OUTBOUND: dict[ParcelStatus, str] = {
    ParcelStatus.PICKED_UP: "54",
    ParcelStatus.HUB_RECEIVED: "31",
    ParcelStatus.SORTED: "30",
    ParcelStatus.LOADED: "36",
    ParcelStatus.OUT_FOR_DELIVERY: "44",
    ParcelStatus.AT_STATION: "130",
    ParcelStatus.DELIVERED_RECIPIENT: "80",
    ParcelStatus.DELIVERED_AGENT: "607",
    ParcelStatus.FAILED_ATTEMPT: "70",
    ParcelStatus.REFUSED: "70",
    ParcelStatus.EXCEPTION: "33",
    ParcelStatus.RETURNED: "631",
}

# Codes whose events carry a failure reason (from failReason, else the remark).
FAILURE_CODES = frozenset({"33", "70"})

# Where a scan happened when the push does not say (our siteType field wins).
SITE_TYPES: dict[str, SiteType] = {
    "50": SiteType.HUB,
    "54": SiteType.HUB,
    "30": SiteType.HUB,
    "3036": SiteType.HUB,
    "31": SiteType.HUB,
    "36": SiteType.HUB,
    "44": SiteType.VEHICLE,
    "204": SiteType.VEHICLE,
    "130": SiteType.STATION,
    "607": SiteType.STATION,
}

# Failure reasons as SF's route remarks word them (派件不成功/派件异常 texts).
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "收方客户拒收",
    FailureReason.ADDRESS_NOT_FOUND: "收方地址不详",
    FailureReason.NOBODY_HOME: "收方客户不在",
    FailureReason.UNREACHABLE: "收方电话无法联系",
    FailureReason.DAMAGED: "快件外包装破损",
    FailureReason.WRONG_SORT: "快件错分",
    FailureReason.OUT_OF_AREA: "收方地址超出派送范围",
    FailureReason.OVERDUE_AT_STATION: "快件在顺丰店/站滞留超时",
    FailureReason.RESCHEDULED: "收方客户要求改期派送",
    FailureReason.OTHER: "其他原因",
}

# Keywords for remarks that are not one of the texts above; order matters: "电话无人接听" is UNREACHABLE,
# "客户不在，电话未接通" is NOBODY_HOME.
FAILURE_KEYWORDS: tuple[tuple[str, FailureReason], ...] = (
    ("拒", FailureReason.REFUSED),
    ("无人接听", FailureReason.UNREACHABLE),
    ("联系不上", FailureReason.UNREACHABLE),
    ("无法联系", FailureReason.UNREACHABLE),
    ("关机", FailureReason.UNREACHABLE),
    ("不在", FailureReason.NOBODY_HOME),
    ("电话", FailureReason.UNREACHABLE),
    ("超区", FailureReason.OUT_OF_AREA),
    ("超出派送范围", FailureReason.OUT_OF_AREA),
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("无人", FailureReason.NOBODY_HOME),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("滞留", FailureReason.OVERDUE_AT_STATION),
    ("改期", FailureReason.RESCHEDULED),
    ("改约", FailureReason.RESCHEDULED),
    ("预约", FailureReason.RESCHEDULED),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
