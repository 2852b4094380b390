"""Brand code (or aggregator name) -> adapter. Adapters are imported on first use."""

from __future__ import annotations

import importlib
from functools import cache

from carriers.base import CarrierAdapter

_MODULES: dict[str, str] = {
    "china_post": "carriers.china_post.adapter",
    "ems": "carriers.ems.adapter",
    "zto": "carriers.zto.adapter",
    "yto": "carriers.yto.adapter",
    "sto": "carriers.sto.adapter",
    "yunda": "carriers.yunda.adapter",
    "jt": "carriers.jt.adapter",
    "sf": "carriers.sf.adapter",
    "jd": "carriers.jd.adapter",
    "kuaidi100": "carriers.kuaidi100.adapter",
    "kdniao": "carriers.kdniao.adapter",
}
BRAND_FORMATS = ("china_post", "ems", "zto", "yto", "sto", "yunda", "jt", "sf", "jd")
AGGREGATOR_FORMATS = ("kuaidi100", "kdniao")


class UnknownFormat(KeyError):
    """No adapter for this code."""


def formats() -> tuple[str, ...]:
    return tuple(_MODULES)


@cache
def get(code: str) -> CarrierAdapter:
    """The adapter for a brand code or aggregator name; ``UnknownFormat`` when there is none."""
    module_name = _MODULES.get(code)
    if module_name is None:
        raise UnknownFormat(code)
    module = importlib.import_module(module_name)
    adapter: CarrierAdapter = module.ADAPTER
    return adapter
