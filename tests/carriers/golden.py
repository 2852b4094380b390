"""Golden files: native input -> expected unified output, one pair per file under golden/<code>/.

Inputs named ``parcels*`` go through ``parse_parcels``, ``push*`` through ``parse_events``; the extension
gives the content type. ``<name>.expected.json`` holds the expected result. To write expected files for new
inputs, run with GONGPEI_UPDATE_GOLDEN=1 and read every written file before committing it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from carriers.base import ParseResult

GOLDEN = Path(__file__).parent / "golden"
CONTENT_TYPES = {
    ".json": "application/json",
    ".form": "application/x-www-form-urlencoded",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xml": "application/xml",
}


def cases() -> list[Path]:
    return sorted(
        p for p in GOLDEN.glob("*/*") if p.suffix in CONTENT_TYPES and not p.name.endswith(".expected.json")
    )


def expected_path(case: Path) -> Path:
    return case.with_name(case.stem + ".expected.json")


def as_json(result: ParseResult) -> dict[str, Any]:
    return {
        "records": result.records,
        "parcels": [
            {"index": i, **p.model_dump(mode="json", exclude_defaults=True)}
            for i, p in zip(result.parcel_index, result.parcels, strict=True)
        ],
        "events": [
            {"index": i, **{k: _plain(v) for k, v in dataclasses.asdict(e).items() if v is not None}}
            for i, e in zip(result.event_index, result.events, strict=True)
        ],
        "issues": [
            {k: _plain(v) for k, v in dataclasses.asdict(i).items() if v is not None} for i in result.issues
        ],
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
