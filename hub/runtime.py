"""Wires the hub together: building file, database, broker (embedded or external), ingest pipeline."""

import dataclasses
import logging
import queue
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from devices.payloads import ButtonPressed, OccupancyTelemetry, PrintJobFinished
from devices.site import Building, SiteConfigError, load_building, synthetic_building
from devices.transport import BrokerEndpoint, BrokerUrlError
from hub.errors import ConfigError
from hub.leader import Leadership, elect_leader
from hub.mqtt.confirmations import CommitConfirmations
from hub.mqtt.connection import Delivery, HubConnection
from hub.mqtt.embedded_broker import EmbeddedBroker
from hub.mqtt.outbox_relay import OutboxRelay
from hub.pipeline import IngestPipeline
from hub.scheduler import JobFunction, Scheduler
from hub.services.assets import sync_assets
from hub.services.badges import fail_over_stalled_jobs, on_print_job_finished
from hub.services.bookings import BookingRules, materialise_series
from hub.services.energy import install as install_energy
from hub.services.facilities import install as install_facilities
from hub.services.fault_watch import install as install_fault_rules
from hub.services.fault_watch import report_flooding
from hub.services.gap_watch import GapWatch
from hub.services.ingest import Registry
from hub.services.occupancy_rules import OccupancyRules
from hub.services.people import load_people, sync_people
from hub.services.rate_limit import DeviceRateLimiter
from hub.services.reactions import Reactions
from hub.services.room_automation import apply_occupancy_rules, obey_button, record_occupancy
from hub.services.room_displays import refresh_changed_rooms_before_commit, refresh_due_rooms
from hub.services.visitor_retention import Retention, purge_visitor_data
from hub.services.visits import remind_overstays
from hub.settings import Settings
from hub.store.building_sync import sync_building
from hub.store.db import create_engine, migrate, session_factory
from hub.store.journal import count_as, load_registry, mark_silent_devices_offline
from hub.store.outbox import listen_for_outbox, purge_published, wake_after_commit
from hub.store.pg_notify import NotifyListener
from hub.webhook_relay import WebhookRelay, start_webhooks
from hub.workers import counter_worker, worker_client_id

log = logging.getLogger(__name__)

SILENCE_SWEEP_S = 0.5
"""How often devices past their liveness window are marked offline."""
OUTBOX_KEPT_FOR = timedelta(days=1)
"""How long published outbox messages stay for inspection."""


