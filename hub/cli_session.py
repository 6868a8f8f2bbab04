"""One database transaction for a command-line action, with errors turned into one clear sentence."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from hub.errors import AtriumError


@contextmanager
def database_session(database_url: str | None) -> Iterator[Session]:
    """A session on the settings' database (or ``database_url``), committed when the block ends cleanly."""
    from hub.cli import fail, settings_with
    from hub.runtime import Database

    settings = settings_with(database_url=database_url)
    try:
        database = Database.open(settings.database_url)
    except AtriumError as error:
        raise fail(error) from None
    try:
        with database.sessions.begin() as session:
            yield session
    except AtriumError as error:
        raise fail(error) from None
    finally:
        database.close()
