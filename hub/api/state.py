"""What the API needs from the running process: the database, the settings, and the hub when one runs here."""

from dataclasses import dataclass

from hub.runtime import Database, Hub
from hub.settings import Settings


@dataclass
class AppState:
    database: Database
    hub: Hub | None = None
    settings: Settings | None = None
