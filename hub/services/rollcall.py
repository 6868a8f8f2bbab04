"""Roll call: everyone on site now (visitors checked in, and rooms whose sensors count people), for evacuations."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.services.bookings import site_zone
from hub.settings import Settings
from hub.store import audit
from hub.store.models import Floor, Room
from hub.store.registry import get_site
from hub.store.room_live_models import RoomLive
from hub.store.visit_models import Visit, VisitStatus


@dataclass(frozen=True, slots=True)
class VisitorOnSite:
    visit_id: int
    visitor_name: str
    company: str | None
    host_name: str
    checked_in_at: datetime


@dataclass(frozen=True, slots=True)
class OccupiedRoom:
    room_id: str
    room_name: str
    floor: str
    people: int
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class RollCall:
    generated_at: datetime
    site: str
    timezone: str
    visitors: list[VisitorOnSite] = field(default_factory=list)
    rooms: list[OccupiedRoom] = field(default_factory=list)


def stale_after(settings: Settings) -> timedelta:
    """Occupancy readings older than the rules' limit do not count."""
    return timedelta(seconds=settings.occupancy_stale_after_s)


def roll_call(session: Session, *, now: datetime, stale_after: timedelta, actor: str) -> RollCall:
    """Visitors checked in (by name) and rooms with people in them by a reading younger than ``stale_after``.

    Reading it shows visitors' names, so it is audited.
    """
    site = get_site(session)
    visits = session.scalars(
        sa.select(Visit).where(Visit.status == VisitStatus.CHECKED_IN.value).order_by(Visit.visitor_name, Visit.id)
    ).all()
    rooms = session.execute(
        sa.select(RoomLive, Room.name, Floor.name)
        .join(Room, Room.id == RoomLive.room_id)
        .join(Floor, Floor.id == Room.floor_id)
        .where(RoomLive.people > 0, RoomLive.observed_at >= now - stale_after)
        .order_by(Floor.level, Room.name)
    ).all()
    audit.record(session, actor=actor, action="rollcall.read", object_type="rollcall", object_id=site.id, now=now)
    return RollCall(
        generated_at=now,
        site=site.name,
        timezone=site_zone(session).key,
        visitors=[
            VisitorOnSite(
                visit_id=visit.id,
                visitor_name=visit.visitor_name,
                company=visit.company,
                host_name=visit.host.name,
                checked_in_at=visit.checked_in_at or visit.updated_at,
            )
            for visit in visits
        ],
        rooms=[
            OccupiedRoom(
                room_id=live.room_id,
                room_name=room_name,
                floor=floor_name,
                people=live.people,
                observed_at=live.observed_at,
            )
            for live, room_name, floor_name in rooms
            if live.observed_at is not None
        ],
    )


def as_text(call: RollCall) -> str:
    """A printable roll call, in the site's local time."""
    zone = ZoneInfo(call.timezone)
    lines = [
        f"ROLL CALL - {call.site}",
        f"Generated {call.generated_at.astimezone(zone):%a %d %b %Y %H:%M} ({call.timezone})",
        "",
        f"VISITORS ON SITE: {len(call.visitors)}",
    ]
    for visitor in call.visitors:
        company = f" ({visitor.company})" if visitor.company else ""
        lines.append(
            f"  [ ] {visitor.visitor_name}{company} - host {visitor.host_name}, "
            f"in since {visitor.checked_in_at.astimezone(zone):%H:%M}"
        )
    if not call.visitors:
        lines.append("  (none)")
    total = sum(room.people for room in call.rooms)
    lines += ["", f"OCCUPIED ROOMS: {len(call.rooms)} ({total} people counted by sensors)"]
    for room in call.rooms:
        lines.append(
            f"  [ ] {room.floor} / {room.room_name}: {room.people} (as of {room.observed_at.astimezone(zone):%H:%M})"
        )
    if not call.rooms:
        lines.append("  (none)")
    return "\n".join(lines) + "\n"
