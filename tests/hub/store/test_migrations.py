"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import hub.store.all_models  # noqa: F401  (the whole schema)
from hub.runtime import Database
from hub.store.models import Base
from tests.databases import ScratchDatabase


def test_a_migrated_database_matches_the_models(database: ScratchDatabase) -> None:
    opened = Database.open(database.url)
    try:
        with opened.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        opened.close()
    assert differences == [], f"models and migrations disagree (write a migration): {differences}"
