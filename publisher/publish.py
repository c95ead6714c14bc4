"""Publishing steps: each reads a channel's state, does one thing, and records it.

The WeChat channel runs pending → uploading → drafted → submitting → submitted →
published (or failed, with a reason). The state is saved after every step, so a
run that dies anywhere resumes from the last recorded step instead of redoing it:

- uploads are cached by content hash, so a resumed run never uploads an image twice;
  a cached cover the platform no longer has (deleted in the 素材库: draft/add
  answers 40007) is forgotten and uploaded again, once;
- the draft's media_id is saved before anything is submitted; a run resuming in
  "uploading" first looks in the draft box for a draft with this story's 阅读原文
  URL, so a run killed between draft/add and saving its answer does not leave
  two drafts;
- "submitting" is saved before freepublish/submit or mass/sendall. A run
  resuming there repeats the call with the same key: the same draft media_id (a
  draft is published at most once) or the same clientmsgid (WeChat drops a
  repeat within 24 h). If the platform refuses the repeat, the channel fails
  and editors are asked to look, rather than risk a second article.

What remains: a second draft if the draft box lookup misses (more than 20 newer
drafts, or WeChat slow to list it), one repeated image upload if a run dies
between upload and cache, and a mass send repeated after more than 24 h
in "submitting". None publishes anything twice except the last.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from publisher import images, site
from publisher.ports import FINAL, ChannelState, PublishError, StateStore, WeChatPort
from publisher.story import Story

log = logging.getLogger(__name__)

# freepublish/get publish_status values other than 0 (success) and 1 (publishing).
PUBLISH_FAILURES = {
    2: "原创校验未通过",
    3: "发表失败",
    4: "审核未通过",
    5: "文章已被删除",
    6: "文章已被封禁",
}
CLIENTMSGID_BYTES = 64
# draft/add's answer when thumb_media_id is not, or no longer, a material of the account.
MEDIA_GONE = 40007


def clientmsgid(slug: str) -> str:
    """The mass send's idempotency key: the same for every attempt at one story."""
    key = f"column-{slug}"
    if len(key.encode()) <= CLIENTMSGID_BYTES:
        return key
    return "column-" + hashlib.sha256(slug.encode()).hexdigest()[:40]


# How long a channel waits after a transient failure, by attempt number. The
# caller hands it in (bot.retry.for_column): one retry curve for the whole bot,
# while the publisher stays pure.
Backoff = Callable[[int], timedelta]


def is_due(story: Story, now: datetime) -> bool:
    """Whether the story's time has come."""
    return story.publish_at <= now


# -- the WeChat channel ---------------------------------------------------------------


def advance_wechat(
    story: Story,
    port: WeChatPort,
    store: StateStore,
    *,
    site_url: str,
    now: datetime,
    backoff: Backoff,
) -> ChannelState:
    """Take the story's WeChat channel as far as it goes now; return its state.

    A permanent failure ends in state "failed" with a reason; a transient one is
    recorded (reason, retry_after = now + backoff(attempts)) and raised, leaving
    the state where it was.
    """
    st = store.load(story.slug, "wechat")
    if st.state in FINAL:
        return st
    if st.state == "pending":
        st.mode, st.title, st.publish_at = story.wechat_mode, story.title, story.publish_at
    st.attempts += 1
    _save(store, st, now)
    resuming = st.state
    try:
        if st.state in ("pending", "uploading"):
            _draft(story, port, store, st, site_url, now, resumed=st.state == "uploading")
        if st.state in ("drafted", "submitting"):
            _submit(story, port, store, st, now, resumed=resuming == "submitting")
        if st.state == "submitted":
            _poll(port, st)
            _save(store, st, now)
    except PublishError as exc:
        _record_error(store, st, exc, now, backoff)
    return st


def poll_wechat(
    slug: str, port: WeChatPort, store: StateStore, *, now: datetime, backoff: Backoff
) -> ChannelState:
    """Ask freepublish/get how a submitted article fares; record published or failed."""
    st = store.load(slug, "wechat")
    if st.state != "submitted":
        return st
    try:
        _poll(port, st)
    except PublishError as exc:
        _record_error(store, st, exc, now, backoff)
    _save(store, st, now)
    return st


def _draft(story, port, store, st, site_url, now, resumed: bool) -> None:
    url = site.story_url(site_url, story.slug)
    if resumed:
        # A run died after draft/add may have answered: adopt that draft.
        found = port.find_draft(url)
        if found:
            st.media_id, st.state = found, "drafted"
            _save(store, st, now)
            return
    st.state = "uploading"
    _save(store, st, now)
    st.thumb_media_id = upload(port, store, story.cover, "cover")
    _save(store, st, now)
    from publisher.wechat_html import render_wechat

    content = render_wechat(story, lambda path: upload(port, store, Path(path), "body"))
    article = {
        "title": story.title,
        "author": story.author,
        "digest": story.digest,
        "content": content,
        "content_source_url": url,
        "thumb_media_id": st.thumb_media_id,
        "need_open_comment": int(story.open_comment),
        "only_fans_can_comment": 0,
    }
    try:
        st.media_id = port.add_draft(article)
    except PublishError as exc:
        if exc.code != MEDIA_GONE:
            raise
        # The cached cover was deleted from the 素材库: upload it again, once.
        st.thumb_media_id = upload(port, store, story.cover, "cover", gone=st.thumb_media_id)
        _save(store, st, now)
        article["thumb_media_id"] = st.thumb_media_id
        st.media_id = port.add_draft(article)
    st.state = "drafted"
    _save(store, st, now)


