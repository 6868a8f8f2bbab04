"""Wires the hub together: building file, database, broker (embedded or external), ingest pipeline."""

import logging
import queue
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from devices.payloads import ButtonPressed, OccupancyTelemetry
from devices.site import Building, SiteConfigError, load_building, synthetic_building
from devices.transport import BrokerEndpoint, BrokerUrlError
from hub.errors import ConfigError
from hub.mqtt.connection import Delivery, HubConnection
from hub.mqtt.embedded_broker import EmbeddedBroker
from hub.mqtt.outbox_relay import OutboxRelay
from hub.pipeline import IngestPipeline
from hub.scheduler import JobFunction, Scheduler
from hub.services.bookings import BookingRules, materialise_series
from hub.services.ingest import Registry
from hub.services.occupancy_rules import OccupancyRules
from hub.services.reactions import Reactions
from hub.services.room_automation import apply_occupancy_rules, obey_button, record_occupancy
from hub.services.room_displays import refresh_changed_rooms_before_commit, refresh_due_rooms
from hub.settings import Settings
from hub.store.building_sync import sync_building
from hub.store.db import create_engine, migrate, session_factory
from hub.store.journal import load_registry, mark_silent_devices_offline
from hub.store.outbox import purge_published, wake_after_commit

log = logging.getLogger(__name__)

SILENCE_SWEEP_S = 0.5
"""How often devices past their liveness window are marked offline."""
OUTBOX_KEPT_FOR = timedelta(days=1)
"""How long published outbox messages stay for inspection."""


OCCUPANCY_RULES_EVERY_S = 2.0
"""How often running meetings are checked against their rooms' occupancy."""


def _materialise(session: Session, now: datetime, *, rules: BookingRules) -> object:
    return materialise_series(session, now=now, rules=rules)


def forget_published_outbox(session: Session, now: datetime) -> int:
    return purge_published(session, older_than=OUTBOX_KEPT_FOR, now=now)


