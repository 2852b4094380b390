"""Arrival manifests (到件清单): CSV/XLSX rows with Chinese headers -> unified parcel records.

The header row is found by its column names, not its position: title rows (often merged) above it and
totals rows (合计/总计) below the data are skipped. Each brand adds its own column names to the common ones.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from carriers.base import (
    CarrierPayloadError,
    ParseResult,
    RecordBuilder,
    Severity,
    collection_paused,
    decimal_of,
    kg_to_grams,
    weight_limit_reason,
    with_region,
    yuan_to_fen,
)
from carriers.tabular import looks_like_formula, read_rows
from carriers.unified import MAX_WEIGHT_G

# unified field -> column names seen on manifests (compared after normalising case, width and spaces)
COMMON_COLUMNS: dict[str, tuple[str, ...]] = {
    "waybill_no": (
        "运单号",
        "快递单号",
        "运单编号",
        "单号",
        "面单号",
        "邮件号",
        "快件单号",
        "waybill_no",
        "waybillno",
        "billcode",
        "mailno",
    ),
    "recipient.name": (
        "收件人",
        "收件人姓名",
        "收货人",
        "收货人姓名",
        "收件人名称",
        "收方姓名",
        "收件姓名",
        "recipient_name",
        "receivername",
    ),
    "recipient.phone": (
        "收件人电话",
        "收件人手机",
        "收件电话",
        "收件手机",
        "收货人电话",
        "收货人手机",
        "收方电话",
        "联系电话",
        "手机号",
        "手机",
        "电话",
        "recipient_phone",
        "receivermobile",
    ),
    "address": (
        "收件地址",
        "收件人地址",
        "收货地址",
        "收货人地址",
        "详细地址",
        "收方地址",
        "地址",
        "address",
        "receiveraddress",
    ),
    "province": ("收件省", "收件省份", "省份", "省"),
    "city": ("收件市", "收件城市", "城市", "市"),
    "district": ("收件区县", "区县", "县区", "区/县"),
    "weight": (
        "重量",
        "重量(kg)",
        "重量kg",
        "重量/kg",
        "计费重量",
        "计费重量(kg)",
        "实际重量",
        "实重",
        "重量(g)",
        "重量(克)",
        "weight_g",
        "weight",
    ),
    "pieces": ("件数", "包裹数", "数量", "pieces"),
    "volume": ("体积", "体积(cm3)", "体积(cm³)", "体积(m3)", "体积(m³)", "volume_cm3"),
    "cod": ("代收货款", "代收款", "代收金额", "到付金额", "cod", "cod(元)", "代收货款(元)"),
    "declared_value": ("保价金额", "声明价值", "保价金额(元)", "declared_value"),
    "temperature": ("温层", "温度要求", "温控", "冷链", "temperature"),
    "promised_date": ("承诺日期", "承诺送达日期", "预计送达", "时效日期", "promised_date"),
    "sort_hint": ("大头笔", "三段码", "分拣码", "sort_hint"),
    "delivery_preference": ("派送方式", "投递方式", "配送方式", "收货方式", "delivery_preference"),
    "direction": ("类型", "业务类型", "direction"),
}
REQUIRED = ("waybill_no", "recipient.name", "recipient.phone", "address", "weight")
_TOTALS = re.compile(r"^(合计|总计|小计|共计|汇总|总数|total)", re.IGNORECASE)
_PREFERENCE = {
    "送货上门": "door",
    "上门": "door",
    "door": "door",
    "驿站": "station",
    "代收点": "station",
    "服务站": "station",
    "站点自提": "station",
    "station": "station",
    "快递柜": "locker",
    "智能柜": "locker",
    "自提柜": "locker",
    "locker": "locker",
}
_TEMPERATURE = {
    "常温": "ambient",
    "冷藏": "chilled",
    "冷冻": "frozen",
    "ambient": "ambient",
    "chilled": "chilled",
    "frozen": "frozen",
    "0-4℃": "chilled",
    "-18℃": "frozen",
}
_DIRECTION = {
    "派送": "delivery",
    "派件": "delivery",
    "到件": "delivery",
    "揽收": "pickup",
    "寄件": "pickup",
    "delivery": "delivery",
    "pickup": "pickup",
}
_HEADER_SCAN_ROWS = 30


def _key(name: str) -> str:
    return re.sub(r"[\s（）()\[\]【】:：*]", "", unicodedata.normalize("NFKC", name)).lower()


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds which unified field, and the units the header names."""

    columns: dict[str, int]
    headers: dict[str, str]  # unified field -> the header text as written (for issues)
    weight_in_grams: bool
    volume_in_m3: bool


