"""Telling the column's editors: failures, refusals, and an empty week ahead.

Each notice is an outbox row per editor (bot.wechat.outbox), keyed by what it
says and the day (or, for the weekly reminder, the ISO week): told once, and a
rerun the same day writes nothing new. A channel's failure is told in the
transaction that saves it (channel_failed, handed to the state store), so a
crash cannot keep the one without the other; the rows are delivered after the
commit, and what waits is swept.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import clock
from bot.clock import SHANGHAI
from bot.column.publish_state import states
from bot.column.settings import ColumnSettings
from bot.wechat import outbox
from bot.wechat.client import WeChatClient
from publisher.ports import ChannelState
from publisher.story import load_all

log = logging.getLogger(__name__)
_PENDING = ChannelState(slug="", channel="")
DIGEST_CHARS = 12
# The most of a reason the link carries (in its signed token): a page of faults.
REASON_CHARS = 2000


CHANNEL_LABELS = {"wechat": "微信", "site": "网站"}


def channel_failed(settings: ColumnSettings) -> Callable[[Session, ChannelState], list[int]]:
    """The state store's on_failed: write the failure's notice rows, no commit; their ids."""

    def write(session: Session, st: ChannelState) -> list[int]:
        label = CHANNEL_LABELS.get(st.channel, st.channel)
        return _rows(session, settings, st.title or st.slug, label, st.reason or "", st.slug)

    return write


def deliver(session: Session, wechat: WeChatClient, ids: list[int]) -> int:
    """Send notices already committed (their ids); how many went out now."""
    return outbox.deliver(session, wechat, ids).sent if ids else 0


def tell_editors(
    session: Session,
    wechat: WeChatClient,
    settings: ColumnSettings,
    title: str,
    channel: str,
    reason: str,
    slug: str = "",
    key: str = "",
) -> int:
    """Send the editor notice to every EDITOR_OPENIDS openid, once per key; count sent now.

    key names the notice (editor:<key>:<openid>); by default the day and a
    digest of what it says, so the same failure reported again that day is not
    sent again.
    """
    ids = notice_rows(session, settings, title, channel, reason, slug, key)
    return outbox.deliver(session, wechat, ids).sent if ids else 0


def notice_rows(
    session: Session,
    settings: ColumnSettings,
    title: str,
    channel: str,
    reason: str,
    slug: str = "",
    key: str = "",
) -> list[int]:
    """Write the notice's outbox rows, committing them with what the session holds; their ids.

    For callers that must not wait on WeChat (the webhook): a task or the sweep delivers.
    """
    ids = _rows(session, settings, title, channel, reason, slug, key)
    session.commit()
    return ids


def weekly_reminder(
    session: Session,
    wechat: WeChatClient,
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
    end = (week.astimezone(SHANGHAI)).strftime("%m-%d")
    reason = f"未来 7 天（至 {end}）没有排期的稿件，请尽快安排"
    ids = notice_rows(session, settings, "本周风采录", "排期", reason, key=f"week:{monday}")
    if ids:
        outbox.deliver(session, wechat, ids)
    return bool(ids)


def _rows(
    session: Session,
    settings: ColumnSettings,
    title: str,
    channel: str,
    reason: str,
    slug: str = "",
    key: str = "",
) -> list[int]:
    """Add the notice's rows not yet written, one per editor, in the caller's transaction."""
    template = settings.editor_template
    if not template.template_id or not settings.editor_openids:
        log.error("editors not told (%s %s: %s): no template or editors set", slug, channel, reason)
        return []
    # A field shows 20 characters: the whole reason is behind the notice's link.
    values = {"title": title, "channel": channel, "reason": reason, "time": clock.now()}
    data = template.data(values)
    url = settings.links.url(
        kind="editor", title=title, channel=channel, reason=reason[:REASON_CHARS], slug=slug
    )
    if not key:
        said = "\n".join((title, channel, reason, slug)).encode()
        key = f"{clock.today().isoformat()}:{hashlib.sha256(said).hexdigest()[:DIGEST_CHARS]}"
    added = [
        outbox.add(session, f"editor:{key}:{openid}", openid, template.template_id, data, url)
        for openid in settings.editor_openids
    ]
    return [row_id for row_id in added if row_id is not None]
