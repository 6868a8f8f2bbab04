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


class Unauthenticated(AtriumError):
    """The caller did not say who it is, or its credentials are wrong, expired or revoked."""

    status_code = 401


class TooManyAttempts(AtriumError):
    """The caller is refused for a while after too many failures (sign-in throttling)."""

    status_code = 429

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConfigError(AtriumError):
    """The hub cannot start as configured (broker, database or building file)."""
