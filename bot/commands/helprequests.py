"""`veteranbot requests ...`: export help requests, every export audited."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bot import db, exports
from bot.commands.ledger import find_station, open_output


@click.group("requests")
def requests_group():
    """Help-request exports."""


@requests_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--station", "code", help="Only this station and every station under it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
@click.option("--actor", help="Who exports, for the audit log (default: the OS user).")
@with_appcontext
def export(fmt: str, code: str | None, output: str | None, actor: str | None) -> None:
    """Export help requests with their status."""
    session = db.session()
    station = find_station(session, code)
    rows = exports.request_rows(session, station)
    with open_output(fmt, output) as out:
        exports.export(
            session,
            out,
            kind="requests",
            columns=exports.REQUEST_COLUMNS,
            rows=rows,
            fmt=fmt,
            actor=actor or exports.os_user(),
            detail={"station": code or "", "output": output or "stdout"},
        )
    click.echo(f"已导出 {len(rows)} 条求助（已记入审计日志）", err=True)
