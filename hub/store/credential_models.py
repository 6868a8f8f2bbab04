"""MQTT accounts: one per device and one for the hub, with the password kept only as a hash."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models import Base


class DeviceCredential(Base):
    """A broker account. ``password_hash`` is Mosquitto's own ``$7$`` form, so the password file can be
    written again from the database at any time; a revoked account keeps its row (and stays revoked
    until it is provisioned again by name)."""

    __tablename__ = "device_credentials"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