@dataclass
class Database:
    """An engine with migrations applied and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str) -> "Database":
        """Connect and migrate; raises ConfigError with one sentence when that fails."""
        engine = create_engine(url)
        migrate(engine)
        sessions = session_factory(engine)
        refresh_changed_rooms_before_commit(sessions, lambda: datetime.now(UTC))
        return cls(engine, sessions)

    def close(self) -> None:
        self.engine.dispose()


SYNTHETIC_PREFIX = "synthetic:"


def load_site(settings: Settings) -> Building:
    """The building file (or ``synthetic:N``, a generated fleet site), or a ConfigError saying what is wrong."""
    source = str(settings.building)
    try:
        if source.startswith(SYNTHETIC_PREFIX):
            count = source.removeprefix(SYNTHETIC_PREFIX)
            if not count.isdigit():
                raise SiteConfigError(f"{source!r}: give the number of devices, as in synthetic:5000")
            return synthetic_building(int(count))
        return load_building(settings.building)
    except SiteConfigError as error:
        raise ConfigError(str(error)) from None


class Hub:
    """The running hub: start() brings everything up in order, stop() takes it down in reverse."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.building = load_site(settings)
        self.database: Database | None = None
        self.broker: EmbeddedBroker | None = None
        self.endpoint: BrokerEndpoint | None = None
        self.connection: HubConnection | None = None
        self.pipeline: IngestPipeline | None = None
        self.relay: OutboxRelay | None = None
        self.scheduler: Scheduler | None = None
        booking_rules = BookingRules.from_settings(settings)
        occupancy_rules = OccupancyRules.from_settings(settings)
        self.reactions = Reactions()
        """What the domain does with device messages; features register here before start()."""
        self.reactions.on(OccupancyTelemetry, "record occupancy", record_occupancy)
        self.reactions.on(ButtonPressed, "door display button", obey_button(booking_rules))
        self.jobs: list[tuple[str, float, JobFunction]] = [
            ("mark silent devices offline", SILENCE_SWEEP_S, mark_silent_devices_offline),
            ("forget published outbox messages", 600.0, forget_published_outbox),
            ("refresh room displays at their boundaries", 1.0, refresh_due_rooms),
            (
                "apply occupancy rules",
                OCCUPANCY_RULES_EVERY_S,
                partial(
                    apply_occupancy_rules,
                    rules=occupancy_rules,
                    booking_rules=booking_rules,
                    room_rules={
                        room.id: occupancy_rules.for_room(room.occupancy)
                        for _, room in self.building.rooms()
                        if room.occupancy is not None
                    },
                ),
            ),
            ("book recurring series ahead", 3600.0, partial(_materialise, rules=booking_rules)),
        ]
        """Timed work; features add theirs before start()."""
        # Features register their reactions and jobs below, one block each.
        # --- visitors (issue 4) ---
        # --- badges (issue 4) ---
        # --- facilities: tickets and fault rules (issue 5) ---
        # --- facilities: maintenance, safety, cleaning (issue 5) ---
        # --- facilities: energy (issue 5) ---
        self._registry: Registry | None = None

    @property
    def site_id(self) -> str:
        return self.building.site.id

    def start(self) -> None:
        """Open the database, sync the building, reach (or start) the broker, start ingesting."""
        self.database = Database.open(self.settings.database_url)
        with self.database.sessions.begin() as session:
            sync_building(session, self.building)
        self.reload_registry()
        self.endpoint = self._broker_endpoint()
        inbox: queue.Queue[Delivery] = queue.Queue()
        self.connection = HubConnection(
            self.endpoint,
            site_id=self.site_id,
            client_id=self.settings.client_id or f"atrium-hub-{self.site_id}",
            inbox=inbox,
            keepalive=self.settings.keepalive_s,
            session_expiry_s=self.settings.session_expiry_s,
            shared_group=self.settings.shared_group,
        )
        self.pipeline = IngestPipeline(
            inbox=inbox,
            sessions=self.database.sessions,
            registry=self.registry,
            acknowledge=self.connection.ack,
            batch_size=self.settings.batch_size,
            batch_wait_s=self.settings.batch_wait_ms / 1000,
            max_payload_bytes=self.settings.max_payload_bytes,
            dead_letter_limit=self.settings.dead_letter_limit,
            reactions=self.reactions,
        )
        self.relay = OutboxRelay(sessions=self.database.sessions, connection=self.connection)
        wake_after_commit(self.database.sessions, self.relay.wake)
        self.scheduler = Scheduler(self.database.sessions)
        for name, every_s, run in self.jobs:
            self.scheduler.add(name, every_s, run)
        self.pipeline.start()
        self.connection.start()
        self.relay.start()
        self.scheduler.start()
        log.info("hub for site %r ingesting from %s into %s", self.site_id, self.endpoint.url, self._db_label())

    def stop(self) -> None:
        """Stop taking messages, commit and acknowledge what was received, then let go of everything."""
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.connection is not None:
            self.connection.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.database is not None:
            self.database.close()

    def registry(self) -> Registry:
        """The current device registry (reloaded when the building changes)."""
        assert self._registry is not None, "the hub is not started"
        return self._registry

    def reload_registry(self) -> None:
        assert self.database is not None
        with self.database.sessions() as session:
            self._registry = load_registry(session, self.site_id)

    def _broker_endpoint(self) -> BrokerEndpoint:
        if self.settings.mqtt_url:
            try:
                return BrokerEndpoint.from_url(self.settings.mqtt_url)
            except BrokerUrlError as error:
                raise ConfigError(str(error)) from None
        self.broker = EmbeddedBroker(port=self.settings.embedded_mqtt_port)
        return self.broker.start()

    def _db_label(self) -> str:
        assert self.database is not None
        return self.database.engine.url.render_as_string(hide_password=True)
