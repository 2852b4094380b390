"""Shared fixtures: a fresh PostgreSQL database per test run, built by the real migrations.

The database server must be reachable: a test run fails (never skips) when it is not.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from dispatch import migrate
from dispatch.config import Settings
from dispatch.db import Database, make_engine
from dispatch.main import create_app

# CI runs the property tests derandomized (same examples every run); developers' runs explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

ADMIN_URL = os.environ.get(
    "GONGPEI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine() -> Engine:
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def create_database(prefix: str = "gongpei_test") -> str:
    """Create an empty database no one else uses and return its URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - turned into a hard failure with the reason
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is not reachable: {exc}", pytrace=False)
    finally:
        admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = create_database()
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, pool_size=20)
    yield engine
    engine.dispose()


def settings_for(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": database_url, "log_level": "WARNING", **overrides}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def pg_connection(pg_engine: Engine) -> Iterator[Connection]:
    """One connection whose outer transaction is rolled back after the test."""
    with pg_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


class _RolledBackDatabase(Database):
    """A Database whose sessions join the test's outer transaction through savepoints."""

    def __init__(self, connection: Connection) -> None:
        self.engine = connection.engine
        self.sessionmaker = sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )


@pytest.fixture
def db_session(pg_connection: Connection) -> Iterator[Session]:
    with Session(bind=pg_connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(pg_url: str, pg_connection: Connection) -> Iterator[TestClient]:
    """The app on PostgreSQL, every request inside the test's rolled-back transaction."""
    app = create_app(settings_for(pg_url), database=_RolledBackDatabase(pg_connection))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def committed_db(pg_engine: Engine) -> Database:
    """The test database with real commits, for tests of concurrency; tests use tenants of their own."""
    return Database(pg_engine)


@pytest.fixture
def committed_client(pg_url: str, committed_db: Database) -> Iterator[TestClient]:
    app = create_app(settings_for(pg_url), database=committed_db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
