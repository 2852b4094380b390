"""Every adapter against its golden files: native input in, the expected unified output out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from carriers import registry
from tests.carriers.golden import CONTENT_TYPES, GOLDEN, as_json, cases, dump, expected_path


@pytest.mark.parametrize("case", cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(case: Path) -> None:
    """The adapter's output for this input equals the reviewed expected file."""
    adapter = registry.get(case.parent.name)
    content_type = CONTENT_TYPES[case.suffix]
    parse = adapter.parse_events if case.name.startswith("push") else adapter.parse_parcels
    actual = as_json(parse(case.read_bytes(), content_type))
    target = expected_path(case)
    if os.environ.get("GONGPEI_UPDATE_GOLDEN") == "1" and not target.exists():
        target.write_text(dump(actual), encoding="utf-8")
    assert target.exists(), f"no expected file {target.relative_to(GOLDEN)}"
    assert actual == json.loads(target.read_text(encoding="utf-8"))


def test_every_format_has_golden_files() -> None:
    """Each registered adapter that exists has at least one golden input for parcels or pushes."""
    present = {p.parent.name for p in cases()}
    for code in registry.formats():
        try:
            registry.get(code)
        except ModuleNotFoundError:
            continue
        assert code in present, code
