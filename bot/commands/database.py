"""`veteranbot db ...`: schema migrations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot import db as database


@click.group()
def db():
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def upgrade(revision: str) -> None:
    """Apply the Alembic migrations up to REVISION."""
    database.upgrade(database.engine(), revision)
    click.echo(f"database at {revision}")
