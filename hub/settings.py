"""Hub settings from ``ATRIUM_*`` environment variables; read through :func:`get_settings`, never at import."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.codec import MAX_PAYLOAD_BYTES
from devices.site import SAMPLE_BUILDING

SAMPLE_PEOPLE = Path(__file__).resolve().parents[1] / "deploy" / "people.toml"
"""The sample people directory shipped with Atrium."""


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
        default=None,
        description="Site secret (hex) signing QR invitations, label links and sign-ins; unset: var/secret.key",
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

    # --- API access (issue 6) ---
    access_token_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="How long a person's sign-in (access token) lasts"
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins for one username before it must wait"
    )
    login_window_s: float = Field(
        default=300.0, gt=0, description="The window failed sign-ins are counted in, and the wait after too many"
    )

    # --- limits (issue 6) ---
    device_rate_per_s: float = Field(
        default=20.0, gt=0, description="Messages a second one device may send on average; more are dropped"
    )
    device_burst: int = Field(
        default=1000, ge=1, description="Messages one device may send at once (a replay after an outage)"
    )

    # --- nothing lost (issue 6) ---
    commit_confirmations: bool = Field(
        default=True, description="After each commit, tell devices which sequence numbers the hub holds"
    )
    seq_gap_grace_s: float = Field(
        default=60.0, gt=0, description="A missing sequence number counts as a gap once a later one is this old"
    )
    seq_gap_max_span: int = Field(
        default=10_000, ge=1, description="A jump over more numbers than this is a reset counter, not a gap"
    )

    # --- visitors (issue 4) ---
    people_file: Path = Field(
        default=SAMPLE_PEOPLE, description="The people directory (TOML [[person]] id, name, email, team)"
    )
    visitor_types: list[str] = Field(
        default=["guest", "contractor", "interview", "delivery"], min_length=1, description="The site's visitor types"
    )
    visit_token_slack_min: int = Field(
        default=60, ge=0, le=24 * 60, description="QR codes work this long before a visit's window and after it"
    )
    overstay_reminder_min: int = Field(
        default=30, ge=0, le=24 * 60, description="Remind the host once a checked-in visit is this far past its end"
    )
    agreement_valid_days: int = Field(
        default=365, ge=1, description="A returning visitor signs again when their signature is older than this"
    )
    visitor_retention_days: int = Field(
        default=30, ge=1, description="Visitors' personal data is purged this long after their visit"
    )
    visitor_photo_retention_days: int = Field(
        default=1, ge=0, description="Visitor photos are deleted this long after they were taken"
    )
    reception_contact: str = Field(
        default="reception", description="Who is notified of held visits (an email or a team name)"
    )
    webhook_urls: list[str] = Field(
        default=[], description='URLs that get every notification as a JSON POST (env: JSON list, ["https://..."])'
    )
    smtp_host: str | None = Field(default=None, description="Mail relay for invitations; unset: .eml files are written")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Mail relay port")
    smtp_user: str | None = Field(default=None, description="Mail relay login")
    smtp_password: str | None = Field(default=None, description="Mail relay password")
    smtp_starttls: bool = Field(default=True, description="Use STARTTLS with the mail relay")
    mail_from: str = Field(default="reception@atrium.invalid", description="Sender of invitation emails")
    mail_outbox_dir: Path = Field(
        default=Path("var/outbox-mail"), description="Where invitation emails are written when no SMTP host is set"
    )

    # --- badges (issue 4) ---
    badge_print_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="A badge printer that has not answered in this long is failed over"
    )

    # --- facilities: tickets and fault rules (issue 5) ---
    fault_rules_file: Path | None = Field(
        default=None, description="The site's fault rules (TOML), merged over the shipped deploy/fault-rules.toml"
    )
    fault_check_every_s: float = Field(
        default=5.0, gt=0, le=3600, description="How often offline and duration fault rules and ticket SLAs are checked"
    )

    # --- facilities: maintenance, safety, cleaning (issue 5) ---
    safety_co_alarm_ppm: float = Field(
        default=100.0, gt=0, le=10_000, description="CO (ppm) at which a safety sensor's reading is an alarm"
    )
    safety_notify: str = Field(
        default="facilities,reception", description="Who is told of a safety incident (comma-separated teams)"
    )
    cleaning_after_meetings: int = Field(
        default=4, ge=1, le=1000, description="A room needs cleaning after this many checked-in meetings"
    )
    cleaning_after_occupied_minutes: int = Field(
        default=240, ge=1, le=100_000, description="A room needs cleaning after this many occupied minutes"
    )
    preventive_file: Path | None = Field(
        default=None, description="TOML file whose [[schedule]] tables define preventive maintenance"
    )
    preventive_lead_days: float = Field(
        default=7.0, ge=0, le=365, description="Open a calendar schedule's ticket this many days before it is due"
    )
    preventive_lead_pct: float = Field(
        default=5.0, ge=0, lt=100, description="Open a meter schedule's ticket this share (%) of its interval early"
    )
    report_base_url: str | None = Field(
        default=None, description="Base URL printed in asset labels' QR codes (default: the URL the label is asked on)"
    )

    # --- facilities: energy (issue 5) ---
    energy_office_hours: str = Field(
        default="07:00-19:00",
        pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
        description="Office hours on weekdays (site time, HH:MM-HH:MM); energy used in empty rooms outside is flagged",
    )
    energy_after_hours_min_kwh: float = Field(
        default=0.1, ge=0, description="A room's after-hours hour is flagged from this many kWh (standby stays below)"
    )

    # --- workers (issue 7) ---
    workers: int = Field(
        default=1, ge=1, le=64, description="Hub worker processes sharing the ingest (more than 1 needs PostgreSQL)"
    )
    worker: int | None = Field(
        default=None,
        ge=0,
        description="This process's worker number, set by 'atrium hub --workers N'; names its MQTT client id",
    )
    leader_check_s: float = Field(
        default=1.0, gt=0, le=60, description="How often workers try for (or confirm) the lead of the timed jobs"
    )

    # --- device identity (issue 6) ---
    mqtt_password_file: Path | None = Field(
        default=None,
        description="Password file the embedded broker lets in (atrium devices provision writes it); unset: anyone",
    )
    mqtt_acl_file: Path | None = Field(
        default=None, description="ACL file the embedded broker enforces (atrium devices provision writes it)"
    )
    mqtt_ca_file: Path | None = Field(
        default=None, description="The site CA an mqtts:// broker's certificate is checked against (atrium certs)"
    )


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
