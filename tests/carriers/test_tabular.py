"""Reading manifest files: encodings, header detection, XLSX robustness, export escaping."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from carriers.base import CarrierPayloadError, RecordBuilder
from carriers.manifest import ManifestReader
from carriers.tabular import decode_text, escape_cell, looks_like_formula, read_rows

ROWS = [
    ["运单号", "收件人", "收件人电话", "收件地址", "重量(kg)"],
    ["73123456789001", "张三", "13812345678", "宽甸县青山沟镇青山村", "1.5"],
]


def _csv(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _reader() -> ManifestReader:
    return ManifestReader({}, RecordBuilder)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings_are_detected(encoding: str) -> None:
    """UTF-8 with or without BOM, GBK, GB18030 and UTF-16 (BOM) read to the same rows."""
    text = "\r\n".join(",".join(r) for r in ROWS) + "\r\n"
    assert list(read_rows(_csv(text, encoding))) == ROWS


def test_undecodable_text_is_a_payload_error() -> None:
    """Bytes that are neither UTF-8 nor GB18030 are refused with the reason."""
    with pytest.raises(CarrierPayloadError, match="neither UTF-8 nor GBK"):
        decode_text(b"\x81\x30\x81" + b"\xff" * 10)


def test_header_found_below_titles_and_tabs_work() -> None:
    """A tab-separated file with two title lines finds its header by name; line numbers are kept."""
    text = "到件清单\n\n" + "\n".join("\t".join(r) for r in ROWS)
    result = _reader().parse(text.encode("utf-8"), "text/csv")
    assert [p.waybill_no for p in result.parcels] == ["73123456789001"]


def test_weight_in_grams_when_the_header_says_so() -> None:
    """重量(g) is read as grams, 重量(kg) as kilograms."""
    rows = [["运单号", "收件人", "收件人电话", "收件地址", "重量(g)"], [*ROWS[1][:4], "1500"]]
    result = _reader().parse("\n".join(",".join(r) for r in rows).encode(), "text/csv")
    assert result.parcels[0].weight_g == 1500


def test_delivery_preference_column_is_read() -> None:
    """派送方式 送货上门 / 驿站 / 快递柜 become door / station / locker; anything else is a row issue."""
    rows = [[*ROWS[0], "派送方式"]] + [
        [f"7312345678900{i}", *ROWS[1][1:], way]
        for i, way in enumerate(["送货上门", "驿站", "快递柜", "随便"])
    ]
    result = _reader().parse("\n".join(",".join(r) for r in rows).encode(), "text/csv")
    assert [p.delivery_preference for p in result.parcels] == ["door", "station", "locker"]
    assert [(i.field, i.index) for i in result.issues] == [("派送方式", 3)]  # the file's own column


def test_xlsx_numbers_dates_and_sparse_cells() -> None:
    """Numeric cells (phones, weights) read as text without '.0'; empty cells keep their column."""
    data = _xlsx(
        [
            ["清单"],
            [],
            ROWS[0] + ["承诺日期"],
            ["73123456789001", "张三", 13812345678, "宽甸县青山沟镇", 1.5, None],
        ]
    )
    result = _reader().parse(data, "")
    assert result.parcels[0].recipient.phone == "13812345678"
    assert result.parcels[0].weight_g == 1500


_DAMAGE_BASE: list[bytes] = []


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_damaged_xlsx_only_raises_payload_errors(data: st.DataObject) -> None:
    """A valid XLSX with bytes overwritten or cut short: a result or CarrierPayloadError, nothing else."""
    if not _DAMAGE_BASE:  # one workbook per run: its bytes carry a timestamp
        _DAMAGE_BASE.append(_xlsx([["清单"], ROWS[0], ROWS[1]]))
    original = bytearray(_DAMAGE_BASE[0])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(10, len(original)))
    with contextlib.suppress(CarrierPayloadError):
        _reader().parse(bytes(original[:cut]), "")


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    """A zip without a worksheet is named as such."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(CarrierPayloadError, match="worksheet"):
        list(read_rows(buffer.getvalue()))


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+A1", "'+A1"),
        ("-A1", "'-A1"),
        ("\t=1", "'\t=1"),
        ("\n=1", "'\n=1"),
        ("＝HYPERLINK(x)", "'＝HYPERLINK(x)"),
        ("-12.5", "-12.5"),
        ("+8613812345678", "+8613812345678"),
        ("宽甸县", "宽甸县"),
        (None, ""),
    ],
)
def test_exports_escape_formulas(value: object, escaped: str) -> None:
    """Cells a spreadsheet would evaluate are quoted on export; numbers and text stay as they are."""
    assert escape_cell(value) == escaped


