"""`veteranbot veterans ...`: load paper ledgers into veterans' files; tag their followers."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import db
from bot.commands.importing import all_or_none
from bot.crypto import cipher
from bot.records.imports.ledger_import import import_file
from bot.records.tagging import tag_pending
from bot.wechat import client as wechat
from bot.wechat.errors import WeChatError


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


@veterans.command("tag")
@with_appcontext
def tag_command() -> None:
    """Tag every following veteran still missing a tag (退役军人 and their county's)."""
    try:
        done, left = tag_pending(db.session(), wechat.client(), current_app.config["VETERAN_TAG"])
    except WeChatError as exc:
        raise click.ClickException(f"打标签失败：{exc.reason}") from None
    click.echo(f"补打标签 {done} 人" + (f"，仍有 {left} 人没打上（原因见日志）" if left else ""))
