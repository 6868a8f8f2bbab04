"""The kinds of device an Atrium site has."""

from enum import StrEnum


class DeviceKind(StrEnum):
    """What a device is; decides which payloads it may send."""

    OCCUPANCY = "occupancy"
    ENVIRONMENT = "environment"
    ENERGY = "energy"
    SAFETY = "safety"
    DOOR_DISPLAY = "door_display"
    BADGE_PRINTER = "badge_printer"


SENSOR_KINDS = frozenset({DeviceKind.OCCUPANCY, DeviceKind.ENVIRONMENT, DeviceKind.ENERGY, DeviceKind.SAFETY})
