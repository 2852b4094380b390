"""JD (京东物流) trace node ``state`` and first-level ``category`` codes <-> canonical statuses.

``state`` (the event's node) decides; ``category`` (the order's first-level status) is the fallback when a
push has no ``state`` or one we do not know. Codes are from CARRIER-FACTS.md (JD); the extra node codes
marked "OLTS" come from open-logistics-tracking/OLTS ``mappings/cn/jdl.csv`` (built from JD's logged-in
docs). Choices that are ours where the facts were silent:
- ``200075`` 站点收货, ``200050`` 订单入站 and ``10033`` 站点验货 are HUB_RECEIVED (the delivering
  station got it).
- ``200003``/``200031``/``200023`` 再投 are FAILED_ATTEMPT (an attempt failed, another follows); the reason
  comes from the remark, RESCHEDULED when it names none.
- ``10042`` 部分妥投 is DELIVERED_RECIPIENT (the waybill is closed; the refused part returns on its own).
- ``10034`` 妥投 becomes DELIVERED_AGENT when the remark says an agent signed (代收/代签); the site type
  alone does not decide, since a recipient collecting at a station with a pickup code signs in person.
- ``200020`` 换单打印 (the new number is in ``operationRemark``) is EXCEPTION: this number stops, a person
  should link the new one.
- categories ``403`` 控单中, ``480`` 已拦截, ``500`` 异常终止 are EXCEPTION; ``690`` 已取消 and
  ``700`` 退款 are CANCELLED; ``430`` 运输中 is LOADED.
"""

from __future__ import annotations

from carriers.base import FailureTexts
from carriers.unified import FailureReason, ParcelStatus, SiteType

STATE = "state"
CATEGORY = "category"

STATES: dict[str, ParcelStatus] = {
    "10010": ParcelStatus.ANNOUNCED,  # 订单初始化
    "200001": ParcelStatus.PICKED_UP,  # 揽收
    "200017": ParcelStatus.HUB_RECEIVED,  # 分拣中心收货
    "10032": ParcelStatus.SORTED,  # 分拣验货
    "200072": ParcelStatus.SORTED,  # 分拣中心分拣 (OLTS)
    "200077": ParcelStatus.SORTED,  # 站点装箱 (OLTS)
    "10054": ParcelStatus.LOADED,  # 分拣发货
    "200076": ParcelStatus.LOADED,  # 封车
    "200011": ParcelStatus.LOADED,  # 已配载 (OLTS)
    "200012": ParcelStatus.LOADED,  # 公路发货 (OLTS)
    "200013": ParcelStatus.LOADED,  # 在途转运 (OLTS)
    "200019": ParcelStatus.LOADED,  # 站点装箱发货 (OLTS)
    "200075": ParcelStatus.HUB_RECEIVED,  # 站点收货
    "200050": ParcelStatus.HUB_RECEIVED,  # 订单入站
    "10033": ParcelStatus.HUB_RECEIVED,  # 站点验货 (OLTS)
    "11000": ParcelStatus.OUT_FOR_DELIVERY,  # 派件
    "200003": ParcelStatus.FAILED_ATTEMPT,  # 站点再投
    "200031": ParcelStatus.FAILED_ATTEMPT,  # 待再投
    "200023": ParcelStatus.FAILED_ATTEMPT,  # 协商再投 (OLTS)
    "200051": ParcelStatus.AT_STATION,  # 自提上架
    "200057": ParcelStatus.AT_STATION,  # 便民点收货
    "10034": ParcelStatus.DELIVERED_RECIPIENT,  # 妥投
    "10042": ParcelStatus.DELIVERED_RECIPIENT,  # 部分妥投
    "10035": ParcelStatus.REFUSED,  # 拒收
    "200068": ParcelStatus.REFUSED,  # O2O拒收退回 (OLTS)
    "200033": ParcelStatus.RETURNED,  # 再投后退回 (OLTS)
    "200054": ParcelStatus.RETURNED,  # 上门接货退货完成 (OLTS)
    "200020": ParcelStatus.EXCEPTION,  # 换单打印
    "200052": ParcelStatus.CANCELLED,  # 终止揽收 (cancelReason)
    "200010": ParcelStatus.CANCELLED,  # 取消完成 (OLTS)
}

