"""Hub settings from ``ATRIUM_*`` environment variables; read through :func:`get_settings`, never at import."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.codec import MAX_PAYLOAD_BYTES
from devices.site import SAMPLE_BUILDING


class Settings(BaseSettings):
    """Everything an operator can set; defaults run a whole site on a laptop."""

    model_config = SettingsConfigDict(env_prefix="ATRIUM_", extra="forbid")

    database_url: str = Field(
        default="sqlite:///var/atrium.db", description="SQLAlchemy URL; SQLite file by default, or PostgreSQL"
    )
    mqtt_url: str | None = Field(
        default=None, description="mqtt[s]://user:pass@host:port; unset starts the embedded broker"
    )
    embedded_mqtt_port: int = Field(default=1883, description="Port for the embedded broker (next free if taken)")
    building: Path = Field(
        default=SAMPLE_BUILDING, description="The building file (TOML), or synthetic:N for a generated fleet site"
    )
    api_host: str = Field(default="127.0.0.1", description="Where the HTTP API listens")
    api_port: int = Field(default=8000, description="HTTP API port")
    client_id: str | None = Field(default=None, description="Hub's MQTT client id (default atrium-hub-<site>)")
    shared_group: str | None = Field(default=None, description="MQTT v5 shared-subscription group for workers")
    keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keepalive")
    session_expiry_s: int = Field(default=86_400, ge=0, description="MQTT v5 session expiry")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Most messages committed in one batch")
    batch_wait_ms: int = Field(default=50, ge=0, le=5000, description="Longest wait to fill a batch")
    max_payload_bytes: int = Field(default=MAX_PAYLOAD_BYTES, ge=256, description="Larger payloads are rejected")
    dead_letter_limit: int = Field(default=10_000, ge=100, description="Rejected messages kept for inspection")
    log_level: str = Field(default="INFO", description="Python log level")
    booking_no_show_strikes: int = Field(
        default=3, ge=1, le=50, description="No-shows in a row after which a series' future occurrences are cancelled"
    )
    booking_horizon_days: int = Field(
        default=90, ge=1, le=730, description="How far ahead a recurring series' occurrences are booked"
    )
    booking_check_in_minutes: int = Field(
        default=10, ge=0, le=120, description="How long before its start a booking may be checked in"
    )
    secret_key: str | None = Field(
        default=None, description="Site secret (hex) for panel tokens; unset: kept in var/secret.key"
    )
    occupancy_release_after_s: int = Field(
        default=600, ge=1, description="A booking nobody checked in is released this long after its start"
    )
    occupancy_extend_by_min: int = Field(
        default=15, ge=0, le=240, description="Extend a meeting people are still in, if the room is free (0: never)"
    )
    occupancy_end_empty_after_s: int = Field(
        default=600, ge=0, description="End a meeting whose room has been empty this long (0: never)"
    )
    occupancy_stale_after_s: int = Field(
        default=300, ge=1, description="Occupancy readings older than this are ignored by the rules"
    )

    # --- visitors (issue 4) ---

    # --- badges (issue 4) ---

    # --- facilities: tickets and fault rules (issue 5) ---

    # --- facilities: maintenance, safety, cleaning (issue 5) ---

    # --- facilities: energy (issue 5) ---

    # --- workers (issue 7) ---


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
