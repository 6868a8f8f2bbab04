"""The hub's tables, as SQLAlchemy 2 typed ORM models."""

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back zone-aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[str]: sa.JSON}


class Site(Base):
    """The site the hub serves (from the building file)."""

    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64))


class Floor(Base):
    __tablename__ = "floors"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(sa.ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    level: Mapped[int]


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    floor_id: Mapped[str] = mapped_column(sa.ForeignKey("floors.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    capacity: Mapped[int]
    bookable: Mapped[bool]
    equipment: Mapped[list[str]]

    floor: Mapped[Floor] = relationship(lazy="joined")


class Device(Base):
    """The device registry: what each device is, where it is, and what the hub last heard of it."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    model: Mapped[str | None] = mapped_column(sa.String(120))
    in_building: Mapped[bool] = mapped_column(default=True)
    firmware: Mapped[str | None] = mapped_column(sa.String(200))
    report_interval_s: Mapped[float | None]
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    online: Mapped[bool | None]
    availability_changed_at: Mapped[datetime | None]
    last_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    liveness_s: Mapped[float | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)

    room: Mapped[Room | None] = relationship(lazy="joined")


class DeviceMessage(Base):
    """Everything a device said (telemetry, events, state), stored once per device and sequence number."""

    __tablename__ = "device_messages"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "seq", name="uq_device_messages_device_seq"),
        sa.Index("ix_device_messages_device_channel_seq", "device_id", "channel", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    channel: Mapped[str] = mapped_column(sa.String(16))
    device_ts: Mapped[datetime]
    received_at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class RejectedMessage(Base):
    """Dead letters: the most recent refused messages with their raw payload, bounded in number."""

    __tablename__ = "rejected_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    topic: Mapped[str] = mapped_column(sa.String(255))
    reason: Mapped[str] = mapped_column(sa.String(32), index=True)
    detail: Mapped[str] = mapped_column(sa.String(500))
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    payload_size: Mapped[int]


class IngestCounter(Base):
    """Running totals of the ingest (received, stored, duplicates, rejected:<reason>), kept across restarts.

    One row per counter and worker: hub workers sharing the ingest never wait on each other's
    counter row; readers sum the workers' rows (hub.store.journal.read_counters).
    """

    __tablename__ = "ingest_counters"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    worker: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="", server_default="")
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
