"""The asset register: every device of the building and every piece of room equipment, kept in step with it."""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from devices.site import Building, EquipmentSpec
from hub.errors import NotFound
from hub.store.ticket_models import EQUIPMENT_KIND, Asset, AssetStatus


def equipment_slug(name: str) -> str:
    """``"Coffee machine"`` -> ``"coffee-machine"``: the equipment part of an asset id."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "item"


def equipment_asset_id(room_id: str, name: str) -> str:
    return f"{room_id}/{equipment_slug(name)}"


def sync_assets(session: Session, building: Building) -> int:
    """Make the register match the building; assets gone from it are retired, not deleted. Returns the count."""
    known = {asset.id: asset for asset in session.scalars(sa.select(Asset))}
    seen: set[str] = set()

    def put(asset_id: str, **values: object) -> None:
        seen.add(asset_id)
        asset = known.get(asset_id)
        if asset is None:
            session.add(Asset(id=asset_id, status=AssetStatus.IN_SERVICE.value, **values))
            return
        for name, value in values.items():
            setattr(asset, name, value)
        asset.status = AssetStatus.IN_SERVICE.value

    for _, room, device in building.devices():
        put(
            device.id,
            kind=device.kind.value,
            name=f"{device.kind.value.replace('_', ' ')} {device.id}",
            room_id=room.id,
            make_model=device.model,
        )
    for _, room in building.rooms():
        for item in room.equipment:
            spec = item if isinstance(item, EquipmentSpec) else EquipmentSpec(name=item)
            asset_id = equipment_asset_id(room.id, spec.name)
            if asset_id in seen:
                continue  # the same name twice in a room is one asset
            put(
                asset_id,
                kind=EQUIPMENT_KIND,
                name=spec.name,
                room_id=room.id,
                make_model=spec.make_model,
                install_date=spec.installed,
                warranty_until=spec.warranty_until,
            )
    for asset_id, asset in known.items():
        if asset_id not in seen:
            asset.status = AssetStatus.RETIRED.value
    session.flush()
    return len(seen)


def list_assets(
    session: Session,
    *,
    room_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Sequence[Asset]:
    """Assets, ordered by id, filtered."""
    query = sa.select(Asset).order_by(Asset.id).limit(limit).offset(offset)
    if room_id is not None:
        query = query.where(Asset.room_id == room_id)
    if kind is not None:
        query = query.where(Asset.kind == kind)
    if status is not None:
        query = query.where(Asset.status == status)
    return session.scalars(query).all()


def get_asset(session: Session, asset_id: str) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id!r} does not exist")
    return asset
