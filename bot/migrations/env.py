"""Alembic environment: runs on the connection handed over by bot.db (upgrade, revision)."""

from alembic import context

from bot import models  # noqa: F401  (registers every table on Base.metadata)
from bot.db import MIGRATION_OPTIONS, Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `veteranbot db upgrade` or `db revision`")

context.configure(connection=connection, target_metadata=Base.metadata, **MIGRATION_OPTIONS)
with context.begin_transaction():
    context.run_migrations()
