"""The README's run command seeds a demo day on the embedded default (SQLite): three brands' parcels land
and are matched after they land (the three hamlets the gazetteer does not know wait for review), every
parcel at a station is planned onto the fleet, the plan is published and the drivers get manifests."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from dispatch import migrate
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.demo import day, seed, settle_day
from dispatch.models import Manifest, ManifestParcel, Parcel
from tests.conftest import settings_for


def test_demo_day_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        database = Database(engine)
        out = seed(database, gazetteer_dir=get_settings().gazetteer_dir, parcels_per_carrier=10)
        assert out["parcels"] == {"at_a_station": 17, "waiting_in_review": 3}
        assert [c["brand"] for c in out["carriers"]] == ["zto", "yto", "sto"]
        settings = settings_for(url, solver_solution_limit=20)
        planned = day(
            database,
            settings=settings,
            operator_id=uuid.UUID(out["operator_id"]),
            desk_user_id=uuid.UUID(out["desk"]["user_id"]),
        )
        settled = settle_day(
            database,
            settings=settings,
            operator_id=uuid.UUID(out["operator_id"]),
            first_driver_token=planned["drivers"][0]["token"],
        )
        with database.session_scope() as session:
            manifests = session.execute(select(func.count()).select_from(Manifest)).scalar_one()
            done = session.execute(
                select(func.count()).select_from(Parcel).where(Parcel.done_at.is_not(None))
            )
            on_manifests = session.execute(select(func.count()).select_from(ManifestParcel)).scalar_one()
            delivered = done.scalar_one()
    finally:
        engine.dispose()
    plan = planned["plan"]
    assert plan["status"] == "published"
    assert plan["unassigned"] == 0
    assert plan["parcels"] == on_manifests == 17 + 30  # every STO parcel names a known village
    assert plan["not_batched"] == 3  # the hamlets still waiting in review
    assert manifests == len(plan["routes"]) >= 1
    assert {d["token"][:4] for d in planned["drivers"]} == {"gpt_"}
    assert settled["delivered_by_first_driver"] == delivered >= 1
    assert set(settled["carrier_total_fen"]) <= {"zto", "yto", "sto"}
    assert sum(settled["carrier_total_fen"].values()) == settled["total_fen_by_party_kind"]["carrier"] > 0
    assert settled["total_fen_by_party_kind"]["driver"] > 0  # the day's routes are paid
