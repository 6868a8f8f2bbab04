"""The last roll call the kiosk fetched, kept on disk so it can still be shown when the hub is unreachable.

In an evacuation the hub may be the first thing to go; the list of who is on site must not go with
it. The file holds only the newest list (each save replaces it), written atomically so a power cut
mid-write leaves the previous list, not half of one.
"""

import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from kiosk.hub_client import RollCall

log = logging.getLogger(__name__)


class CachedRollCall(BaseModel):
    """A roll call and when the kiosk received it."""

    model_config = ConfigDict(frozen=True)

    saved_at: datetime
    rollcall: RollCall


class RollCallCache:
    """One JSON file holding the newest roll call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, rollcall: RollCall, *, now: datetime) -> None:
        """Replace the kept list with ``rollcall``; a failure to write is logged, not raised: the list still shows."""
        data = CachedRollCall(saved_at=now, rollcall=rollcall).model_dump_json(indent=1)
        temporary: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("cannot keep the roll call in %s: %s", self.path, error)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)

    def load(self) -> CachedRollCall | None:
        """The kept list, or None when there is none or the file is unreadable."""
        try:
            return CachedRollCall.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError) as error:
            log.warning("ignoring the kept roll call in %s: %s", self.path, error)
            return None
