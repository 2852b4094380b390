"""One Settings object for the service, read from ``GONGPEI_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./var/gongpei.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGPEI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; PostgreSQL in production (postgresql+psycopg://…), SQLite by default.",
    )
    redis_url: str | None = Field(
        None, description="Redis for the job queue; unset runs jobs in-process (embedded mode)."
    )
    timezone: str = Field("Asia/Shanghai", description="Default operator time zone for display and cut-offs.")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    max_upload_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest manifest file upload (CSV/XLSX)."
    )
    max_batch_records: int = Field(1000, ge=1, le=10_000, description="Most parcels in one POST.")
    max_page_size: int = Field(500, ge=1, le=5000, description="Largest page a list endpoint returns.")
    default_page_size: int = Field(100, ge=1, le=5000)
    idempotency_ttl_hours: int = Field(72, ge=24, description="How long idempotency keys are remembered.")
    idempotency_lock_timeout_ms: int = Field(
        5000, ge=100, description="How long a request waits on the same key in flight before 409."
    )
    db_pool_size: int = Field(10, ge=1)
    db_connect_timeout_s: int = Field(3, ge=1)
    log_level: str = Field("INFO")
    log_json: bool = Field(True, description="JSON log lines (false: human-readable console).")
    gazetteer_dir: Path = Field(Path("../shared/data/liaoning"), description="NBS division tables.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