OCCUPANCY_RULES_EVERY_S = 2.0
"""How often running meetings are checked against their rooms' occupancy."""
BADGE_SWEEP_S = 1.0
"""How often badge jobs are checked for printers gone offline or silent."""
GAP_SWEEP_S = 2.0
"""How often devices' sequence numbers are checked for gaps."""


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
        self.outbox_listener: NotifyListener | None = None
        self.scheduler: Scheduler | None = None
        self.leader: Leadership | None = None
        self.client_id = ""
        booking_rules = BookingRules.from_settings(settings)
        occupancy_rules = OccupancyRules.from_settings(settings)
        self.reactions = Reactions()
        """What the domain does with device messages; features register here before start()."""
        self.reactions.on_batch(OccupancyTelemetry, "record occupancy", record_occupancy)
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
        self.people = load_people(settings.people_file)
        self.webhook_relay: WebhookRelay | None = None
        self.jobs += [
            (
                "remind hosts of overstaying visitors",
                60.0,
                partial(remind_overstays, overstay_after=timedelta(minutes=settings.overstay_reminder_min)),
            ),
            (
                "purge old visitor data",
                3600.0,
                partial(purge_visitor_data, retention=Retention.from_settings(settings)),
            ),
        ]
        # --- badges (issue 4) ---
        self.reactions.on(PrintJobFinished, "badge print result", on_print_job_finished)
        self.jobs.append(
            (
                "fail over stalled badge print jobs",
                BADGE_SWEEP_S,
                partial(fail_over_stalled_jobs, timeout_s=settings.badge_print_timeout_s),
            )
        )
        # --- facilities: tickets and fault rules (issue 5) ---
        self.fault_rules = install_fault_rules(self.reactions, self.jobs, settings)
        """The fault rules in force; ``self.fault_rules.policy`` is the site's ticket priorities and SLAs."""
        # --- facilities: maintenance, safety, cleaning (issue 5) ---
        install_facilities(self.reactions, self.jobs, settings, self.building)
        # --- facilities: energy (issue 5) ---
        install_energy(self.reactions, self.jobs, settings)
        # --- nothing lost (issue 6) ---
        self.gap_watch = GapWatch(grace_s=settings.seq_gap_grace_s, max_span=settings.seq_gap_max_span)
        self.jobs.append(("count sequence gaps", GAP_SWEEP_S, self.gap_watch.run))
        self.confirmations: CommitConfirmations | None = None
        self._registry: Registry | None = None

    @property
    def site_id(self) -> str:
        return self.building.site.id

    def start(self) -> None:
        """Open the database, sync the building, reach (or start) the broker, start ingesting."""
        self.database = Database.open(self.settings.database_url)
        with self.database.sessions.begin() as session:
            sync_building(session, self.building)
            sync_people(session, self.people)
            sync_assets(session, self.building)
        self.reload_registry()
        # --- workers (issue 7) ---
        self.client_id = worker_client_id(self.settings, self.site_id)
        count_as(self.database.sessions, counter_worker(self.settings, self.client_id))
        self.leader = elect_leader(
            self.database.engine, name=self.client_id, check_every_s=self.settings.leader_check_s
        )
        self.leader.start()
        # ---
        self.endpoint = self._broker_endpoint()
        inbox: queue.Queue[Delivery] = queue.Queue()
        self.connection = HubConnection(
            self.endpoint,
            site_id=self.site_id,
            client_id=self.client_id,
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
            rate_limiter=DeviceRateLimiter(
                rate_per_s=self.settings.device_rate_per_s, burst=self.settings.device_burst
            ),
            on_flooding=report_flooding(self.fault_rules),
        )
        # --- nothing lost (issue 6) ---
        if self.settings.commit_confirmations:
            connection = self.connection
            self.confirmations = CommitConfirmations(
                site_id=self.site_id, publish=lambda topic, payload: connection.publish(topic, payload, qos=1)
            )
            self.pipeline.after_commit = self.confirmations
        # ---
        self.relay = OutboxRelay(
            sessions=self.database.sessions, connection=self.connection, leading=self.leader.is_leader
        )
        wake_after_commit(self.database.sessions, self.relay.wake)
        # --- workers (issue 7) ---
        self.outbox_listener = listen_for_outbox(self.database.engine, self.relay.wake)
        # ---
        self.webhook_relay = start_webhooks(
            self.database.sessions, self.settings.webhook_urls, leading=self.leader.is_leader
        )
        self.scheduler = Scheduler(self.database.sessions, leader=self.leader)
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
        if self.outbox_listener is not None:
            self.outbox_listener.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.webhook_relay is not None:
            self.webhook_relay.stop()
        # --- workers (issue 7) ---
        if self.leader is not None:
            self.leader.stop()  # after the last job and publish: a follower takes over at its next try
        # ---
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
                endpoint = BrokerEndpoint.from_url(self.settings.mqtt_url)
            except BrokerUrlError as error:
                raise ConfigError(str(error)) from None
            # --- device identity (issue 6) ---
            ca_file = self.settings.mqtt_ca_file
            return dataclasses.replace(endpoint, ca_file=str(ca_file)) if ca_file else endpoint
        self.broker = EmbeddedBroker(
            port=self.settings.embedded_mqtt_port,
            password_file=self.settings.mqtt_password_file,
            acl_file=self.settings.mqtt_acl_file,
        )
        return self.broker.start()

    def _db_label(self) -> str:
        assert self.database is not None
        return self.database.engine.url.render_as_string(hide_password=True)
