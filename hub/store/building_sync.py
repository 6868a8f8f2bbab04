"""Copies the building file into the registry tables, keeping what the hub learned about each device."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.site import Building
from hub.store.models import Device, Floor, Room, Site


def sync_building(session: Session, building: Building) -> None:
    """Make the site, floors, rooms and devices match ``building``; devices gone from it are kept but retired."""
    session.merge(Site(id=building.site.id, name=building.site.name, timezone=building.site.timezone))
    for floor in building.floors:
        session.merge(Floor(id=floor.id, site_id=building.site.id, name=floor.name, level=floor.level))
    for floor, room in building.rooms():
        session.merge(
            Room(
                id=room.id,
                floor_id=floor.id,
                name=room.name,
                capacity=room.capacity,
                bookable=room.bookable,
                equipment=room.equipment_names(),
            )
        )
    session.flush()
    known = {device.id: device for device in session.scalars(sa.select(Device))}
    in_building = set()
    for _, room, spec in building.devices():
        in_building.add(spec.id)
        device = known.get(spec.id)
        if device is None:
            session.add(Device(id=spec.id, kind=spec.kind.value, room_id=room.id, model=spec.model, in_building=True))
            continue
        device.kind = spec.kind.value
        device.room_id = room.id
        device.model = spec.model
        device.in_building = True
    for device_id, device in known.items():
        if device_id not in in_building:
            device.in_building = False
