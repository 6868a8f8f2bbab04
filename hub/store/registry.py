"""Queries over the device registry and what devices said."""

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.errors import NotFound
from hub.services.gap_watch import GAPS
from hub.services.ingest import DUPLICATES, RECEIVED, REJECTED_PREFIX, STORED
from hub.store.journal import read_counters
from hub.store.models import Device, DeviceMessage, RejectedMessage, Room, Site


def get_site(session: Session) -> Site:
    """The site this hub serves (one per database, from the building file)."""
    return session.scalars(sa.select(Site).order_by(Site.id).limit(1)).one()


def list_devices(
    session: Session,
    *,
    room_id: str | None = None,
    floor_id: str | None = None,
    kind: str | None = None,
    online: bool | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Sequence[Device]:
    """Devices of the building, filtered, ordered by id."""
    query = sa.select(Device).where(Device.in_building).order_by(Device.id).limit(limit).offset(offset)
    if room_id is not None:
        query = query.where(Device.room_id == room_id)
    if floor_id is not None:
        query = query.where(Device.room_id.in_(sa.select(Room.id).where(Room.floor_id == floor_id)))
    if kind is not None:
        query = query.where(Device.kind == kind)
    if online is not None:
        query = query.where(Device.online.is_(online))
    return session.scalars(query).unique().all()


def rooms_of_devices(session: Session, device_ids: Iterable[str]) -> dict[str, str]:
    """The room of each of these devices that has one (a batch's reactions look them up in one query)."""
    query = sa.select(Device.id, Device.room_id).where(Device.id.in_(sorted(set(device_ids))))
    return {device_id: room_id for device_id, room_id in session.execute(query) if room_id is not None}


def get_device(session: Session, device_id: str) -> Device:
    """One device, or NotFound."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id!r}")
    return device


def latest_message(session: Session, device_id: str, channel: str) -> DeviceMessage | None:
    """The device's newest message on ``channel`` (by sequence number)."""
    query = (
        sa.select(DeviceMessage)
        .where(DeviceMessage.device_id == device_id, DeviceMessage.channel == channel)
        .order_by(DeviceMessage.seq.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def count_messages(session: Session, device_id: str | None = None) -> int:
    """How many device messages are stored (for one device, or all)."""
    query = sa.select(sa.func.count()).select_from(DeviceMessage)
    if device_id is not None:
        query = query.where(DeviceMessage.device_id == device_id)
    return session.scalar(query) or 0


def ingest_totals(session: Session) -> dict[str, int | dict[str, int]]:
    """Lasting ingest totals: received, stored, duplicates, rejected and rejects by reason."""
    counters = read_counters(session)
    by_reason = {
        name.removeprefix(REJECTED_PREFIX): n for name, n in counters.items() if name.startswith(REJECTED_PREFIX)
    }
    return {
        "received": counters.get(RECEIVED, 0),
        "stored": counters.get(STORED, 0),
        "duplicates": counters.get(DUPLICATES, 0),
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "gaps": counters.get(GAPS, 0),
    }


def count_dead_letters(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(RejectedMessage)) or 0


def recent_dead_letters(session: Session, *, reason: str | None = None, limit: int = 50) -> Sequence[RejectedMessage]:
    """The newest refused messages first."""
    query = sa.select(RejectedMessage).order_by(RejectedMessage.id.desc()).limit(limit)
    if reason is not None:
        query = query.where(RejectedMessage.reason == reason)
    return session.scalars(query).all()
