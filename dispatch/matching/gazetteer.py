"""The NBS division tables (county → township → village) as the matcher and the importer read them.

Files in the format of ``../shared/data/liaoning/``: counties.csv, townships.csv, villages.csv, and where
present village_changes_*.csv (villages added since, and codes since retired), county_coords.csv and
township_coords.csv (WGS84). Codes: county 6 digits, township 9, village 12.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path


class Level(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    level: Level
    name: str
    county_code: str
    township_code: str | None = None
    city_name: str | None = None
    kind: str | None = None  # village_committee | residents_committee | other; township type for townships
    retired: bool = False
    other_names: tuple[str, ...] = ()  # earlier official names (a renamed village keeps its code)
    latitude_e6: int | None = None
    longitude_e6: int | None = None

    @property
    def parent_code(self) -> str | None:
        if self.level is Level.VILLAGE:
            return self.township_code
        if self.level is Level.TOWNSHIP:
            return self.county_code
        return None


@dataclass
class Gazetteer:
    """Every division by code, with the children of each county and township."""

    divisions: dict[str, Division] = field(default_factory=dict)
    source: str = ""

    def add(self, division: Division) -> None:
        self.divisions[division.code] = division

    def counties(self) -> Iterator[Division]:
        return (d for d in self.divisions.values() if d.level is Level.COUNTY)

    def townships(self) -> Iterator[Division]:
        return (d for d in self.divisions.values() if d.level is Level.TOWNSHIP)

    def villages(self) -> Iterator[Division]:
        return (d for d in self.divisions.values() if d.level is Level.VILLAGE)

    def __len__(self) -> int:
        return len(self.divisions)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _e6(value: str | None) -> int | None:
    try:
        return round(float(value) * 1_000_000) if value else None
    except ValueError:
        return None


def load_dir(directory: Path) -> Gazetteer:
    """Read a gazetteer directory; raises ``FileNotFoundError`` naming a missing required file."""
    directory = Path(directory)
    for required in ("counties.csv", "townships.csv", "villages.csv"):
        if not (directory / required).is_file():
            raise FileNotFoundError(f"{directory / required} is missing")
    gazetteer = Gazetteer(source=str(directory))
    county_points = {
        r["county_code"]: (_e6(r.get("seat_lat_wgs84_derived")), _e6(r.get("seat_lon_wgs84_derived")))
        for r in (
            _read(directory / "county_coords.csv") if (directory / "county_coords.csv").is_file() else []
        )
    }
    township_points = {
        r["township_code"]: (_e6(r.get("lat_wgs84")), _e6(r.get("lon_wgs84")))
        for r in (
            _read(directory / "township_coords.csv") if (directory / "township_coords.csv").is_file() else []
        )
    }
    for row in _read(directory / "counties.csv"):
        lat, lng = county_points.get(row["county_code"], (None, None))
        gazetteer.add(
            Division(
                code=row["county_code"],
                level=Level.COUNTY,
                name=row["name"],
                county_code=row["county_code"],
                city_name=row.get("city_name") or None,
                kind=row.get("county_type") or None,
                latitude_e6=lat,
                longitude_e6=lng,
            )
        )
    for row in _read(directory / "townships.csv"):
        lat, lng = township_points.get(row["township_code"], (None, None))
        gazetteer.add(
            Division(
                code=row["township_code"],
                level=Level.TOWNSHIP,
                name=row["name"],
                county_code=row["county_code"],
                township_code=row["township_code"],
                city_name=row.get("city_name") or None,
                kind=row.get("township_type") or None,
                latitude_e6=lat,
                longitude_e6=lng,
            )
        )
    for row in _read(directory / "villages.csv"):
        township = row["township_code"]
        if township not in gazetteer.divisions:  # a township retired before the township table's year
            gazetteer.add(
                Division(
                    code=township,
                    level=Level.TOWNSHIP,
                    name=row["township_name"],
                    county_code=row["county_code"],
                    township_code=township,
                    city_name=row.get("city_name") or None,
                    retired=True,
                )
            )
        gazetteer.add(
            Division(
                code=row["village_code"],
                level=Level.VILLAGE,
                name=row["name"],
                county_code=row["county_code"],
                township_code=township,
                city_name=row.get("city_name") or None,
                kind=row.get("kind") or None,
            )
        )
    for changes in sorted(directory.glob("village_changes_*.csv")):
        _apply_changes(gazetteer, _read(changes))
    return gazetteer


def _apply_changes(gazetteer: Gazetteer, rows: list[dict[str, str]]) -> None:
    """Villages added since the village table's year join it; removed codes stay, flagged retired; a code
    both removed and added was renamed: it takes the newer name and keeps the older one as another name."""
    removed = {
        r["code"]: r["name"] for r in rows if r.get("change") == "removed" and r.get("level") == "village"
    }
    added = {r["code"]: r["name"] for r in rows if r.get("change") == "added" and r.get("level") == "village"}
    for code, old_name in removed.items():
        existing = gazetteer.divisions.get(code)
        if existing is None:
            continue
        if code in added:
            names = tuple(n for n in {existing.name, old_name} if n != added[code])
            gazetteer.divisions[code] = replace(existing, name=added[code], other_names=names, retired=False)
        else:
            gazetteer.divisions[code] = replace(existing, retired=True)
    for code, name in added.items():
        if code in gazetteer.divisions or len(code) != 12 or code[:9] not in gazetteer.divisions:
            continue
        township = gazetteer.divisions[code[:9]]
        kind = (
            "residents_committee" if name.endswith(("社区", "居委会", "居民委员会")) else "village_committee"
        )
        gazetteer.add(
            Division(
                code=code,
                level=Level.VILLAGE,
                name=name,
                county_code=township.county_code,
                township_code=township.code,
                city_name=township.city_name,
                kind=kind,
            )
        )
