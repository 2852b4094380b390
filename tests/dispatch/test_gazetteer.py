"""The gazetteer in the database: idempotent upserts by code, retirement instead of deletion, the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch import migrate
from dispatch.db import Database, make_engine
from dispatch.divisions.service import ImportCounts, import_gazetteer
from dispatch.matching.gazetteer import Division as GazetteerDivision
from dispatch.matching.gazetteer import Gazetteer, Level
from dispatch.models import Division, DivisionLevel
from tests.conftest import create_database, drop_database
from tests.dispatch.gazetteer_data import (
    GAZETTEER_DIR,
    HEPING,
    KUANDIAN,
    changed,
    counties,
    liaoning,
    village_committees,
    with_village,
    without,
)
from tests.dispatch.test_cli import GONGPEI, _env


def _rows(session: Session) -> dict[str, tuple[object, ...]]:
    session.expire_all()
    return {
        d.code: (d.name, d.kind, d.retired, d.latitude_e6, d.longitude_e6, d.source_year, d.imported_at)
        for d in session.scalars(select(Division))
    }


def test_full_import_then_the_same_again_changes_nothing(db_session: Session) -> None:
    """All 18k Liaoning divisions land once; a second import of the same tables writes no row."""
    gazetteer = liaoning()
    first = import_gazetteer(db_session, gazetteer, source_year=2023)
    assert first == ImportCounts(inserted=len(gazetteer), updated=0, retired=0, unchanged=0)
    before = _rows(db_session)
    assert len(before) == len(gazetteer) > 18_000

    second = import_gazetteer(db_session, gazetteer, source_year=2023)
    assert second == ImportCounts(inserted=0, updated=0, retired=0, unchanged=len(gazetteer))
    assert _rows(db_session) == before


def test_rows_match_the_tables(db_session: Session) -> None:
    """Levels, parents, kinds, coordinates and the changes file's retirements are stored as read."""
    import_gazetteer(db_session, liaoning(), source_year=2023)
    county = db_session.get(Division, KUANDIAN)
    assert county is not None
    assert (county.level, county.name, county.city_name) == (DivisionLevel.COUNTY, "宽甸满族自治县", "丹东市")
    assert county.latitude_e6 is not None
    assert 40_000_000 < county.latitude_e6 < 41_500_000
    village = db_session.get(Division, "211104108203")
    assert village is not None
    assert (village.level, village.name, village.kind) == (
        DivisionLevel.VILLAGE,
        "上口子村委会",
        "village_committee",
    )
    assert (village.county_code, village.township_code) == ("211104", "211104108")
    assert village.latitude_e6 is None
    assert village.source_year == 2023
    removed_2023 = db_session.get(Division, "210102019014")  # 新世界花园社区, removed NBS 2022 -> 2023
    assert removed_2023 is not None
    assert removed_2023.retired
    by_level = dict(db_session.execute(select(Division.level, func.count()).group_by(Division.level)).all())
    assert by_level[DivisionLevel.COUNTY] == 100


def test_newer_import_updates_inserts_and_retires(db_session: Session) -> None:
    """Renamed and re-kinded codes update, a new code inserts, a missing code stays flagged retired."""
    old = counties(KUANDIAN)
    import_gazetteer(db_session, old, source_year=2021)
    villages = [d.code for d in village_committees(old, KUANDIAN)]
    renamed, rekinded, dropped, flagged = villages[:4]
    township = next(d for d in old.townships() if d.latitude_e6 is not None)
    newer = changed(old, renamed, name="新名村委会")
    newer = changed(newer, rekinded, kind="residents_committee")
    newer = changed(newer, flagged, retired=True)
    newer = changed(newer, township.code, latitude_e6=None, longitude_e6=None)  # no point: keep ours
    newer = without(newer, dropped)
    newer = with_village(newer, code=renamed[:9] + "999", name="新设村委会")

    counts = import_gazetteer(db_session, newer, source_year=2023)
    assert counts == ImportCounts(inserted=1, updated=2, retired=2, unchanged=len(old) - 4)

    db_session.expire_all()
    assert db_session.get(Division, renamed).name == "新名村委会"  # type: ignore[union-attr]
    assert db_session.get(Division, rekinded).kind == "residents_committee"  # type: ignore[union-attr]
    gone = db_session.get(Division, dropped)
    assert gone is not None
    assert gone.retired
    assert gone.name == old.divisions[dropped].name
    assert gone.source_year == 2021
    assert db_session.get(Division, flagged).retired  # type: ignore[union-attr]
    kept = db_session.get(Division, township.code)
    assert kept is not None
    assert kept.latitude_e6 == township.latitude_e6
    assert db_session.get(Division, renamed[:9] + "999").source_year == 2023  # type: ignore[union-attr]

    again = import_gazetteer(db_session, newer, source_year=2023)
    assert again == ImportCounts(inserted=0, updated=0, retired=0, unchanged=len(old) + 1)

    # The old tables again: the dropped code is back in use, the new one is now the missing one.
    back = import_gazetteer(db_session, old, source_year=2021)
    assert back.retired == 1
    assert back.inserted == 0
    db_session.expire_all()
    assert not db_session.get(Division, dropped).retired  # type: ignore[union-attr]


