"""`veteranbot ledger export` and `veteranbot requests export`: tables out, every export audited.

Both commands take the same options and do the same thing with different rows,
so one function builds each of them.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import with_appcontext

from bot import db
from bot.crypto import cipher
from bot.records import directory, exports


@click.group("ledger")
def ledger():
    """Ledger (台账) exports."""


@click.group("requests")
def requests_group():
    """Help-request exports."""


def export_command(kind: str, columns: tuple, rows: Callable, done: str, doc: str):
    """A click command exporting `rows(session, station)` as CSV or XLSX, audited as `kind`."""

    @click.command("export", help=doc)
    @click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
    @click.option("--station", "code", help="Only this station and every station under it.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
    @click.option("--actor", help="Who exports, for the audit log (default: the OS user).")
    @with_appcontext
    def export(fmt: str, code: str | None, output: str | None, actor: str | None) -> None:
        session = db.session()
        table = rows(session, find_station(session, code))
        with open_output(fmt, output) as out:
            exports.export(
                session,
                out,
                kind=kind,
                columns=columns,
                rows=table,
                fmt=fmt,
                actor=actor or exports.os_user(),
                detail={"station": code or "", "output": output or "stdout"},
            )
        click.echo(done.format(n=len(table)), err=True)

    return export


ledger.add_command(
    export_command(
        "ledger",
        exports.LEDGER_COLUMNS,
        lambda session, station: exports.ledger_rows(session, cipher(), station),
        "已导出 {n} 份档案（已记入审计日志）",
        "Export veterans' files, with ID numbers masked.",
    )
)
requests_group.add_command(
    export_command(
        "requests",
        exports.REQUEST_COLUMNS,
        exports.request_rows,
        "已导出 {n} 条求助（已记入审计日志）",
        "Export help requests with their status.",
    )
)


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
