"""What the API needs from the running process: the database, and the hub when one runs here."""

from dataclasses import dataclass

from hub.runtime import Database, Hub


@dataclass
class AppState:
    database: Database
    hub: Hub | None = None
