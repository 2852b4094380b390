"""The NBS gazetteer in the database: an idempotent import, and lookups for the other domains.

Divisions are reference data shared by every operator. An import upserts by code: the same directory
twice changes nothing; a newer one updates names, kinds and flags; a code it no longer has stays in the
table flagged ``retired`` (never deleted, so old parcels and coverage still resolve).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from dispatch.db import utcnow
from dispatch.divisions import repository
from dispatch.matching.gazetteer import Division as GazetteerDivision
from dispatch.matching.gazetteer import Gazetteer
from dispatch.models import Division, DivisionLevel

VILLAGE_COMMITTEE = "village_committee"
# Rows per upsert (and per progress step) and per retire statement (bound parameters stay few).
BATCH_ROWS = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """Every code in the import's provinces, counted once: new, changed, newly retired or as it was."""

    inserted: int
    updated: int
    retired: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _columns(division: GazetteerDivision) -> dict[str, Any]:
    return {
        "level": DivisionLevel(division.level.value),
        "name": division.name,
        "county_code": division.county_code,
        "township_code": division.township_code,
        "city_name": division.city_name,
        "kind": division.kind,
        "retired": division.retired,
        "latitude_e6": division.latitude_e6,
        "longitude_e6": division.longitude_e6,
    }


def import_gazetteer(
    session: Session,
    gazetteer: Gazetteer,
    *,
    source_year: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportCounts:
    """Upsert the gazetteer's divisions by code, in batches; flushes, never commits.

    Only the provinces (first two code digits) the import contains are compared, so importing one
    province never retires another's codes. A division without coordinates in this import keeps the
    stored ones. A code that becomes retired counts as ``retired`` even if its name changed too.
    ``source_year`` is the data's vintage, recorded on the rows this import inserts or changes.
    ``on_progress(done, total)`` is called after each batch.
    """
    incoming = sorted(gazetteer.divisions.values(), key=lambda d: d.code)
    stored = repository.snapshot(session, provinces={d.code[:2] for d in incoming})
    missing = sorted(set(stored) - {d.code for d in incoming})
    to_retire = [code for code in missing if not stored[code]["retired"]]
    total = len(incoming) + len(missing)
    now = utcnow()
    inserted = updated = retired = 0
    unchanged = len(missing) - len(to_retire)
    done = 0
    for batch in _batches(incoming, BATCH_ROWS):
        rows: list[dict[str, Any]] = []
        for division in batch:
            columns = _columns(division)
            old = stored.get(division.code)
            if old is None:
                inserted += 1
            else:
                if columns["latitude_e6"] is None or columns["longitude_e6"] is None:
                    # No point in this import means "not known here", not "the place moved nowhere".
                    columns["latitude_e6"], columns["longitude_e6"] = old["latitude_e6"], old["longitude_e6"]
                if columns == old:
                    unchanged += 1
                    continue
                if columns["retired"] and not old["retired"]:
                    retired += 1
                else:
                    updated += 1
            rows.append({"code": division.code, **columns, "source_year": source_year, "imported_at": now})
        repository.upsert(session, rows)
        done += len(batch)
        if on_progress is not None:
            on_progress(done, total)
    for codes in _batches(to_retire, BATCH_ROWS):
        repository.retire(session, codes=codes, now=now)
        retired += len(codes)
    if on_progress is not None:
        on_progress(total, total)
    session.flush()
    return ImportCounts(inserted=inserted, updated=updated, retired=retired, unchanged=unchanged)


def divisions_by_code(session: Session, *, codes: Collection[str]) -> dict[str, Division]:
    """The stored divisions among ``codes`` (retired ones included); unknown codes are left out."""
    return repository.get_many(session, codes=codes)


def county_villages(
    session: Session,
    *,
    county_code: str,
    kind: str | None = VILLAGE_COMMITTEE,
    include_retired: bool = False,
) -> list[Division]:
    """The county's villages in code order: village committees by default, retired ones left out."""
    return repository.county_divisions(
        session,
        county_code=county_code,
        level=DivisionLevel.VILLAGE,
        kind=kind,
        include_retired=include_retired,
    )