def test_import_retires_only_within_its_own_provinces(db_session: Session) -> None:
    """Importing one province's tables leaves every other province's codes as they were."""
    import_gazetteer(db_session, counties(KUANDIAN, HEPING))
    jilin = Gazetteer(source="jilin")
    jilin.add(GazetteerDivision(code="220581", level=Level.COUNTY, name="梅河口市", county_code="220581"))
    counts = import_gazetteer(db_session, jilin)
    assert counts == ImportCounts(inserted=1, updated=0, retired=0, unchanged=0)
    assert db_session.scalar(select(func.count()).where(Division.retired.is_(True))) == sum(
        1 for d in counties(KUANDIAN, HEPING).divisions.values() if d.retired
    )


def test_import_on_sqlite(tmp_path: Path) -> None:
    """The same upserts run on the embedded SQLite database: insert, idempotent repeat, retire."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gazetteer.db'}")
    migrate.upgrade(engine)
    database = Database(engine)
    gazetteer = liaoning()
    try:
        with database.session_scope() as session:
            assert import_gazetteer(session, gazetteer).inserted == len(gazetteer)
        with database.session_scope() as session:
            assert import_gazetteer(session, gazetteer).unchanged == len(gazetteer)
        code = next(d.code for d in gazetteer.villages() if not d.retired)
        with database.session_scope() as session:
            counts = import_gazetteer(session, without(gazetteer, code))
            assert (counts.retired, counts.unchanged) == (1, len(gazetteer) - 1)
        with database.session_scope() as session:
            row = session.get(Division, code)
            assert row is not None
            assert row.retired
    finally:
        engine.dispose()


@pytest.fixture
def cli_pg_env(tmp_path: Path):
    url = create_database("gongpei_gaz")
    yield _env(url, tmp_path)
    drop_database(url)


def test_cli_import_prints_counts_and_draws_progress_on_stderr(cli_pg_env: dict[str, str]) -> None:
    """`gongpei gazetteer import DIR` prints one JSON object of counts; the progress bar is on stderr."""
    subprocess.run([GONGPEI, "db", "upgrade"], env=cli_pg_env, check=True, capture_output=True, timeout=120)
    outputs = []
    for _ in range(2):
        proc = subprocess.run(
            [GONGPEI, "gazetteer", "import", str(GAZETTEER_DIR), "--source-year", "2023"],
            env=cli_pg_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.strip().splitlines()) == 1
        assert "importing" in proc.stderr
        outputs.append(json.loads(proc.stdout))
    total = len(liaoning())
    assert outputs[0] == {"inserted": total, "updated": 0, "retired": 0, "unchanged": 0}
    assert outputs[1] == {"inserted": 0, "updated": 0, "retired": 0, "unchanged": total}

    default_dir = subprocess.run(
        [GONGPEI, "gazetteer", "import"],
        env={**cli_pg_env, "GONGPEI_GAZETTEER_DIR": str(GAZETTEER_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(default_dir.stdout)["unchanged"] == total
    missing = subprocess.run(
        [GONGPEI, "gazetteer", "import", "/nonexistent"], env=cli_pg_env, capture_output=True, text=True
    )
    assert missing.returncode == 2
    assert json.loads(missing.stdout)["field"] == "gazetteer"
