"""The one error a device message can fail with, and the reasons it is counted under."""

from enum import StrEnum


class RejectReason(StrEnum):
    """Why the hub refused a message; each is counted separately."""

    BAD_TOPIC = "bad_topic"
    OVERSIZE = "oversize"
    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_SCHEMA = "invalid_schema"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_MISMATCH = "device_mismatch"
    KIND_MISMATCH = "kind_mismatch"
    RATE_LIMITED = "rate_limited"
    """The device sent more than its rate limit allows (see the hub's ``device_rate_per_s``)."""
    UNSTORABLE = "unstorable"
    """Passed every check but the database would not take it (a bug in the hub): kept as a dead letter."""


class InvalidMessage(ValueError):
    """A device message that cannot be accepted, with a reason a person can read."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
