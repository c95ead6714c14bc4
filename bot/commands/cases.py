"""`veteranbot requests check-sla` and `veteranbot veterans erase`: the case workflow by hand.

check-sla does in the foreground what beat does every 5 minutes; erase
carries out a veteran's 删除我的信息 until the console's page does it.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from bot import db, queue, store
from bot.commands.ledger import requests_group
from bot.commands.veterans import veterans
from bot.crypto import cipher
from bot.models import Veteran
from bot.records import exports
from bot.requests import escalation, rights
from bot.requests.desk import Desk
from bot.requests.settings import CaseSettings


def _desk() -> Desk:
    settings = CaseSettings.from_config(current_app.config)
    return Desk(db.session(), cipher(), store.client(), settings)


@requests_group.command("check-sla")
@with_appcontext
def check_sla() -> None:
    """Escalate every case not taken (签收) by its deadline to the station above, each once."""
    made: list[Desk] = []

    def desk() -> Desk:
        made.append(_desk())
        return made[-1]

    count = escalation.check_due(desk)
    ids = [i for d in made for i in d.outbox_ids]
    if ids:
        queue.celery_app().send_task("tasks.outbox.deliver", args=[ids])
    click.echo(f"已督办 {count} 件超时未签收的求助")


@veterans.command("erase")
@click.argument("file_no")
@click.option("--actor", help="Who erases, for the audit log (default: the OS user).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase(file_no: str, actor: str | None, yes: bool) -> None:
    """Delete a veteran's personal data at their request, keeping an anonymous tombstone."""
    session = db.session()
    veteran = session.scalar(select(Veteran).where(Veteran.file_no == file_no))
    if veteran is None:
        raise click.ClickException(f"没有统一编号为 {file_no} 的档案")
    if veteran.erased_at is not None:
        raise click.ClickException(f"{file_no} 的个人信息已经删除过了")
    if not yes:
        click.confirm(f"删除 {file_no} 的个人信息（不可恢复）？", abort=True)
    desk = _desk()
    rights.erase_veteran(desk, veteran, actor or exports.os_user())
    if desk.outbox_ids:  # sent once the session commits (bot.queue)
        queue.enqueue("tasks.outbox.deliver", desk.outbox_ids)
    session.commit()
    click.echo(f"已删除 {file_no} 的个人信息，保留匿名档案编号（已记入审计日志）")
