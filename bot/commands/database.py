"""`veteranbot db ...`: schema migrations."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo

from bot import db as database
from bot.config import prepare_instance, read_environment


@click.group()
def db():
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def upgrade(info: ScriptInfo, revision: str) -> None:
    """Create the instance folder and keys on first use, then migrate up to REVISION."""
    # The one step besides `run` that writes key files: the app cannot load without them.
    prepare_instance(read_environment())
    with info.load_app().app_context():
        database.upgrade(database.engine(), revision)
    click.echo(f"database at {revision}")
