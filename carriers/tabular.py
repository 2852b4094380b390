"""Spreadsheet files as county centres receive them: CSV or XLSX bytes -> rows of cell text.

CSV comes in UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030; XLSX is read with the standard
library (zip + streaming XML), so a file of 50,000 rows never sits in memory as a tree.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError, iterparse

from carriers.base import CarrierPayloadError

MAX_ROWS = 200_000
MAX_XML_BYTES = 512 * 1024 * 1024  # decompressed sheet size; refuses zip bombs
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_FORMULA_START = ("=", "@", "\t", "\r", "\n", "＝", "＠", "＋", "－")
"""Starts of a cell a spreadsheet runs as a formula (the full-width forms in WPS and Excel's East Asian
input too); ``+`` and ``-`` count unless the text is a number."""


def decode_text(raw: bytes) -> str:
    """Text from a CSV file's bytes: BOMs honoured, then UTF-8, then GB18030 (a superset of GBK)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    if b"\x00" in raw[:4096] and encodings != ("utf-16",):
        raise CarrierPayloadError("file is binary, not CSV text or XLSX", field="file")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CarrierPayloadError("file is neither UTF-8 nor GBK/GB18030 text", field="file")


def read_csv(raw: bytes) -> Iterator[list[str]]:
    text = decode_text(raw)
    sample = text[:8192]
    delimiter = ","
    if sample.count("\t") > sample.count(","):
        delimiter = "\t"
    elif sample.count(";") > sample.count(","):
        delimiter = ";"
    try:
        for count, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            if count >= MAX_ROWS:
                raise CarrierPayloadError(f"file has more than {MAX_ROWS} rows", field="file")
            yield row
    except csv.Error as exc:
        raise CarrierPayloadError(f"CSV cannot be read: {exc}", field="file") from exc


def _column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


class _CountingReader(io.RawIOBase):
    """Stops a decompressing stream past ``limit`` bytes."""

    def __init__(self, stream: io.BufferedIOBase, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        self.seen += len(data)
        if self.seen > self.limit:
            raise CarrierPayloadError("spreadsheet expands beyond the size limit", field="file")
        buffer[: len(data)] = data
        return len(data)


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    names = set(archive.namelist())
    try:
        workbook = archive.read("xl/workbook.xml")
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        if "xl/worksheets/sheet1.xml" in names:
            return "xl/worksheets/sheet1.xml"
        raise CarrierPayloadError("XLSX has no worksheet", field="file") from None
    targets: dict[str, str] = {}
    for _event, element in iterparse(io.BytesIO(rels)):
        if element.tag.endswith("Relationship"):
            targets[element.get("Id", "")] = element.get("Target", "")
    for _event, element in iterparse(io.BytesIO(workbook)):
        if element.tag == f"{_NS}sheet":
            target = targets.get(element.get(f"{_REL_NS}id", ""), "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if path in names:
                return path
    if "xl/worksheets/sheet1.xml" in names:
        return "xl/worksheets/sheet1.xml"
    raise CarrierPayloadError("XLSX has no worksheet", field="file")


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    try:
        stream = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return []
    strings: list[str] = []
    with stream:
        for _event, element in iterparse(_CountingReader(stream, MAX_XML_BYTES)):  # type: ignore[arg-type]
            if element.tag == f"{_NS}si":
                strings.append("".join(t.text or "" for t in element.iter(f"{_NS}t")))
                element.clear()
    return strings


def _number_text(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return value


def read_xlsx(raw: bytes) -> Iterator[list[str]]:
    """Rows of the first worksheet as text; merged cells read as empty except their first cell.

    A formula cell reads as ``=`` and its formula (never its cached result), so imports can refuse it.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise CarrierPayloadError("XLSX file is damaged or not a spreadsheet", field="file") from exc
    try:
        shared = _shared_strings(archive)
        sheet = archive.open(_first_sheet_path(archive))
        row: list[str] = []
        rows = 0
        with sheet:
            for event, element in iterparse(_CountingReader(sheet, MAX_XML_BYTES), events=("start", "end")):  # type: ignore[arg-type]
                tag = element.tag
                if event == "start":
                    if tag == f"{_NS}row":
                        row = []
                    continue
                if tag == f"{_NS}c":
                    match = _CELL_REF.match(element.get("r", ""))
                    position = _column_index(match.group(1)) if match else len(row)
                    kind = element.get("t")
                    formula = element.find(f"{_NS}f")
                    if formula is not None:
                        # The formula, not its cached result: a cell that shows harmless text can still run
                        # code when the file is opened again, so the import checks must see it.
                        value = "=" + (formula.text or "")
                    elif kind == "inlineStr":
                        value = "".join(t.text or "" for t in element.iter(f"{_NS}t"))
                    else:
                        v = element.find(f"{_NS}v")
                        value = v.text or "" if v is not None else ""
                        if kind == "s" and value:
                            index = int(value)
                            value = shared[index] if 0 <= index < len(shared) else ""
                        elif kind in (None, "n") and value:
                            value = _number_text(value)
                        elif kind == "b":
                            value = "TRUE" if value == "1" else "FALSE"
                    if position > 16_384:
                        raise CarrierPayloadError("spreadsheet has too many columns", field="file")
                    if position >= len(row):
                        row.extend([""] * (position - len(row) + 1))
                    row[position] = value
                    element.clear()
                elif tag == f"{_NS}row":
                    rows += 1
                    if rows > MAX_ROWS:
                        raise CarrierPayloadError(f"file has more than {MAX_ROWS} rows", field="file")
                    yield row
                    element.clear()
    except (
        ParseError,
        KeyError,
        zipfile.BadZipFile,
        zlib.error,  # a damaged deflate stream inside a readable zip directory
        EOFError,
        ValueError,
        OSError,
        RuntimeError,
    ) as exc:
        if isinstance(exc, CarrierPayloadError):
            raise
        raise CarrierPayloadError(f"XLSX file cannot be read: {type(exc).__name__}", field="file") from exc


def is_xlsx(raw: bytes, content_type: str = "") -> bool:
    return raw.startswith(b"PK\x03\x04") or "spreadsheetml" in content_type


def read_rows(raw: bytes, content_type: str = "") -> Iterator[list[str]]:
    """Rows of a CSV or XLSX file, told apart by their first bytes (the content type is only a hint)."""
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise CarrierPayloadError("legacy .xls files are not supported: save as .xlsx or CSV", field="file")
    if not raw.strip():
        raise CarrierPayloadError("file is empty", field="file")
    if raw.startswith(b"PK\x03\x04"):
        return read_xlsx(raw)
    return read_csv(raw)


def escape_cell(value: object) -> str:
    """A value made safe for a CSV/XLSX export: text that a spreadsheet would run as a formula is quoted.

    OWASP's rule: prefix ``'`` to cells starting with ``= + - @``, tab or carriage return (numbers stay).
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) or (text[:1] in ("+", "-") and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def looks_like_formula(text: str) -> bool:
    """True for cell text a spreadsheet would evaluate (``=cmd|…``, ``@SUM(…)``, ``+A1``)."""
    stripped = text.lstrip()
    return stripped.startswith(("=", "@")) or (
        stripped[:1] in ("+", "-") and not _is_number(stripped) and not stripped[1:2].isdigit()
    )
