"""`veteranbot stations ...`: import the station directory."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import db
from bot.records.imports.station_import import import_file
from bot.records.imports.table_files import ImportFailed, Limits


@click.group("stations")
def stations():
    """Station directory commands."""


@stations.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Add or update stations from a CSV file (all rows or none)."""
    cfg = current_app.config
    limits = Limits(cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_FAULTS"])
    session = db.session()
    try:
        counts = import_file(session, path, limits)
    except ImportFailed as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"站点导入完成：新增 {counts.added}，更新 {counts.updated}，未变 {counts.unchanged}")