def _submit(story, port, store, st, now, resumed: bool) -> None:
    tag_id = port.veterans_tag_id() if st.mode == "mass" else None
    if st.mode == "mass":
        st.clientmsgid = st.clientmsgid or clientmsgid(story.slug)
    st.state = "submitting"
    _save(store, st, now)
    try:
        if st.mode == "mass":
            st.msg_id = port.mass_send(st.media_id, tag_id, st.clientmsgid)
            # WeChat gives no article URL for a mass send; MASSSENDJOBFINISH reports delivery.
            st.state, st.reason = "published", None
        else:
            st.publish_id, st.msg_data_id = port.submit(st.media_id)
            st.state = "submitted"
    except PublishError as exc:
        if exc.transient or not resumed:
            if not exc.transient:
                st.state = "drafted"  # the platform answered no: nothing went out
            raise
        # Repeating the call was refused: the first one may have gone through.
        raise PublishError(
            exc.code,
            f"重新提交被拒（{exc.message}）：上次提交可能已成功，请在公众平台「发表记录」核对",
            transient=False,
        ) from exc
    _save(store, st, now)


def _poll(port, st: ChannelState) -> None:
    answer = port.publish_status(st.publish_id)
    status = int(answer.get("publish_status", -1))
    if status == 0:
        items = (answer.get("article_detail") or {}).get("item") or []
        urls = [i.get("article_url") for i in items if i.get("article_url")]
        st.article_url = urls[0] if urls else None
        st.state, st.reason, st.retry_after = "published", None, None
    elif status == 1:
        st.reason = "微信正在发表，稍后再查"
    else:
        what = PUBLISH_FAILURES.get(status, "未知状态")
        _fail(st, f"微信{what}（publish_status {status}）", step="submitted")


def _record_error(
    store: StateStore, st: ChannelState, exc: PublishError, now: datetime, backoff: Backoff
) -> None:
    if exc.transient:
        st.reason = f"暂时失败，稍后重试：{exc}"
        st.retry_after = now + backoff(st.attempts)
        _save(store, st, now)
        raise exc
    _fail(st, str(exc.message if exc.code is None else f"{exc.message}（{exc.code}）"))
    _save(store, st, now)


# -- the site channel ------------------------------------------------------------------


def advance_site(
    story: Story,
    stories: Iterable[Story],
    store: StateStore,
    *,
    out_dir: str | Path,
    site_url: str,
    now: datetime,
    stations=None,
    build: Callable | None = None,
) -> ChannelState:
    """Build the story's page (and what it touches) into out_dir; record published or failed."""
    st = store.load(story.slug, "site")
    # The site never shows a story before its time, even when WeChat was told to
    # publish early: the channel stays pending and publish_due builds it then.
    if st.state in FINAL or not is_due(story, now):
        return st
    st.mode, st.title, st.publish_at = story.wechat_mode, story.title, story.publish_at
    st.attempts += 1
    build = build or site.build
    st.state = "uploading"
    _save(store, st, now)
    try:
        build(list(stories), Path(out_dir), site_url, now, changed={story.slug}, stations=stations)
    except Exception as exc:  # any builder fault: the editors must hear of it, not a log
        log.exception("site build for %s failed", story.slug)
        _fail(st, f"网站生成失败：{type(exc).__name__}: {exc}")
        _save(store, st, now)
        return st
    st.state, st.article_url, st.reason = "published", site.story_url(site_url, story.slug), None
    _save(store, st, now)
    return st


# -- shared ----------------------------------------------------------------------------


def upload(
    port: WeChatPort, store: StateStore, path: Path, kind: str, gone: str | None = None
) -> str:
    """Upload a cover ("cover") or body image ("body") once per content; return URL or id.

    gone: a value the platform no longer has; it is forgotten and the image uploaded anew.
    """
    data, filename = _prepared(path, kind)
    digest = hashlib.sha256(data).hexdigest()
    if gone:
        store.forget_media(digest, kind, gone)
    cached = store.cached_media(digest, kind)
    if cached and cached != gone:
        return cached
    if kind == "cover":
        value = port.add_cover(data, filename)
    else:
        value = port.upload_body_image(data, filename)
    store.remember_media(digest, kind, value)
    return value


def _prepared(path: Path, kind: str) -> tuple[bytes, str]:
    """The image's bytes brought under WeChat's limits (publisher.images)."""
    return images.for_cover(path) if kind == "cover" else images.for_body(path)


def reopen(st: ChannelState) -> ChannelState:
    """Make a failed channel eligible again, resuming from what still stands.

    A verdict on a submitted article (e.g. review rejected) starts over with a
    new draft; a failure before that resumes at the step that failed.
    """
    if st.state != "failed":
        return st
    step = st.failed_step or "pending"
    if step in ("pending", "uploading", "submitted"):
        st.state = "pending"
        st.thumb_media_id = st.media_id = st.publish_id = st.msg_data_id = None
        st.article_url = None
    else:
        st.state = step
    st.reason = st.failed_step = st.retry_after = None
    return st


def refuse(
    store: StateStore, slug: str, channel: str, reason: str, story: Story, now
) -> ChannelState:
    """Fail a channel that has not started, without calling anything, with the reason."""
    st = store.load(slug, channel)
    if st.state in FINAL:
        return st
    st.mode, st.title, st.publish_at = story.wechat_mode, story.title, story.publish_at
    _fail(st, reason)
    _save(store, st, now)
    return st


def _fail(st: ChannelState, reason: str, step: str | None = None) -> None:
    st.failed_step = step or st.state
    st.state, st.reason, st.retry_after = "failed", reason, None


def _save(store: StateStore, st: ChannelState, now: datetime) -> None:
    st.updated_at = now
    store.save(st)
