"""Settings, read once from the environment (and `.env` when present)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Every shipped feature has a flag; the environment gives the default, a tenant may override it.
FEATURE_FLAGS: tuple[str, ...] = (
    "ENABLE_ETL_CSV_UPLOAD",
    "ENABLE_DEAL_PIPELINE",
    "ENABLE_IO_BOOKINGS",
    "ENABLE_MATCHMAKING",
    "ENABLE_NEW_DASHBOARD_CARDS",
    "ENABLE_ATTRIBUTION",
    "ENABLE_PREFIX_MEASUREMENT",
)

DEV_SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["dev", "test", "prod"] = Field("dev", alias="PODSPONSOR_ENV")
    data_dir: Path = Field(Path(".podsponsor"), alias="PODSPONSOR_DATA_DIR")

    # The owner role's URL: runs migrations. Unset → embedded PostgreSQL in data_dir.
    database_url: str | None = Field(None, alias="DATABASE_URL")
    # The runtime role's URL: what the app and worker use. Unset → DATABASE_URL with the runtime role's name.
    database_app_url: str | None = Field(None, alias="DATABASE_APP_URL")
    database_app_password: str | None = Field(None, alias="DATABASE_APP_PASSWORD")
    # A role that may create roles and databases: `podsponsor migrate` provisions with it when set.
    database_admin_url: str | None = Field(None, alias="DATABASE_ADMIN_URL")
    db_owner_role: str = Field("podsponsor_owner", alias="DB_OWNER_ROLE")
    db_runtime_role: str = Field("podsponsor_app", alias="DB_RUNTIME_ROLE")
    db_pool_size: int = Field(10, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(5, alias="DB_MAX_OVERFLOW")
    # A new database connection that has not completed its handshake by then fails (and the request with it, as a
    # 503) rather than waiting on a server that accepted the connection but does not answer.
    db_connect_timeout_seconds: int = Field(5, ge=1, le=300, alias="DB_CONNECT_TIMEOUT_SECONDS")

    redis_url: str | None = Field(None, alias="REDIS_URL")
    # Prepended to every Redis key, so that several deployments (or test runs) can share one Redis.
    redis_key_prefix: str = Field("podsponsor:", alias="REDIS_KEY_PREFIX")
    secret_key: str | None = Field(None, alias="SECRET_KEY")
    jwt_issuer: str = Field("podsponsor", alias="JWT_ISSUER")
    jwt_audience: str = Field("podsponsor-api", alias="JWT_AUDIENCE")
    jwt_ttl_seconds: int = Field(3600, alias="JWT_TTL_SECONDS")
    session_ttl_seconds: int = Field(14 * 24 * 3600, alias="SESSION_TTL_SECONDS")
    cookie_secure: bool = Field(False, alias="COOKIE_SECURE")

    login_max_failures: int = Field(5, alias="LOGIN_MAX_FAILURES")
    login_window_seconds: int = Field(900, alias="LOGIN_WINDOW_SECONDS")
    # Overrides of the rate limits: "name=count/seconds" or "name=off", comma-separated (docs/security.md).
    rate_limits: str = Field("", alias="RATE_LIMITS")

    page_size_max: int = Field(200, alias="PAGE_SIZE_MAX")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_json: bool = Field(True, alias="LOG_JSON")

    # Hosts outbound fetching may reach even on private addresses ("host" or "host:port", comma-separated): tests.
    outbound_allow_hosts: str = Field("", alias="OUTBOUND_ALLOW_HOSTS")

    # The address the public reaches this service at (prefix URLs shown to creators); unset → the request's own.
    public_base_url: str | None = Field(None, alias="PUBLIC_BASE_URL")
    # Prefix redirect hits: a group commit takes up to this many rows, waiting at most this long for more.
    prefix_batch_rows: int = Field(500, ge=1, le=10000, alias="PREFIX_BATCH_ROWS")
    prefix_batch_wait_ms: float = Field(1.0, ge=0, le=100, alias="PREFIX_BATCH_WAIT_MS")
    # Batches in flight at once, each on its own connection (their commits overlap).
    prefix_writer_connections: int = Field(2, ge=1, le=16, alias="PREFIX_WRITER_CONNECTIONS")
    # A commit slower than this counts as the database being away: the batch goes to the spill file instead.
    prefix_commit_timeout_seconds: float = Field(2.0, gt=0, le=60, alias="PREFIX_COMMIT_TIMEOUT_SECONDS")

    # Finished jobs (succeeded or failed) are kept this long for inspection, then pruned daily.
    job_retention_days: int = Field(14, ge=1, alias="JOB_RETENTION_DAYS")
    # A worker silent this long (no heartbeat) is presumed dead and its running jobs are put back in the queue.
    job_stalled_timeout_seconds: float = Field(30.0, ge=1, le=3600, alias="JOB_STALLED_TIMEOUT_SECONDS")

    # Metrics CSV imports: the largest file accepted (upload or URL), and the size up to which an upload is imported
    # while the request waits (larger ones run as a job and report progress).
    etl_max_upload_mb: int = Field(200, ge=1, le=10240, alias="ETL_MAX_UPLOAD_MB")
    etl_sync_max_mb: float = Field(5.0, ge=0, alias="ETL_SYNC_MAX_MB")

    enable_etl_csv_upload: bool = Field(True, alias="ENABLE_ETL_CSV_UPLOAD")
    enable_deal_pipeline: bool = Field(True, alias="ENABLE_DEAL_PIPELINE")
    enable_io_bookings: bool = Field(True, alias="ENABLE_IO_BOOKINGS")
    enable_matchmaking: bool = Field(True, alias="ENABLE_MATCHMAKING")
    enable_new_dashboard_cards: bool = Field(True, alias="ENABLE_NEW_DASHBOARD_CARDS")
    enable_attribution: bool = Field(True, alias="ENABLE_ATTRIBUTION")
    enable_prefix_measurement: bool = Field(True, alias="ENABLE_PREFIX_MEASUREMENT")

    @property
    def etl_max_upload_bytes(self) -> int:
        return self.etl_max_upload_mb * 1024 * 1024

    def flag_default(self, name: str) -> bool:
        return bool(getattr(self, name.lower()))

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return (self.data_dir / "pgdata").resolve()

    def signing_key(self) -> str:
        """The key for sessions, JWTs and hashes. Outside prod a missing key is generated once and kept."""
        if self.secret_key:
            return self.secret_key
        if self.env == "prod":
            raise RuntimeError("SECRET_KEY must be set in production")
        path = self.data_dir / DEV_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        key = path.read_text().strip()
        self.secret_key = key
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (the CLI and tests change the environment before building the app)."""
    get_settings.cache_clear()