@pytest.mark.parametrize("value", ["=1+1", "@SUM(A1)", " =HYPERLINK(x)", "+cmd"])
def test_formula_like_values_are_recognised(value: str) -> None:
    """Values a spreadsheet would run are flagged for refusal on import."""
    assert looks_like_formula(value)


def test_formula_cells_read_as_their_formula_and_are_refused() -> None:
    """An openpyxl formula cell reads as '=' + its formula, and the manifest refuses it."""
    data = _xlsx([ROWS[0], ["73123456789001", '=HYPERLINK("http://x.example","张三")', *ROWS[1][2:]]])
    assert list(read_rows(data))[1][1] == '=HYPERLINK("http://x.example","张三")'
    result = _reader().parse(data, "")
    assert result.parcels == ()
    assert [(i.field, i.reason) for i in result.issues] == [
        ("收件人", "looks like a spreadsheet formula; refused")
    ]


def _with_cached_value(data: bytes, cell: str, cached: str) -> bytes:
    """The workbook with ``cell``'s formula given a cached string result, as Excel saves one."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                head, _, rest = content.decode().partition(f'<c r="{cell}"')
                attributes, _, rest = rest.partition(">")
                formula, _, rest = rest.partition("</c>")
                formula = re.sub(r"<v\s*/>|<v>[^<]*</v>", "", formula)  # openpyxl writes an empty <v />
                assert formula.startswith("<f>"), "expected a formula cell"
                content = (
                    f'{head}<c r="{cell}"{attributes} t="str">{formula}<v>{cached}</v></c>{rest}'.encode()
                )
            target.writestr(item, content)
    return out.getvalue()


def test_a_formula_is_read_instead_of_its_harmless_cached_value() -> None:
    """A formula cell whose cached result looks like a name still reads as the formula."""
    data = _with_cached_value(_xlsx([ROWS[0], ["73123456789001", "=1+1", *ROWS[1][2:]]]), "B2", "张三")
    assert list(read_rows(data))[1][1] == "=1+1"
    assert [i.reason for i in _reader().parse(data, "").issues] == [
        "looks like a spreadsheet formula; refused"
    ]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("重量(kg)", "1e30", "1E+30 kg is over the 500 kg limit for a parcel"),
        ("重量(kg)", "1e999", "1E+999 kg is over the 500 kg limit for a parcel"),
        ("重量(kg)", "600.5", "600.5 kg is over the 500 kg limit for a parcel"),
        ("代收货款", "1e999999", "amount is out of range"),
        ("件数", "1e999999999", "pieces value is out of range"),
    ],
)
def test_absurd_numbers_in_a_manifest_are_row_issues(column: str, value: str, reason: str) -> None:
    """Regression: '1e30' kg raised decimal.InvalidOperation and '1e999999' yuan decimal.Overflow."""
    header = [*ROWS[0][:4], "重量(kg)", "代收货款", "件数"]
    row = [*ROWS[1], "1", "1"]
    row[header.index(column)] = value
    result = _reader().parse("\n".join(",".join(r) for r in (header, row)).encode(), "text/csv")
    assert [(i.field, i.reason) for i in result.issues] == [(column, reason)]
