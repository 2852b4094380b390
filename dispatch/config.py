"""One Settings object for the service, read from ``GONGPEI_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
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
    photo_max_bytes: int = Field(
        3 * 1024 * 1024, ge=1024, description="Largest proof-of-delivery photo a phone may upload."
    )
    driver_token_hours: int = Field(
        14, ge=1, le=24, description="How long a driver's shift token lives (RELIABILITY: one shift at most)."
    )
    plan_time_limit_s: int = Field(30, ge=1, description="Solver time per plan when the desk names none.")
    max_plan_time_limit_s: int = Field(600, ge=1, description="Longest solve a plan may ask for.")
    solver_workers: int = Field(2, ge=1, le=64, description="Solver processes per plan on a job worker.")
    plan_heartbeat_s: float = Field(5.0, gt=0, description="How often a solving plan shows it is alive.")
    plan_stale_s: int = Field(
        60, ge=1, description="A plan queued, or solving without a heartbeat, this long is re-enqueued."
    )
    driver_webhook_url: str | None = Field(
        None, description="Where publishing posts each driver's message (HMAC-signed); unset = inbox only."
    )
    driver_webhook_secret: str | None = Field(None, description="HMAC key for the driver webhook.")
    sms_gateway_url: str | None = Field(
        None, description='An HTTP SMS gateway: POST {"to", "text"}; unset = no SMS.'
    )
    auto_plan_waves: bool = Field(
        False, description="Plan each wave by itself at its cut-off (on a worker), for the desk to review."
    )
    wave_plan_window_s: int = Field(
        6 * 3600,
        ge=60,
        description="A cut-off passed longer ago than this is not planned by itself any more.",
    )
    reconcile_every_s: int = Field(60, ge=1, description="How often a worker looks for stuck work.")
    solver_solution_limit: int | None = Field(
        None, ge=1, description="Stop each solve after this many improvements (tests: a deterministic stop)."
    )
    plan_shift_start: str = Field("08:00", pattern=r"^\d{2}:\d{2}$", description="Vehicles' shift start.")
    plan_shift_end: str = Field("19:00", pattern=r"^\d{2}:\d{2}$", description="Vehicles' shift end.")
    plan_max_trips: int = Field(2, ge=1, le=6, description="Trips per vehicle and shift (reload at the hub).")
    plan_reload_s: int = Field(1800, ge=0, description="Time at the hub between two trips.")
    vehicle_fixed_cost_fen: int = Field(26_000, ge=0, description="Cost of using a vehicle for a day.")
    vehicle_cost_per_km_fen: int = Field(110, ge=0, description="Running cost per km.")
    split_rule: Literal["per_piece", "per_weight", "per_stop", "standalone", "shapley"] = Field(
        "shapley", description="How a route's cost is split among its carriers in a plan's preview."
    )
    db_pool_size: int = Field(10, ge=1)
    db_connect_timeout_s: int = Field(3, ge=1)
    log_level: str = Field("INFO")
    log_json: bool = Field(True, description="JSON log lines (false: human-readable console).")
    gazetteer_dir: Path = Field(Path("../shared/data/liaoning"), description="NBS division tables.")
    wave_cutoffs: list[str] = Field(
        default_factory=lambda: ["08:30", "13:30"],
        description="Wave cut-off times (HH:MM, operator's zone) for operators without their own.",
    )
    osrm_url: str | None = Field(
        None, description="OSRM-compatible /table service for road distances; unset = great-circle estimate."
    )
    osrm_profile: str = Field("driving", description="OSRM profile in the /table URL.")
    osrm_timeout_s: float = Field(10.0, gt=0, description="Timeout of one /table request.")
    osrm_max_table: int = Field(100, ge=2, description="Most points per side of one /table request.")
    road_circuity: float = Field(1.3, ge=1.0, le=3.0, description="Road ÷ great-circle distance.")
    road_speeds: str = Field(
        "2000:25,10000:40,*:55", description="Speed bands 'metres:km/h,…,*:km/h', driven in turn."
    )
    distance_cache_size: int = Field(16, ge=0, description="Distance matrices kept per process.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("wave_cutoffs")
    @classmethod
    def _cutoffs(cls, value: list[str]) -> list[str]:
        from routing.batching import parse_cutoffs
        from routing.problem import RoutingError

        try:
            parse_cutoffs(value)
        except RoutingError as exc:
            raise ValueError(exc.reason) from exc
        return [v.strip() for v in value]

    @field_validator("road_speeds")
    @classmethod
    def _speeds(cls, value: str) -> str:
        from routing.distance import SpeedProfile
        from routing.problem import RoutingError

        try:
            return str(SpeedProfile.parse(value))
        except RoutingError as exc:
            raise ValueError(f"{exc.field}: {exc.reason}") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
