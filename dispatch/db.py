"""Engine and session factories, the declarative Base and the column types shared by every table."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, Uuid, create_engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store time-zone aware values only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def enum_type(enum_cls: type[enum.Enum]) -> SAEnum:
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def make_engine(url: str, *, pool_size: int = 10, connect_timeout_s: int = 3) -> Engine:
    """An engine for PostgreSQL (psycopg 3) or SQLite with the pragmas the service relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Let SQLAlchemy issue BEGIN itself so a write transaction takes the lock up front.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": connect_timeout_s, "application_name": "gongpei"},
    )


class Database:
    """An engine with its session factory; one per process (the app and the CLI each make theirs)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session


def dialect_insert(session: Session) -> Any:
    """The dialect's ``insert`` (PostgreSQL or SQLite), which has ``on_conflict_do_*``."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def pg_bulk_update(session: Session, table: Any, rows: list[dict[str, Any]], *, key: str = "id") -> None:
    """Update many rows by ``key`` in one statement, the rows as one JSON parameter typed by the table's
    row type (``UPDATE … FROM json_populate_recordset(NULL::table, …)``): one statement for PostgreSQL to
    plan instead of one per row. Every row sets the same columns. PostgreSQL only."""
    from sqlalchemy import text

    if not rows:
        return
    quote = session.get_bind().dialect.identifier_preparer.quote
    name = quote(table.name)
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in rows[0] if c != key)
    sql = (
        f"UPDATE {name} SET {assignments} "
        f"FROM json_populate_recordset(NULL::{name}, CAST(:rows AS JSON)) AS v "
        f"WHERE {name}.{quote(key)} = v.{quote(key)}"
    )
    document = json.dumps(rows, ensure_ascii=False, default=_json_value, separators=(",", ":"))
    session.execute(text(sql), {"rows": document})


def _json_value(value: Any) -> Any:
    """JSON for the values ``json.dumps`` does not know: enums by value, UUIDs, dates and times as text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in a bulk insert")


def pg_bulk_insert(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    conflict_columns: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
) -> list[Any]:
    """Insert many rows in one fixed statement: the rows as ONE JSON parameter, typed by the table's own
    row type (``INSERT … SELECT FROM json_populate_recordset(NULL::table, …)``).

    A multi-row VALUES statement is compiled anew for every batch size and parsed anew by the driver, and
    one array parameter per column costs the driver a Python call per value; one JSON document is encoded
    by the C encoder and parsed by PostgreSQL, and the statement's text depends only on the columns.
    ``conflict_columns`` adds ``ON CONFLICT (…) DO NOTHING``. PostgreSQL only.
    """
    from sqlalchemy import text

    if not rows:
        return []
    quote = session.get_bind().dialect.identifier_preparer.quote
    names = list(rows[0])
    columns = ", ".join(quote(n) for n in names)
    sql = (
        f"INSERT INTO {quote(table.name)} ({columns}) "
        f"SELECT {columns} FROM json_populate_recordset(NULL::{quote(table.name)}, CAST(:rows AS JSON))"
    )
    if conflict_columns:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict_columns)}) DO NOTHING"
    document = json.dumps(rows, ensure_ascii=False, default=_json_value, separators=(",", ":"))
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
        return list(session.execute(text(sql), {"rows": document}).all())
    session.execute(text(sql), {"rows": document})
    return []
