"""Faults a simulated device can be told to have, which kinds each applies to, and how to name them."""

from enum import StrEnum

from devices.kinds import DeviceKind


class Fault(StrEnum):
    """Something wrong with a device, injected on demand and cleared again."""

    STUCK = "stuck"
    """Telemetry repeats the same values, as a frozen sensor does."""
    OUT_OF_RANGE = "out_of_range"
    """Physically impossible readings (150 C, 130 % humidity, negative power...)."""
    BATTERY_LOW = "battery_low"
    """Battery below 10 %; clearing it fits a new battery."""
    OFFLINE = "offline"
    """The network is gone: the device drops its connection, keeps measuring into its outbox."""
    SMOKE = "smoke"
    CO = "co"
    """Carbon monoxide well above the alarm level."""
    LEAK = "leak"
    PAPER_OUT = "paper_out"
    """The label roll is empty; clearing it loads a new roll."""
    RIBBON_OUT = "ribbon_out"
    """The ribbon is used up; clearing it loads a new ribbon."""
    JAM = "jam"


_ALL_KINDS = frozenset(DeviceKind)
_OUT_OF_RANGE_KINDS = frozenset({DeviceKind.OCCUPANCY, DeviceKind.ENVIRONMENT, DeviceKind.ENERGY, DeviceKind.SAFETY})
_PRINTER = frozenset({DeviceKind.BADGE_PRINTER})
_SAFETY = frozenset({DeviceKind.SAFETY})

FAULT_KINDS: dict[Fault, frozenset[DeviceKind]] = {
    Fault.STUCK: _ALL_KINDS,
    Fault.OUT_OF_RANGE: _OUT_OF_RANGE_KINDS,
    Fault.BATTERY_LOW: frozenset({DeviceKind.SAFETY, DeviceKind.DOOR_DISPLAY}),
    Fault.OFFLINE: _ALL_KINDS,
    Fault.SMOKE: _SAFETY,
    Fault.CO: _SAFETY,
    Fault.LEAK: _SAFETY,
    Fault.PAPER_OUT: _PRINTER,
    Fault.RIBBON_OUT: _PRINTER,
    Fault.JAM: _PRINTER,
}
"""Which device kinds can have each fault (a door display has no sensor to go out of range)."""


class FaultNotApplicable(ValueError):
    """A fault asked of a device kind that cannot have it."""


def check_applicable(fault: Fault, kind: DeviceKind) -> None:
    """Refuse a fault the kind cannot have, naming the kinds that can."""
    if kind not in FAULT_KINDS[fault]:
        kinds = ", ".join(sorted(k.value for k in FAULT_KINDS[fault]))
        raise FaultNotApplicable(f"a {kind.value} device cannot have the {fault.value} fault (only {kinds})")


def parse_fault(spec: str) -> tuple[str, Fault]:
    """Parse ``DEVICE_ID:FAULT`` as the command line writes it."""
    device_id, sep, name = spec.partition(":")
    if not sep or not device_id:
        raise ValueError(f"{spec!r} is not DEVICE_ID:FAULT")
    try:
        return device_id, Fault(name.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(f.value for f in Fault)
        raise ValueError(f"unknown fault {name!r} (known: {known})") from None
