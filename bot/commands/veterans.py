"""`veteranbot veterans ...`: load paper ledgers into veterans' files."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import db
from bot.crypto import cipher
from bot.records.imports.ledger_import import import_file
from bot.records.imports.table_files import ImportFailed, Limits


@click.group("veterans")
def veterans():
    """Veteran ledger commands."""


@veterans.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Create or update files from a ledger (CSV or XLSX, full ID numbers; all rows or none)."""
    cfg = current_app.config
    limits = Limits(cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_FAULTS"])
    session = db.session()
    try:
        counts = import_file(session, cipher(), path, limits)
    except ImportFailed as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"档案导入完成：新建 {counts.added}，更新 {counts.updated}")
    if counts.renumbered:
        lines = "、".join(str(n) for n in counts.renumbered)
        click.echo(f"第 {lines} 行给的统一编号已被占用，已另行编号（见 ledger export）")
