"""Energy meters' readings as the rollup sees them, and the hourly buckets it keeps per meter and room."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class EnergyReading(Base):
    """A meter's cumulative counter at one instant, stored once per (meter, seq); pending until rolled up."""

    __tablename__ = "energy_readings"
    __table_args__ = (
        sa.Index("ix_energy_readings_device_read_at", "device_id", "read_at"),
        sa.Index("ix_energy_readings_pending", "rolled_up", "device_id"),
    )

    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    read_at: Mapped[datetime]
    """The device's own timestamp of the reading."""
    energy_kwh: Mapped[float] = mapped_column(sa.Float)
    rolled_up: Mapped[bool] = mapped_column(default=False)


class EnergyMeter(Base):
    """One row per meter: the rollup locks it, so one worker at a time recomputes a meter's hours."""

    __tablename__ = "energy_meters"

    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id"), primary_key=True)
    rolled_up_at: Mapped[datetime | None]


class EnergyHour(Base):
    """kWh a meter used in one UTC hour, with the room the meter was in."""

    __tablename__ = "energy_hourly"
    __table_args__ = (sa.Index("ix_energy_hourly_hour_room", "hour_start", "room_id"),)

    device_id: Mapped[str] = mapped_column(sa.ForeignKey("devices.id"), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(primary_key=True)
    room_id: Mapped[str | None] = mapped_column(sa.ForeignKey("rooms.id"))
    kwh: Mapped[float] = mapped_column(sa.Float)
