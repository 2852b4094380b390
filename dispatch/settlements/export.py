"""Statements as CSV or XLSX, every text cell escaped so a spreadsheet never runs it as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from carriers.tabular import escape_cell

HEADER = (
    "statement_id",
    "party_kind",
    "party_id",
    "party_name",
    "period_from",
    "period_to",
    "status",
    "line_id",
    "kind",
    "service_date",
    "rate_key",
    "quantity",
    "unit_fen",
    "amount_fen",
    "adjustment",
    "reason",
    "waybill_no",
    "manifest_id",
    "item_amount_fen",
)


def safe_cell(value: Any) -> Any:
    """Numbers as numbers; None as empty; text a spreadsheet would run as a formula prefixed with ``'``
    (``carriers.tabular.escape_cell``, OWASP's rule; any text starting ``+`` or ``-`` here, numbers
    written as text included, since amounts are written as numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text[:1] in ("+", "-"):
        return "'" + text
    return escape_cell(text)


def rows(
    view: dict[str, Any], items: dict[int, Sequence[dict[str, Any]]] | None = None
) -> Iterable[list[Any]]:
    """One row per line (``items`` None) or per item of each line (a line without items: one row)."""
    head = [
        view["statement_id"],
        view["party"]["kind"],
        view["party"]["id"],
        view["party"]["name"],
        view["period"]["from"],
        view["period"]["to"],
        view["status"],
    ]
    for line in view["lines"]:
        base = head + [
            line["line_id"],
            line["kind"],
            line["service_date"],
            line["rate_key"],
            line["quantity"],
            line["unit_fen"],
            line["amount_fen"],
            line["adjustment"],
            line["reason"],
        ]
        line_items = (items or {}).get(line["line_id"]) or []
        if items is None or not line_items:
            yield [safe_cell(v) for v in [*base, None, None, None]]
            continue
        for item in line_items:
            yield [safe_cell(v) for v in [*base, item["waybill_no"], item["manifest_id"], item["amount_fen"]]]


def to_csv(
    views: Sequence[dict[str, Any]], items: dict[int, Sequence[dict[str, Any]]] | None = None
) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese names right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for view in views:
        writer.writerows(rows(view, items))
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(
    views: Sequence[dict[str, Any]], items: dict[int, Sequence[dict[str, Any]]] | None = None
) -> bytes:
    """One sheet; every text cell is written as text (never as a formula), numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import TYPE_STRING

    book = Workbook(write_only=True)
    sheet = book.create_sheet("statements")
    sheet.append(list(HEADER))

    for view in views:
        for row in rows(view, items):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING  # openpyxl would otherwise store "=…" as a formula
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
