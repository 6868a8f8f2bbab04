"""What the API needs from the running process: the database, the settings, and the hub when one runs here."""

from dataclasses import dataclass, field
from functools import cached_property

from hub.runtime import Database, Hub
from hub.services.access_tokens import token_key
from hub.services.login_throttle import LoginThrottle
from hub.services.site_secret import site_secret
from hub.settings import Settings

ADDRESS_FAILURES_PER_NAME_FAILURE = 4
"""An address (perhaps a whole office behind one NAT) may fail this many times as often as one name."""


@dataclass
class AppState:
    database: Database
    hub: Hub | None = None
    settings: Settings = field(default_factory=Settings)
    names_throttle: LoginThrottle = field(init=False)
    addresses_throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        failures, window = self.settings.login_max_failures, self.settings.login_window_s
        self.names_throttle = LoginThrottle(max_failures=failures, window_s=window)
        self.addresses_throttle = LoginThrottle(
            max_failures=failures * ADDRESS_FAILURES_PER_NAME_FAILURE, window_s=window
        )

    @cached_property
    def token_key(self) -> bytes:
        """The key that signs people's access tokens, read once from the site secret."""
        return token_key(site_secret(self.settings))
