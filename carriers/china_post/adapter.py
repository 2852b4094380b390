"""China Post (中国邮政): the EMS platform's formats under China Post's brand code and number patterns."""

from __future__ import annotations

from carriers.china_post import schema
from carriers.ems.adapter import DOMESTIC_OR_S10, EmsAdapter


class ChinaPostAdapter(EmsAdapter):
    code = "china_post"
    label = "China Post"
    waybill_pattern = DOMESTIC_OR_S10
    field_names = schema.FIELD_NAMES
    manifest_columns = schema.MANIFEST_COLUMNS


ADAPTER = ChinaPostAdapter()
