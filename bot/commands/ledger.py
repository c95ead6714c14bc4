"""`veteranbot ledger ...`: export the ledger (台账), ID numbers masked, every export audited."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot import db, directory, exports
from bot.crypto import cipher


@click.group("ledger")
def ledger():
    """Ledger (台账) exports."""


@ledger.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--station", "code", help="Only this station and every station under it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@click.option("--actor", help="Who exports, for the audit log (default: the OS user).")
@with_appcontext
def export(fmt: str, code: str | None, output: str | None, actor: str | None) -> None:
    """Export veterans' files, with ID numbers masked."""
    session = db.session()
    station = find_station(session, code)
    rows = exports.ledger_rows(session, cipher(), station)
    with open_output(fmt, output) as out:
        exports.export(
            session,
            out,
            kind="ledger",
            columns=exports.LEDGER_COLUMNS,
            rows=rows,
            fmt=fmt,
            actor=actor or exports.os_user(),
            detail={"station": code or "", "output": output or "stdout"},
        )
    click.echo(f"已导出 {len(rows)} 份档案（已记入审计日志）", err=True)


def find_station(session, code: str | None):
    """The station --station names, or None for all; unknown codes stop the command."""
    if code is None:
        return None
    station = directory.by_code(session, code)
    if station is None:
        raise click.BadParameter(f"没有编号为 {code} 的服务站", param_hint="--station")
    return station


def open_output(fmt: str, output: str | None):
    """The binary stream to write to: the -o file, or stdout for CSV."""
    if output:
        return click.open_file(output, "wb")
    if fmt == "xlsx":
        raise click.UsageError("XLSX 需要用 -o 指定文件")
    # click's stdout wrapper is not closed by `with`, so stdout stays usable.
    return click.open_file("-", "wb")
