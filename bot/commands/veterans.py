"""`veteranbot veterans ...`: load paper ledgers into veterans' files."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot.commands.importing import all_or_none
from bot.crypto import cipher
from bot.records.imports.ledger_import import import_file


@click.group("veterans")
def veterans():
    """Veteran ledger commands."""


@veterans.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Create or update files from a ledger (CSV or XLSX, full ID numbers; all rows or none)."""
    counts = all_or_none(lambda session, limits: import_file(session, cipher(), path, limits))
    click.echo(f"档案导入完成：新建 {counts.added}，更新 {counts.updated}，未变 {counts.unchanged}")
    if counts.renumbered:
        lines = "、".join(str(n) for n in counts.renumbered)
        click.echo(f"第 {lines} 行给的统一编号已被占用，已另行编号（见 ledger export）")
