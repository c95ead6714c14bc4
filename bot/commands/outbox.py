"""`veteranbot outbox`: messages to people not yet sent and those failed; retry, prune."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from bot import clock, config, db
from bot.wechat import outbox

STATE_NAMES = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}
# Openids are not personal numbers, but a whole column of them says nothing more.
OPENID_SHOWN = 8
# Display columns of state, kind, attempts, next attempt and recipient; the key comes last.
WIDTHS = (8, 8, 6, 13, 12)


@click.group("outbox", invoke_without_command=True)
@click.option(
    "--failed", "failed_limit", default=50, show_default=True, help="At most this many failed."
)
@click.pass_context
@with_appcontext
def outbox_command(ctx: click.Context, failed_limit: int) -> None:
    """Messages to people not yet sent (next attempt first), then the latest failed ones."""
    if ctx.invoked_subcommand is not None:
        return
    for line in outbox_lines(db.session(), clock.utcnow(), failed_limit):
        click.echo(line)


@outbox_command.command("retry")
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@with_appcontext
def retry_command(keys: tuple[str, ...]) -> None:
    """Send failed messages again, by the key `veteranbot outbox` lists (help:42:7).

    Fix the cause first (a template id, a staff member who unfollowed): the
    message goes out at the next sweep, within a minute, under its same key.
    """
    session = db.session()
    refused = 0
    for key in keys:
        row = outbox.reopen(session, key)
        if row is None:
            click.echo(f"{key}：没有这条失败的消息，未改动", err=True)
            refused += 1
        else:
            click.echo(f"{key}：已重新排队，一分钟内重发")
    if refused:
        raise SystemExit(1)


@outbox_command.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=config.OUTBOX_MIN_KEEP_DAYS),
    default=None,
    help="Keep sent messages this many days (default OUTBOX_KEEP_DAYS).",
)
@with_appcontext
def prune_command(days: int | None) -> None:
    """Delete sent messages older than OUTBOX_KEEP_DAYS (beat does it every night)."""
    days = days or current_app.config["OUTBOX_KEEP_DAYS"]
    gone = outbox.prune(db.session(), clock.utcnow() - timedelta(days=days))
    click.echo(f"删除了 {gone} 条 {days} 天前已发送的消息")


def outbox_lines(session: Session, now: datetime, failed_limit: int = 50) -> list[str]:
    """A summary line, then one line per row: state, kind, attempts, next try, to, key, reason."""
    counts = outbox.count_by_state(session)
    summary = "，".join(f"{STATE_NAMES[s]} {counts.get(s, 0)} 条" for s in STATE_NAMES)
    oldest = outbox.oldest_unsent(session)
    if oldest is not None:
        summary += f"；最早一条未发送的已等 {_minutes(now - oldest)}"
    rows = outbox.unsettled(session, failed_limit)
    if not rows:
        return [summary, "没有待发送或失败的消息"]
    lines = [summary, _columns("状态", "种类", "次数", "下次尝试", "收件人", "键")]
    for row in rows:
        when = _moment(row.next_attempt_at) if row.state != "failed" else ""
        shown = (STATE_NAMES[row.state], row.kind, str(row.attempts), when, _short(row.openid))
        lines.append(_columns(*shown, row.key))
        if row.reason:
            lines.append(f"    原因：{row.reason}")
    return lines


def _columns(*cells: str) -> str:
    """Cells padded to WIDTHS by how wide they show: a Chinese character takes two columns."""
    padded = [
        cell + " " * (width - _shown_width(cell))
        for cell, width in zip(cells[:-1], WIDTHS, strict=True)
    ]
    return "".join(padded) + cells[-1]


def _shown_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _short(openid: str) -> str:
    return openid if len(openid) <= OPENID_SHOWN + 2 else openid[:OPENID_SHOWN] + "…"


def _moment(at: datetime) -> str:
    return clock.local(at).strftime("%m-%d %H:%M")


def _minutes(waited) -> str:
    minutes = int(waited.total_seconds() // 60)
    return f"{minutes} 分钟" if minutes < 120 else f"{minutes // 60} 小时"
