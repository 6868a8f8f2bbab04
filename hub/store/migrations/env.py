"""Alembic environment: runs on the connection the hub hands over (see hub.store.db.migrate)."""

from alembic import context

import hub.store.all_models  # noqa: F401  (every table belongs to the schema)
from hub.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through hub.store.db.migrate(), which provides the connection")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
