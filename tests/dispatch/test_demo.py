"""The README's run command seeds the demo county on the embedded default (SQLite): parcels of two
brands land, are matched after they land, and the three hamlets the gazetteer does not know wait."""

from __future__ import annotations

from pathlib import Path

from dispatch import migrate
from dispatch.config import get_settings
from dispatch.db import Database, make_engine
from dispatch.demo import seed


def test_demo_seed_places_parcels_at_stations_and_leaves_unknown_hamlets_for_review(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        migrate.upgrade(engine)
        out = seed(Database(engine), gazetteer_dir=get_settings().gazetteer_dir, parcels_per_carrier=10)
    finally:
        engine.dispose()
    assert out["parcels"] == {"at_a_station": 17, "waiting_in_review": 3}
    assert [c["brand"] for c in out["carriers"]] == ["zto", "yto"]
