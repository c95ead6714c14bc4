"""`veteranbot greetings plan | send | report | set-date`: holiday greetings by hand."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import clock, db, store
from bot.care import greetings, greetings_send
from bot.care.occasions import OCCASIONS
from bot.care.plan import plan_lines
from bot.care.settings import CareSettings
from bot.wechat.client import client
from bot.wechat.errors import WeChatError

STATE_NAMES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "finished": "已送达",
    "undelivered": "未送达",
    "failed": "失败待重试",
    "refused": "未发送",
}


def _day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD") from None


def _this_year() -> int:
    return clock.today().year


def _settings() -> CareSettings:
    return CareSettings.from_config(current_app.config)


@click.group("greetings")
def greetings_group() -> None:
    """Holiday greetings: the year's plan, sending, outcomes, dates set by the prefecture."""


@greetings_group.command("plan")
@click.option("--year", type=click.IntRange(1900, 2100), help="Default: this year.")
@with_appcontext
def plan(year: int | None) -> None:
    """Each active occasion's date, the mass sends per month, quota warnings, suggestions."""
    year = year or _this_year()
    for line in plan_lines(db.session(), _settings(), year):
        click.echo(line)


@greetings_group.command("send")
@click.argument("key", type=click.Choice(list(OCCASIONS)))
@click.option("--date", "day", required=True, callback=_day, help="The occasion's day, YYYY-MM-DD.")
@click.option("--dry-run", is_flag=True, help="Print each tag's text; send nothing.")
@click.option("--force", is_flag=True, help="Send now although --date is not today.")
@with_appcontext
def send(key: str, day: date, dry_run: bool, force: bool) -> None:
    """Send an occasion's greeting now (tags that already had it get nothing more)."""
    today = clock.today()
    # A mass send cannot be recalled from phones: a greeting for another day,
    # sent today, reaches every veteran of the tag on the wrong day.
    if not dry_run and day != today and not force:
        raise click.ClickException(
            f"--date {day} 不是今天（{today}），现在发送，老兵今天就会收到这条问候。"
            "只想看看内容，请加 --dry-run；确实要现在发，请加 --force。"
        )
    try:
        if dry_run:
            prepared, notes = greetings_send.prepare(db.session(), client(), _settings(), key, day)
            for target, text in prepared:
                cid = greetings.clientmsgid(key, day.year, target.tag_id)
                click.echo(f"[{target.tag_name} tag_id={target.tag_id}] clientmsgid={cid}")
                click.echo(text)
                click.echo("")
            click.echo(f"试运行：{len(prepared)} 个标签，什么也没有发送")
        else:
            wiring = (db.session_factory(), client(), store.client(), _settings())
            outcomes, notes = greetings_send.send_occasion(*wiring, key, day, reopen=True)
            for o in outcomes:
                line = f"{o.tag_name}: {STATE_NAMES.get(o.state, o.state)}"
                line += f" msg_id={o.msg_id}" if o.msg_id else ""
                line += f"（{o.reason}）" if o.reason else ""
                line += "（另一进程正在发送）" if o.busy else ""
                click.echo(line)
    except WeChatError as exc:
        raise click.ClickException(f"微信接口失败，稍后再试：{exc}") from None
    for note in notes:
        click.echo(f"注：{note}")
    if not dry_run and any(o.state in ("failed", "refused") for o in outcomes):
        raise SystemExit(1)


@greetings_group.command("report")
@click.option("--year", type=click.IntRange(1900, 2100), help="Default: every year.")
@with_appcontext
def report(year: int | None) -> None:
    """Every campaign: occasion, tag, state, msg_id, MASSSENDJOBFINISH counts, reason."""
    rows = greetings_send.campaigns(db.session(), year)
    if not rows:
        click.echo("还没有问候群发记录")
    for row in rows:
        name = OCCASIONS[row.occasion].name if row.occasion in OCCASIONS else row.occasion
        line = f"{row.year}  {row.occasion}  {name}  {row.tag_name}({row.tag_id})  "
        line += STATE_NAMES.get(row.state, row.state)
        line += f"  msg_id={row.msg_id}" if row.msg_id else ""
        if row.total_count is not None:
            line += (
                f"  总数 {row.total_count} 过滤后 {row.filter_count} "
                f"成功 {row.sent_count} 失败 {row.error_count}（{row.finish_status}）"
            )
        line += f"  尝试 {row.attempts} 次" if row.attempts > 1 else ""
        line += f"  原因：{row.reason}" if row.reason else ""
        click.echo(line)


@greetings_group.command("set-date")
@click.argument("key", type=click.Choice([k for k, o in OCCASIONS.items() if o.set_each_year]))
@click.argument("day", callback=_day)
@with_appcontext
def set_date(key: str, day: date) -> None:
    """Record the date the prefecture set this year (彝历新年)."""
    greetings.store_date(db.session(), key, day)
    click.echo(f"{OCCASIONS[key].name} {day.year} 年：{day.isoformat()}")
