"""The topic tree: ``atrium/v1/<site>/<device_id>/<channel>``.

Every topic string in Atrium is built or parsed here, so the hub and the firmware cannot disagree.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from devices.errors import InvalidMessage, RejectReason

ROOT = "atrium/v1"
HUB_NODE = "_hub"
"""Reserved node name for the hub's own topics; device ids can never start with '_'."""

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
SITE_ID_PATTERN = DEVICE_ID_PATTERN
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
_SITE_ID = re.compile(SITE_ID_PATTERN)


class Channel(StrEnum):
    """What a message on a topic is for."""

    TELEMETRY = "telemetry"
    """Periodic readings (device -> hub)."""
    EVENT = "event"
    """Discrete happenings: a button pressed, a print job finished (device -> hub)."""
    STATE = "state"
    """Retained device description and status, sent at birth and on change (device -> hub)."""
    AVAILABILITY = "availability"
    """Retained ``online``; the broker publishes the LWT ``offline`` when the device vanishes."""
    COMMAND = "command"
    """What the hub asks of a device (hub -> device)."""


DEVICE_CHANNELS = (Channel.TELEMETRY, Channel.EVENT, Channel.STATE, Channel.AVAILABILITY)
"""Channels a device publishes on, and so the channels the hub listens to."""

ONLINE = b"online"
OFFLINE = b"offline"


def is_valid_device_id(device_id: str) -> bool:
    """Whether a string can be a device id (lower-case letters, digits and dashes)."""
    return bool(_DEVICE_ID.fullmatch(device_id))


@dataclass(frozen=True, slots=True)
class Topic:
    """One device's channel on one site."""

    site: str
    device_id: str
    channel: Channel

    def __str__(self) -> str:
        return f"{ROOT}/{self.site}/{self.device_id}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> "Topic":
        """Parse a device topic, refusing anything outside the tree with a readable reason."""
        parts = topic.split("/")
        if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
            raise InvalidMessage(RejectReason.BAD_TOPIC, f"topic {topic!r} is not {ROOT}/<site>/<device>/<channel>")
        _, _, site, device_id, channel = parts
        if not _SITE_ID.fullmatch(site):
            raise InvalidMessage(RejectReason.BAD_TOPIC, f"{site!r} is not a valid site id")
        if not is_valid_device_id(device_id):
            raise InvalidMessage(RejectReason.BAD_TOPIC, f"{device_id!r} is not a valid device id")
        try:
            return cls(site, device_id, Channel(channel))
        except ValueError:
            raise InvalidMessage(RejectReason.BAD_TOPIC, f"unknown channel {channel!r}") from None


def is_hub_topic(topic: str) -> bool:
    """Whether ``topic`` belongs to a hub (its availability), not to a device."""
    parts = topic.split("/")
    return len(parts) == 5 and parts[3] == HUB_NODE


def device_topic(site: str, device_id: str, channel: Channel) -> str:
    """The topic a device publishes (or receives commands) on."""
    return str(Topic(site, device_id, channel))


def hub_availability_topic(site: str) -> str:
    """Where the hub announces itself online, with its LWT ``offline``."""
    return f"{ROOT}/{site}/{HUB_NODE}/{Channel.AVAILABILITY.value}"


def hub_notifications_topic(site: str) -> str:
    """Where the hub tells people things (a booking released, a problem reported) for mail or chat bridges."""
    return f"{ROOT}/{site}/{HUB_NODE}/notifications"


def subscriptions(site: str, shared_group: str | None = None) -> list[str]:
    """Topic filters the hub subscribes to: one per device channel (never its own commands)."""
    filters = [f"{ROOT}/{site}/+/{channel.value}" for channel in DEVICE_CHANNELS]
    if shared_group:
        return [f"$share/{shared_group}/{f}" for f in filters]
    return filters
