"""`veteranbot publish-due`, `publish SLUG` and `queue`: the 风采录 column's schedule by hand."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import clock, db, store
from bot.clock import SHANGHAI
from bot.column import publish_state, publishing
from bot.column.settings import ColumnSettings
from bot.wechat.client import client
from publisher import publish
from publisher.ports import PublishError
from publisher.story import load_all

STATE_NAMES = publish_state.STATE_NAMES


def _arguments() -> tuple:
    """What the column needs: the session, the WeChat and Redis clients, the settings."""
    return db.session(), client(), store.client(), ColumnSettings.from_config(current_app.config)


def _describe(states) -> None:
    for st in states:
        line = f"{st.slug} {st.channel}: {STATE_NAMES.get(st.state, st.state)}"
        if st.article_url and st.state == "published":
            line += f" {st.article_url}"
        if st.reason:
            line += f"（{st.reason}）"
        click.echo(line)


@click.command("publish-due")
@with_appcontext
def publish_due() -> None:
    """Publish every story whose time has come (what beat runs every minute)."""
    states = publishing.publish_due(*_arguments())
    if states is None:
        raise click.ClickException("另一个进程正在发布，稍后再试")
    if not states:
        click.echo("没有到期待发布的稿件")
    _describe(states)


@click.command("publish")
@click.argument("slug")
@click.option("--channel", type=click.Choice(["wechat", "site"]), help="Only this channel.")
@with_appcontext
def publish_one(slug: str, channel: str | None) -> None:
    """Publish one story now, whatever its date; failed channels are tried again."""
    try:
        states = publishing.publish_story(*_arguments(), slug, channel, again=True)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    except PublishError as exc:
        raise click.ClickException(f"微信暂时失败，稍后再试：{exc}") from None
    if not states:
        raise click.ClickException(f"{slug} 正在被另一个进程发布，稍后再试")
    _describe(states)
    if any(st.state == "failed" for st in states):
        raise SystemExit(1)


@click.command("queue")
@with_appcontext
def queue() -> None:
    """The column's schedule: date, title, mode, each channel's state, URL and reasons."""
    for line in queue_lines(clock.now()):
        click.echo(line)


def queue_lines(now) -> list[str]:
    """The schedule table, one story a line, followed by its URL and reasons."""
    loaded = load_all(current_app.config["CONTENT_DIR"])
    saved = publish_state.states(db.session())
    lines = [f"{'日期':<14}{'模式':<9}{'微信':<8}{'网站':<8}稿件"]
    for story in loaded.stories:
        chans = [saved.get((story.slug, c)) for c in ("wechat", "site")]
        names = [STATE_NAMES[st.state] if st else "待发布" for st in chans]
        waiting = all(st is None or st.state == "pending" for st in chans)
        if waiting and not publish.is_due(story, now):
            status = "等待中"
        elif waiting:
            status = "到期"
        else:
            status = ""
        when = story.publish_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        lines.append(
            f"{when:<17}{story.wechat_mode:<10}{names[0]:<8}{names[1]:<8}"
            f"{story.slug} {story.title} {status}".rstrip()
        )
        for label, st in zip(("微信", "网站"), chans, strict=True):
            if st and st.state == "published" and st.article_url:
                lines.append(f"    {label}：{st.article_url}")
            if st and st.reason:
                lines.append(
                    f"    {label}{'失败' if st.state == 'failed' else '备注'}：{st.reason}"
                )
    known = {s.slug for s in loaded.stories}
    for (slug, channel), st in sorted(saved.items()):
        if slug not in known:
            lines.append(f"    {slug} {channel}: {STATE_NAMES[st.state]}（稿件目录已不在）")
    for fault in loaded.faults:
        lines.append(f"    无法读取：{fault}")
    if len(lines) == 1:
        lines.append("（还没有稿件）")
    return lines