def _aliases(extra: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for table in (extra, COMMON_COLUMNS):  # brand names first: they win
        for unified, names in table.items():
            for name in names:
                lookup.setdefault(_key(name), unified)
    return lookup


def find_header(rows: Iterator[list[str]], extra: Mapping[str, tuple[str, ...]]) -> tuple[ColumnMap, int]:
    """Consume rows up to and including the header; returns the column map and the header's 1-based line."""
    lookup = _aliases(extra)
    best: tuple[int, dict[str, int], list[str], int] | None = None
    for line, row in enumerate(rows, start=1):
        found: dict[str, int] = {}
        for position, cell in enumerate(row):
            unified = lookup.get(_key(cell)) if cell else None
            if unified and unified not in found:
                found[unified] = position
        if "waybill_no" in found and len(found) >= 3:
            best = (len(found), found, row, line)
            break
        if best is None or len(found) > best[0]:
            best = (len(found), found, row, line) if found else best
        if line >= _HEADER_SCAN_ROWS:
            break
    if best is None or "waybill_no" not in best[1] or best[0] < 3:
        raise CarrierPayloadError(
            "no header row found: expected columns such as 运单号, 收件人, 收件人电话, 收件地址, 重量",
            field="file",
        )
    _count, found, header_row, line = best
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted = ", ".join(COMMON_COLUMNS[f][0] for f in missing)
        raise CarrierPayloadError(f"missing column(s): {wanted}", field="file")
    headers = {field: header_row[pos].strip() for field, pos in found.items()}
    weight_header = _key(headers["weight"])
    return (
        ColumnMap(
            columns=found,
            headers=headers,
            weight_in_grams=("g" in weight_header.replace("kg", "")) or "克" in weight_header,
            volume_in_m3="m3" in _key(headers.get("volume", "")) or "m³" in headers.get("volume", ""),
        ),
        line,
    )


def _yuan_to_fen(value: str) -> int:
    return yuan_to_fen(value.replace("¥", "").replace("￥", ""))


def _excel_or_iso_date(value: str) -> date:
    if value.isdigit() and 20_000 <= int(value) <= 80_000:  # Excel serial day number
        return date(1899, 12, 30) + timedelta(days=int(value))
    return date.fromisoformat(value.replace("/", "-")[:10])


@dataclass
class ManifestReader:
    """Turns one brand's manifest file into a ``ParseResult`` (one record per data row)."""

    extra_columns: Mapping[str, tuple[str, ...]]
    builder_factory: Any  # () -> RecordBuilder, so each file gets fresh state

    def parse(self, raw: bytes, content_type: str) -> ParseResult:
        with collection_paused():
            builder, count = self._read(raw, content_type)
        return builder.result(count)

    def _read(self, raw: bytes, content_type: str) -> tuple[RecordBuilder, int]:
        rows = read_rows(raw, content_type)
        columns, header_line = find_header(rows, self.extra_columns)
        builder: RecordBuilder = self.builder_factory()
        builder.field_names = {**builder.field_names, **_field_names(columns)}
        index = 0
        positions = list(columns.columns.items())
        converters = _converters(columns)
        for line, row in enumerate(rows, start=header_line + 1):
            cells = [c.strip() if isinstance(c, str) else "" for c in row]
            if not any(cells):
                continue
            if _is_totals(cells, columns):
                continue
            width = len(cells)
            values = {name: cells[pos] for name, pos in positions if pos < width}
            record, problems = _record(values, columns, converters)
            builder.lines[index] = line
            for field_name, reason in problems:
                builder.issue(index, columns.headers.get(field_name, field_name), reason)
            if not problems:
                builder.add(index, record, line=line)
            index += 1
        return builder, index


def _field_names(columns: ColumnMap) -> dict[str, str]:
    names = dict(columns.headers)
    names["weight_g"] = columns.headers["weight"]
    for unified, source in (
        ("volume_cm3", "volume"),
        ("cod_fen", "cod"),
        ("declared_value_fen", "declared_value"),
    ):
        if source in columns.headers:
            names[unified] = columns.headers[source]
    return names


def _is_totals(cells: list[str], columns: ColumnMap) -> bool:
    head = ""
    for head in cells:  # the first cell with text
        if head:
            break
    if _TOTALS.match(head):
        return True
    waybill = cells[columns.columns["waybill_no"]] if columns.columns["waybill_no"] < len(cells) else ""
    return not waybill and any(_TOTALS.match(c) for c in cells if c)


_Converter = tuple[str, str, Callable[[str], Any]]
_FORMULA_CHECKED = ("waybill_no", "recipient.name", "recipient.phone", "address", "sort_hint")


def _converters(columns: ColumnMap) -> tuple[_Converter, ...]:
    """(column, unified field, conversion) of the optional number and date columns the file has."""
    volume_unit, cm3_per_unit = ("m³", 1_000_000) if columns.volume_in_m3 else ("cm³", 1)

    def volume(value: str) -> int:
        return int(decimal_of(value, unit=volume_unit) * cm3_per_unit)

    table: tuple[_Converter, ...] = (
        ("pieces", "pieces", _pieces),
        ("volume", "volume_cm3", volume),
        ("cod", "cod_fen", _yuan_to_fen),
        ("declared_value", "declared_value_fen", _yuan_to_fen),
        ("promised_date", "promised_date", _excel_or_iso_date),
    )
    return tuple(converter for converter in table if converter[0] in columns.columns)


def _pieces(value: str) -> int:
    return int(decimal_of(value, unit="pieces"))


def _record(
    values: dict[str, str], columns: ColumnMap, converters: tuple[_Converter, ...]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    get = values.get

    for name in _FORMULA_CHECKED:
        value = get(name)
        if value and looks_like_formula(value):
            problems.append((name, "looks like a spreadsheet formula; refused"))
    record: dict[str, Any] = {
        "waybill_no": get("waybill_no", ""),
        "recipient": {"name": get("recipient.name", ""), "phone": get("recipient.phone", "")},
        "address": with_region(get("address"), get("province"), get("city"), get("district")),
    }
    try:
        grams = kg_to_grams(get("weight", ""), unit="g" if columns.weight_in_grams else "kg")
        if grams > MAX_WEIGHT_G:
            problems.append(("weight", weight_limit_reason(Decimal(grams) / 1000)))
        elif grams < 1:
            problems.append(("weight", "must be more than 0"))
        else:
            record["weight_g"] = grams
    except ValueError as exc:
        problems.append(("weight", str(exc) if get("weight") else "required"))
    for name, unified, convert in converters:
        raw = get(name)
        if raw:
            try:
                record[unified] = convert(raw)
            except ValueError as exc:
                problems.append((name, str(exc)))
    if raw := get("temperature"):
        if raw.lower() not in _TEMPERATURE:
            problems.append(("temperature", "expected 常温, 冷藏 or 冷冻"))
        else:
            record["temperature"] = _TEMPERATURE[raw.lower()]
    if raw := get("direction"):
        record["direction"] = _DIRECTION.get(raw.lower(), raw)
    if raw := get("sort_hint"):
        record["sort_hint"] = raw
    if raw := get("delivery_preference"):
        if raw.lower() not in _PREFERENCE:
            problems.append(("delivery_preference", "expected 送货上门, 驿站 or 快递柜"))
        else:
            record["delivery_preference"] = _PREFERENCE[raw.lower()]
    return record, problems


__all__ = ["COMMON_COLUMNS", "ManifestReader", "Severity", "find_header"]
