"""`veteranbot stations ...`: import the station directory."""

from __future__ import annotations

import click
import redis
from flask.cli import with_appcontext

from bot import db, store
from bot.records import directory
from bot.records.imports.station_import import import_file
from bot.records.imports.table_files import ImportFailed


@click.group("stations")
def stations():
    """Station directory commands."""


@stations.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Add or update stations from a CSV file (all rows or none)."""
    session = db.session()
    try:
        counts = import_file(session, path)
    except ImportFailed as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"站点导入完成：新增 {counts.added}，更新 {counts.updated}，未变 {counts.unchanged}")
    try:
        # After the commit: a web worker that refills its cache at once reads the new rows.
        directory.drop_cards(store.client())
    except redis.RedisError:
        raise click.ClickException(
            "站点已导入，但 Redis 不可用，网页进程里缓存的服务站信息没有刷新：请重启 web 进程"
        ) from None
