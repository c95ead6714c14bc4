"""Alembic environment: runs on the connection handed over by bot.db.upgrade."""

from alembic import context

from bot import models  # noqa: F401  (registers every table on Base.metadata)
from bot.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `veteranbot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
