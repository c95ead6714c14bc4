"""Telling the column's editors: failures, refusals, and an empty week ahead."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from sqlalchemy.orm import Session

from bot import clock
from bot.clock import SHANGHAI
from bot.column.publish_state import states
from bot.column.settings import ColumnSettings
from bot.wechat import templates
from bot.wechat.client import WeChatClient
from bot.wechat.errors import WeChatError
from publisher.ports import ChannelState
from publisher.story import load_all

log = logging.getLogger(__name__)
_PENDING = ChannelState(slug="", channel="")


def tell_editors(
    wechat: WeChatClient,
    settings: ColumnSettings,
    title: str,
    channel: str,
    reason: str,
    slug: str = "",
) -> int:
    """Send the editor notice to every EDITOR_OPENIDS openid; return how many got it."""
    template = settings.editor_template
    if not template or not settings.editor_openids:
        log.error("editors not told (%s %s: %s): no template or editors set", slug, channel, reason)
        return 0
    # A field shows 20 characters: the whole reason is in `veteranbot queue`.
    data = templates.fields(
        first="风采录需要处理",
        keyword1=title,
        keyword2=channel,
        keyword3=reason,
        remark=f"veteranbot queue 查看；修正后 veteranbot publish {slug}".strip(),
    )
    told = 0
    for openid in settings.editor_openids:
        try:
            wechat.send_template(openid, template, data)
            told += 1
        except WeChatError as exc:  # one editor's failure must not silence the others
            log.error("telling editor %s failed: %s", openid, exc)
    return told


def weekly_reminder(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: ColumnSettings,
    now: datetime | None = None,
) -> bool:
    """Tell the editors when nothing is queued for the coming 7 days (once per week)."""
    now = now or clock.now()
    loaded = load_all(settings.content_dir).stories
    saved = states(session)
    week = now + timedelta(days=7)
    queued = [
        s
        for s in loaded
        if now <= s.publish_at < week and saved.get((s.slug, "wechat"), _PENDING).state != "failed"
    ]
    if queued:
        return False
    monday = now.astimezone(SHANGHAI).strftime("%G-W%V")
    if not r.set(f"publish:reminder:{monday}", "1", nx=True, ex=8 * 86400):
        return False
    end = (week.astimezone(SHANGHAI)).strftime("%m-%d")
    tell_editors(
        wechat, settings, "本周风采录", "排期", f"未来 7 天（至 {end}）没有排期的稿件，请尽快安排"
    )
    return True
