"""Matching as the service uses it: one matcher per gazetteer directory, built once per process."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from dispatch.matching.engine import Match, Matcher
from dispatch.matching.gazetteer import load_dir


@lru_cache(maxsize=4)
def matcher_for(gazetteer_dir: str) -> Matcher:
    """The matcher for a gazetteer directory (about half a second to build; cached)."""
    return Matcher(load_dir(Path(gazetteer_dir)))


def as_json(address: str, match: Match) -> dict[str, Any]:
    return {
        "address": address,
        "status": match.status.value,
        "village_code": match.village_code,
        "township_code": match.township_code,
        "county_code": match.county_code,
        "confidence": match.confidence,
        "evidence": list(match.evidence),
        "reason": match.reason,
        **({"candidates": list(match.candidates)} if match.candidates else {}),
    }


def match_lines(matcher: Matcher, lines: Iterable[str], *, county: str | None) -> Iterator[str]:
    """One JSON object per input line (the line's trailing newline removed; blank lines kept as unmatched)."""
    for line in lines:
        address = line.rstrip("\r\n")
        yield json.dumps(as_json(address, matcher.match(address, county_hint=county)), ensure_ascii=False)
