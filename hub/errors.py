"""One error family for the hub: services raise these, the API and CLI translate them once."""


class AtriumError(Exception):
    """Base of every error the hub reports to a person."""

    status_code = 400


class NotFound(AtriumError):
    """The thing asked for does not exist."""

    status_code = 404


class Invalid(AtriumError):
    """The request is understood but breaks a rule (a time in the past, a room too small, a malformed file)."""

    status_code = 422


class Conflict(AtriumError):
    """The request clashes with the current state."""

    status_code = 409


class Forbidden(AtriumError):
    """The caller may not do this."""

    status_code = 403


class ConfigError(AtriumError):
    """The hub cannot start as configured (broker, database or building file)."""
