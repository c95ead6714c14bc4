"""`veteranbot stations ...`: import the station directory."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot.commands.importing import all_or_none
from bot.records.imports.station_import import import_file


@click.group("stations")
def stations():
    """Station directory commands."""


@stations.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Add or update stations from a CSV file (all rows or none)."""
    counts = all_or_none(lambda session, limits: import_file(session, path, limits))
    click.echo(f"站点导入完成：新增 {counts.added}，更新 {counts.updated}，未变 {counts.unchanged}")