CATEGORIES: dict[str, ParcelStatus] = {
    "100": ParcelStatus.ANNOUNCED,  # 已接单
    "390": ParcelStatus.ANNOUNCED,  # 已下发/揽收中
    "403": ParcelStatus.EXCEPTION,  # 控单中
    "420": ParcelStatus.PICKED_UP,  # 已揽收
    "430": ParcelStatus.LOADED,  # 运输中
    "440": ParcelStatus.OUT_FOR_DELIVERY,  # 派送中
    "480": ParcelStatus.EXCEPTION,  # 已拦截
    "500": ParcelStatus.EXCEPTION,  # 异常终止
    "510": ParcelStatus.DELIVERED_RECIPIENT,  # 妥投
    "530": ParcelStatus.REFUSED,  # 拒收
    "690": ParcelStatus.CANCELLED,  # 已取消
    "700": ParcelStatus.CANCELLED,  # 退款
}

CATEGORY_NAMES = {
    "100": "已接单",
    "390": "已下发",
    "403": "控单中",
    "420": "已揽收",
    "430": "运输中",
    "440": "派送中",
    "480": "已拦截",
    "500": "异常终止",
    "510": "妥投",
    "530": "拒收",
    "690": "已取消",
    "700": "退款",
}

# Our status -> (state, operationTitle, category) we push. EXCEPTION has no node of its own: it goes as
# category 403 控单中 with an empty state.
OUTBOUND: dict[ParcelStatus, tuple[str, str, str]] = {
    ParcelStatus.ANNOUNCED: ("10010", "订单初始化", "100"),
    ParcelStatus.PICKED_UP: ("200001", "揽收", "420"),
    ParcelStatus.HUB_RECEIVED: ("200075", "站点收货", "430"),
    ParcelStatus.SORTED: ("10032", "分拣验货", "430"),
    ParcelStatus.LOADED: ("10054", "分拣发货", "430"),
    ParcelStatus.OUT_FOR_DELIVERY: ("11000", "派件", "440"),
    ParcelStatus.AT_STATION: ("200051", "自提上架", "440"),
    ParcelStatus.DELIVERED_RECIPIENT: ("10034", "妥投", "510"),
    ParcelStatus.DELIVERED_AGENT: ("10034", "妥投", "510"),
    ParcelStatus.FAILED_ATTEMPT: ("200003", "站点再投", "440"),
    ParcelStatus.REFUSED: ("10035", "拒收", "530"),
    ParcelStatus.EXCEPTION: ("", "控单中", "403"),
    ParcelStatus.RETURNED: ("200033", "再投后退回", "530"),
    ParcelStatus.CANCELLED: ("200010", "取消完成", "690"),
}

AGENT_MARKERS = ("代收", "代签", "代为签收")

SITE_TYPES: dict[str, SiteType] = {
    "200001": SiteType.HUB,
    "200017": SiteType.HUB,
    "10032": SiteType.HUB,
    "10054": SiteType.HUB,
    "200076": SiteType.HUB,
    "200075": SiteType.HUB,
    "11000": SiteType.VEHICLE,
    "200051": SiteType.STATION,
    "200057": SiteType.STATION,
}

# Failure reasons as JD's operationRemark words them.
FAILURE_TEXT: dict[FailureReason, str] = {
    FailureReason.REFUSED: "客户拒收",
    FailureReason.ADDRESS_NOT_FOUND: "客户地址错误或不详",
    FailureReason.NOBODY_HOME: "客户不在家",
    FailureReason.UNREACHABLE: "客户电话无法接通",
    FailureReason.DAMAGED: "包裹破损",
    FailureReason.WRONG_SORT: "错分",
    FailureReason.OUT_OF_AREA: "超区",
    FailureReason.OVERDUE_AT_STATION: "自提点滞留超时",
    FailureReason.RESCHEDULED: "客户要求改约配送时间",
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
    ("地址", FailureReason.ADDRESS_NOT_FOUND),
    ("无人", FailureReason.NOBODY_HOME),
    ("破损", FailureReason.DAMAGED),
    ("错分", FailureReason.WRONG_SORT),
    ("滞留", FailureReason.OVERDUE_AT_STATION),
    ("改约", FailureReason.RESCHEDULED),
    ("改期", FailureReason.RESCHEDULED),
    ("再投", FailureReason.RESCHEDULED),
)

FAILURES = FailureTexts(FAILURE_TEXT, FAILURE_KEYWORDS)
