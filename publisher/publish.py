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
  resuming there may be repeating a call that went through:
  - a free publish looks for the article first, in freepublish/batchget by its
    阅读原文 URL, and only then submits. A published draft has left the draft
    box, so a submit of it is refused (40007): the lost submit went through and
    the article is not listed yet, so the lookup is retried later, and after
    GONE_DRAFT_ATTEMPTS the channel fails for a person to check;
  - a mass send repeats the call with the same clientmsgid: WeChat drops a
    repeat within 24 h, answering 45065 with the first msg_id (a repeat within a
    minute gets 45066, "retry later": retried no sooner than the error's wait).
  Any other refusal of a repeat fails the channel and editors are asked to
  look, rather than risk a second article.
- draft/add refusing need_open_comment (88000: the account has no comments) is
  retried once without comments, and the editors are told.

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
# draft/add's answer when thumb_media_id is not, or no longer, a material of the
# account; freepublish/submit's when the draft has left the draft box (published).
MEDIA_GONE = 40007
# draft/add's answer to need_open_comment=1 on an account without comments.
NO_COMMENTS = 88000
COMMENTS_OFF = "公众号没有留言功能（88000），这篇已关闭留言发表"
# A resumed free publish whose draft is gone looks for the article this many
# attempts in all (on the column's retry curve, about two hours) before giving up.
GONE_DRAFT_ATTEMPTS = 8


def clientmsgid(slug: str, again: int = 0) -> str:
    """The mass send's idempotency key: the same for every attempt at one story.

    again: a send started over after WeChat reported the last one undelivered
    needs a new key (the old one would be dropped as a repeat for 24 h).
    """
    key = f"column-{slug}" + (f"-{again}" if again else "")
    if len(key.encode()) <= CLIENTMSGID_BYTES:
        return key
    digest = hashlib.sha256(slug.encode()).hexdigest()[:40]
    return "column-" + digest + (f"-{again}" if again else "")


# How long a channel waits after a transient failure, by attempt number. The
# caller hands it in (bot.retry.for_column): one retry curve for the whole bot,
# while the publisher stays pure.
Backoff = Callable[[int], timedelta]
# Tells the editors something they should know although nothing failed (comments
# switched off); the caller hands it in, as it does the backoff.
Tell = Callable[[str], None]


def _untold(_notice: str) -> None:
    log.warning("an editor notice with nowhere to go: %s", _notice)


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
    tell: Tell = _untold,
) -> ChannelState:
    """Take the story's WeChat channel as far as it goes now; return its state.

    A permanent failure ends in state "failed" with a reason; a transient one is
    recorded (reason, retry_after = now + backoff(attempts), or the error's wait
    if longer) and raised, leaving the state where it was. tell(notice) is called
    for what the editors should hear although the channel goes on.
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
            resumed = st.state == "uploading"
            _draft(story, port, store, st, site_url, now, resumed=resumed, tell=tell)
        if st.state in ("drafted", "submitting"):
            url = site.story_url(site_url, story.slug)
            _submit(story, port, store, st, now, url, resumed=resuming == "submitting")
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


def _draft(story, port, store, st, site_url, now, resumed: bool, tell: Tell) -> None:
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
    st.media_id = _add_draft(story, port, store, st, article, now, tell)
    st.state = "drafted"
    _save(store, st, now)


def _add_draft(story, port, store, st, article: dict, now, tell: Tell) -> str:
    """draft/add, mending once each refusal we can do without; the draft's media_id."""
    mended: set[int] = set()
    while True:
        try:
            return port.add_draft(article)
        except PublishError as exc:
            if exc.code in mended:
                raise
            mended.add(exc.code)
            if exc.code == MEDIA_GONE:
                # The cached cover was deleted from the 素材库: upload it again.
                gone = st.thumb_media_id
                st.thumb_media_id = upload(port, store, story.cover, "cover", gone=gone)
                _save(store, st, now)
                article["thumb_media_id"] = st.thumb_media_id
            elif exc.code == NO_COMMENTS and article.get("need_open_comment"):
                # The account has no comments: publish without, and say so.
                article["need_open_comment"] = 0
                tell(COMMENTS_OFF)
            else:
                raise


def _submit(story, port, store, st, now, url: str, resumed: bool) -> None:
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
            # The last submit may have gone through with its answer lost: then the
            # article is (or soon will be) listed, and the draft is gone.
            found = port.find_published(url) if resumed else None
            if found:
                st.article_url, st.state, st.reason, st.retry_after = found, "published", None, None
            else:
                st.publish_id, st.msg_data_id = port.submit(st.media_id)
                st.state = "submitted"
    except PublishError as exc:
        if exc.transient or not resumed:
            if not exc.transient:
                st.state = "drafted"  # the platform answered no: nothing went out
            raise
        if st.mode != "mass" and exc.code == MEDIA_GONE:
            _draft_gone(st)
        # Repeating the call was refused: the first one may have gone through.
        raise PublishError(
            exc.code,
            f"重新提交被拒（{exc.message}）：上次提交可能已成功，请在公众平台「发表记录」核对",
            transient=False,
        ) from exc
    _save(store, st, now)


def _draft_gone(st: ChannelState) -> None:
    """A resumed submit found its draft published and the article not listed (yet)."""
    if st.attempts < GONE_DRAFT_ATTEMPTS:
        raise PublishError(
            MEDIA_GONE,
            "上次提交的回答丢失：草稿已被发表，已发表列表里还没有这篇，稍后再查",
            transient=True,
        )
    # The draft is spent: a retry by hand (veteranbot publish SLUG) must draft anew.
    st.state = "uploading"
    raise PublishError(
        MEDIA_GONE,
        "上次提交的回答丢失：草稿已被发表，但已发表列表里一直没有这篇。请在公众平台「发表记录」"
        f"核对；确实没有时 veteranbot publish {st.slug} 会重新建草稿发表",
        transient=False,
    )


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
        st.retry_after = now + max(backoff(st.attempts), exc.wait)
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
    if st.mode == "mass" and step == "submitted":
        # WeChat reported the send undelivered: a new send needs a new clientmsgid.
        st.clientmsgid = clientmsgid(st.slug, again=st.attempts)
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
