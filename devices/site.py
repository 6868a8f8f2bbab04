"""The building file: a site's floors, rooms and the devices in each room (TOML).

Both the hub (its device registry) and firmware-sim (which devices to simulate) read it.
"""

import tomllib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, StringConstraints, ValidationError, model_validator

from devices.base import AtriumModel
from devices.codec import describe_validation_error
from devices.kinds import DeviceKind
from devices.topics import DEVICE_ID_PATTERN, SITE_ID_PATTERN

SAMPLE_BUILDING = Path(__file__).with_name("sample_building.toml")

Identifier = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class SiteConfigError(ValueError):
    """A building file that cannot be used; the message names the file, field and reason."""


class DeviceSpec(AtriumModel):
    """One device installed in a room."""

    id: Identifier
    kind: DeviceKind
    model: Name | None = None
    firmware: Name | None = None


class EquipmentSpec(AtriumModel):
    """A piece of room equipment with its asset details; a plain name in ``equipment`` is one without them."""

    name: Name
    make_model: Name | None = None
    installed: date | None = None
    warranty_until: date | None = None


class RoomRules(AtriumModel):
    """A room's own occupancy rules, where it differs from the site's (``[floors.rooms.occupancy]``)."""

    auto_check_in: bool | None = None
    release_after_min: int | None = Field(default=None, ge=1, le=240)
    extend_by_min: int | None = Field(default=None, ge=0, le=240, description="0: never extend")
    end_empty_after_min: int | None = Field(default=None, ge=0, le=240, description="0: never end early")


class RoomSpec(AtriumModel):
    """A room: bookable meeting rooms have a capacity above zero."""

    id: Identifier
    name: Name
    capacity: int = Field(default=0, ge=0, le=5000)
    bookable: bool = True
    equipment: list[Name | EquipmentSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)
    occupancy: RoomRules | None = None

    def equipment_names(self) -> list[str]:
        """The equipment's names, whether given plainly or as tables."""
        return [item if isinstance(item, str) else item.name for item in self.equipment]


class FloorSpec(AtriumModel):
    """A floor of the building."""

    id: Identifier
    name: Name
    level: int = 0
    rooms: list[RoomSpec] = Field(default_factory=list)


class SiteInfo(AtriumModel):
    """The site itself."""

    id: Annotated[str, StringConstraints(pattern=SITE_ID_PATTERN)]
    name: Name
    timezone: str = "UTC"


class Building(AtriumModel):
    """A whole site, as the building file describes it."""

    site: SiteInfo
    floors: list[FloorSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Self:
        for label, ids in (
            ("floor", [f.id for f in self.floors]),
            ("room", [r.id for _, r in self.rooms()]),
            ("device", [d.id for _, _, d in self.devices()]),
        ):
            seen: set[str] = set()
            for identifier in ids:
                if identifier in seen:
                    raise ValueError(f"{label} id {identifier!r} is used twice")
                seen.add(identifier)
        return self

    def rooms(self) -> Iterator[tuple[FloorSpec, RoomSpec]]:
        """Every room with its floor."""
        for floor in self.floors:
            for room in floor.rooms:
                yield floor, room

    def devices(self) -> Iterator[tuple[FloorSpec, RoomSpec, DeviceSpec]]:
        """Every device with its floor and room."""
        for floor, room in self.rooms():
            for device in room.devices:
                yield floor, room, device

    def device_count(self) -> int:
        """How many devices the site has."""
        return sum(1 for _ in self.devices())


def load_building(path: Path | str) -> Building:
    """Read and check a building file; raises :class:`SiteConfigError` with one clear sentence."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SiteConfigError(f"cannot read building file {path}: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SiteConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return Building.model_validate(document)
    except ValidationError as error:
        raise SiteConfigError(f"{path}: {describe_validation_error(error)}") from None


_SYNTHETIC_ROOM = (
    DeviceKind.OCCUPANCY,
    DeviceKind.ENVIRONMENT,
    DeviceKind.ENERGY,
    DeviceKind.SAFETY,
    DeviceKind.DOOR_DISPLAY,
)


def synthetic_building(devices: int, *, site_id: str = "fleet", rooms_per_floor: int = 50) -> Building:
    """A generated site with exactly ``devices`` devices, for fleets and benchmarks.

    Rooms get the usual sensor set; the last device of every 100 is a badge printer.
    """
    if devices < 1:
        raise SiteConfigError("a synthetic building needs at least one device")
    specs: list[DeviceSpec] = []
    for index in range(devices):
        kind = DeviceKind.BADGE_PRINTER if index % 100 == 99 else _SYNTHETIC_ROOM[index % len(_SYNTHETIC_ROOM)]
        specs.append(DeviceSpec(id=f"dev-{index:05d}", kind=kind))
    per_room = len(_SYNTHETIC_ROOM)
    rooms = [
        RoomSpec(id=f"room-{n:04d}", name=f"Room {n}", capacity=8, devices=specs[start : start + per_room])
        for n, start in enumerate(range(0, devices, per_room))
    ]
    floors = [
        FloorSpec(id=f"floor-{n:02d}", name=f"Floor {n}", level=n, rooms=rooms[start : start + rooms_per_floor])
        for n, start in enumerate(range(0, len(rooms), rooms_per_floor))
    ]
    return Building(site=SiteInfo(id=site_id, name=f"Synthetic fleet of {devices}"), floors=floors)
