"""Migrations: upgrade, downgrade, upgrade again, and no difference left between models and schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import dispatch.models  # noqa: F401
from dispatch import migrate
from dispatch.db import Base, make_engine
from tests.conftest import create_database, drop_database


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "postgresql":
        url = create_database("gongpei_migr")
        engine = make_engine(url, pool_size=1)
        yield engine
        engine.dispose()
        drop_database(url)
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'round-trip.db'}")
        yield engine
        engine.dispose()


def test_round_trip_leaves_no_autogenerate_diff(empty_engine: Engine) -> None:
    """upgrade → downgrade base → upgrade on a blank database; the schema then equals the models."""
    migrate.upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert migrate.current_heads(empty_engine) == migrate.script_heads()
    assert _diff(empty_engine) == []


def test_single_head() -> None:
    """The migration history has exactly one head."""
    assert len(migrate.script_heads()) == 1
