"""The bot's side of the column: WeChat port, database state, Redis locks, quota, editors.

publisher/ does the steps; this module hands it what it needs and decides what
is due. Two locks keep two runs apart: `publish:due` around the whole scan
(two beats firing together: the second does nothing) and `publish:story:<slug>`
around one story (a beat scan and `veteranbot publish SLUG` at once). Each lock
is renewed every time a step is saved, and the state's version check stops a
run that outlived its lock anyway.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot import db, store
from bot.models import MediaUpload, PublishState, Station
from bot.wechat.client import WeChatClient, client
from bot.wechat.errors import WeChatError
from publisher import publish
from publisher.ports import CHANNELS, FINAL, ChannelState, PublishError, StateConflict
from publisher.story import SHANGHAI, Story, load_all

log = logging.getLogger(__name__)
LOCK_SECONDS = 600
# Codes the platform will not take back today or ever: fail the channel and tell editors.
PERMANENT = {
    45009: "接口调用已达今日上限",
    48001: "公众号没有此接口权限（未认证账号不能发布）",
    45065: "相同 clientmsgid 已群发过",
}
IMAGE_TYPES = {".png": "image/png"}


# -- the WeChat port -------------------------------------------------------------------


class ClientPort:
    """publisher.ports.WeChatPort over the shared-token client."""

    def __init__(self, wechat: WeChatClient, veteran_tag: str):
        self.wechat = wechat
        self.veteran_tag = veteran_tag

    def _call(self, work):
        try:
            return work()
        except WeChatError as exc:
            # 45009 counts as transient for single messages, but a publish retried
            # all day burns tomorrow's quota too: the editors decide instead.
            transient = exc.transient and exc.errcode not in PERMANENT
            text = PERMANENT.get(exc.errcode, f"{exc.path}: {exc.errmsg}")
            raise PublishError(exc.errcode, text, transient) from exc

    def _files(self, data: bytes, filename: str) -> dict:
        mime = IMAGE_TYPES.get(filename[filename.rfind(".") :].lower(), "image/jpeg")
        return {"media": (filename, data, mime)}

    def upload_body_image(self, data: bytes, filename: str) -> str:
        """media/uploadimg: the image's mmbiz URL."""
        files = self._files(data, filename)
        return self._call(lambda: self.wechat.post("cgi-bin/media/uploadimg", files=files))["url"]

    def add_cover(self, data: bytes, filename: str) -> str:
        """material/add_material?type=image: the permanent material's media_id."""
        files = self._files(data, filename)
        path = "cgi-bin/material/add_material"
        return self._call(lambda: self.wechat.post(path, files=files, type="image"))["media_id"]

    def add_draft(self, article: dict) -> str:
        """draft/add: the draft's media_id."""
        body = {"articles": [article]}
        return self._call(lambda: self.wechat.post("cgi-bin/draft/add", body))["media_id"]

    def find_draft(self, content_source_url: str) -> str | None:
        """The newest of the 20 latest drafts whose 阅读原文 is this URL."""
        body = {"offset": 0, "count": 20, "no_content": 1}
        answer = self._call(lambda: self.wechat.post("cgi-bin/draft/batchget", body))
        for item in answer.get("item", []):
            news = (item.get("content") or {}).get("news_item") or []
            if any(n.get("content_source_url") == content_source_url for n in news):
                return item["media_id"]
        return None

    def submit(self, media_id: str) -> tuple[str, str]:
        """freepublish/submit: (publish_id, msg_data_id)."""
        body = {"media_id": media_id}
        answer = self._call(lambda: self.wechat.post("cgi-bin/freepublish/submit", body))
        return str(answer["publish_id"]), str(answer.get("msg_data_id", ""))

    def publish_status(self, publish_id: str) -> dict:
        """freepublish/get."""
        body = {"publish_id": publish_id}
        return self._call(lambda: self.wechat.post("cgi-bin/freepublish/get", body))

    def mass_send(self, media_id: str, tag_id: int, clientmsgid: str) -> str:
        """message/mass/sendall of the draft to a tag; "" when WeChat says it was sent before."""
        body = {
            "filter": {"is_to_all": False, "tag_id": tag_id},
            "mpnews": {"media_id": media_id},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid,
        }

        def send() -> str:
            try:
                answer = self.wechat.post("cgi-bin/message/mass/sendall", body)
            except WeChatError as exc:
                if exc.errcode == 45065:  # this clientmsgid went out within 24 h: it is sent
                    return ""
                raise
            return str(answer.get("msg_id", ""))

        return self._call(send)

    def veterans_tag_id(self) -> int:
        """The veterans' tag, created if missing."""
        return self._call(lambda: self.wechat.ensure_tag(self.veteran_tag))


# -- the state store -------------------------------------------------------------------

_COLUMNS = [f.name for f in fields(ChannelState) if f.name not in ("version", "hint")]
_TIMES = ("publish_at", "retry_after", "updated_at")


def _to_db(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(tzinfo=None) if value else None


def _from_db(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value else None


def _state(row: PublishState) -> ChannelState:
    st = ChannelState(slug=row.slug, channel=row.channel, version=row.version, hint=row.hint)
    for name in _COLUMNS:
        value = getattr(row, name)
        setattr(st, name, _from_db(value) if name in _TIMES else value)
    return st


class DbStateStore:
    """publisher.ports.StateStore over the app's database; each save commits."""

    def __init__(self, session, lock=None):
        self.session = session
        self.lock = lock

    def load(self, slug: str, channel: str) -> ChannelState:
        """The saved state, or a fresh pending one."""
        # End any open read transaction: SQLite would otherwise show its old snapshot.
        self.session.commit()
        row = self.session.scalar(
            select(PublishState)
            .where(PublishState.slug == slug, PublishState.channel == channel)
            .execution_options(populate_existing=True)
        )
        return _state(row) if row else ChannelState(slug=slug, channel=channel)

    def save(self, st: ChannelState) -> None:
        """Insert or update where the version is still the one read; commit."""
        values = {n: _to_db(getattr(st, n)) if n in _TIMES else getattr(st, n) for n in _COLUMNS}
        try:
            if st.version == 0:
                self.session.add(PublishState(**values, version=1))
                self.session.commit()
            else:
                done = self.session.execute(
                    update(PublishState)
                    .where(
                        PublishState.slug == st.slug,
                        PublishState.channel == st.channel,
                        PublishState.version == st.version,
                    )
                    .values(**values, version=st.version + 1)
                )
                if done.rowcount != 1:
                    raise StateConflict(f"{st.slug}/{st.channel} was saved by another run")
                self.session.commit()
        except (IntegrityError, StateConflict) as exc:
            self.session.rollback()
            raise StateConflict(f"{st.slug}/{st.channel} was saved by another run") from exc
        st.version += 1
        if self.lock is not None:
            self.lock.reacquire()

    def cached_media(self, sha256: str, kind: str) -> str | None:
        """A previous upload of the same bytes."""
        row = self.session.get(MediaUpload, (sha256, kind))
        return row.value if row else None

    def remember_media(self, sha256: str, kind: str, value: str) -> None:
        """Record an upload; a concurrent identical record is fine."""
        self.session.add(MediaUpload(sha256=sha256, kind=kind, value=value))
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()


def states(session) -> dict[tuple[str, str], ChannelState]:
    """Every saved channel state, by (slug, channel)."""
    rows = session.scalars(select(PublishState)).all()
    return {(r.slug, r.channel): _state(r) for r in rows}


# -- running the schedule --------------------------------------------------------------


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def publish_due(now: datetime | None = None) -> list[ChannelState] | None:
    """Publish every due story's open channels; None when another run holds the scan lock."""
    now = now or now_utc()
    lock = store.client().lock("publish:due", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("publish_due: another run is scanning; nothing to do")
        return None
    try:
        loaded = load_all(current_app.config["CONTENT_DIR"]).stories
        saved = states(db.session())
        done = []
        for story in loaded:
            channels = [c for c in CHANNELS if _open(saved.get((story.slug, c)), now)]
            if publish.is_due(story, now) and channels:
                done += _guarded(story, loaded, channels, now, saved, lock)[0]
        return done
    finally:
        _release(lock)


def publish_story(
    slug: str, channel: str | None = None, now: datetime | None = None, again: bool = False
) -> list[ChannelState]:
    """Publish one story now, whatever its date; `again` reopens failed channels first."""
    now = now or now_utc()
    loaded = load_all(current_app.config["CONTENT_DIR"]).stories
    story = next((s for s in loaded if s.slug == slug), None)
    if story is None:
        raise LookupError(f"no story {slug!r} that loads (run veteranbot content check)")
    channels = [channel] if channel else list(CHANNELS)
    session = db.session()
    if again:
        st_store = DbStateStore(session)
        for name in channels:
            st = st_store.load(slug, name)
            if st.state == "failed":
                st_store.save(publish.reopen(st))
    results, transient = _guarded(story, loaded, channels, now, states(session), None)
    if transient:
        raise transient[0]  # the task retries with backoff; the state says where it stopped
    return results


def poll(slug: str, now: datetime | None = None) -> ChannelState:
    """Confirm a submitted article by freepublish/get."""
    now = now or now_utc()
    st = publish.poll_wechat(slug, port(), DbStateStore(db.session()), now=now)
    if st.state == "failed":
        tell_editors(st.title or slug, "微信", st.reason or "", slug)
    return st


def port() -> ClientPort:
    """The WeChat port for the current app."""
    return ClientPort(client(), current_app.config["VETERAN_TAG"])


def _open(st: ChannelState | None, now: datetime) -> bool:
    return st is None or (st.state not in FINAL and not (st.retry_after and st.retry_after > now))


def _guarded(story, loaded, channels, now, saved, outer_lock):
    """Advance the story's channels under its own lock; refuse it first when it must be.

    Returns the channels' states and the transient errors met on the way.
    """
    lock = store.client().lock(f"publish:story:{story.slug}", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("%s is being published by another run", story.slug)
        return [], []
    st_store = DbStateStore(db.session(), lock)
    try:
        before = {c: st_store.load(story.slug, c) for c in channels}
        untouched = all(s.state == "pending" for s in before.values())
        reason = _refusal(story, loaded, saved) if untouched else None
        results, transient = [], []
        for channel in channels:
            try:
                if reason:
                    st = publish.refuse(st_store, story.slug, channel, reason, story, now)
                else:
                    st = _advance(story, loaded, channel, st_store, now)
            except PublishError as exc:  # recorded with retry_after; a later run resumes
                log.warning("%s/%s: %s (will retry)", story.slug, channel, exc)
                transient.append(exc)
                st = st_store.load(story.slug, channel)
            except StateConflict as exc:  # another run advanced it: leave it to that run
                log.warning("%s", exc)
                st = st_store.load(story.slug, channel)
            if st.state == "failed" and before[channel].state != "failed":
                tell_editors(story.title, _LABELS[channel], st.reason or "", story.slug)
            results.append(st)
        return results, transient
    finally:
        _release(lock)
        if outer_lock is not None:
            outer_lock.reacquire()


_LABELS = {"wechat": "微信", "site": "网站"}


def _advance(story, loaded, channel, st_store, now) -> ChannelState:
    cfg = current_app.config
    if channel == "wechat":
        return publish.advance_wechat(story, port(), st_store, site_url=cfg["SITE_URL"], now=now)
    return publish.advance_site(
        story,
        loaded,
        st_store,
        out_dir=cfg["SITE_DIR"],
        site_url=cfg["SITE_URL"],
        now=now,
        stations=_stations(),
    )


def _refusal(story: Story, loaded: list[Story], saved) -> str | None:
    """Why the story must not go out: it fails the content check, or the mass quota."""
    try:
        from publisher.check import check_story
    except ImportError:  # the checker is being written; loading already checked the schema
        check_story = None
    if check_story is not None:
        faults = check_story(story)
        if faults:
            return "内容检查未通过：" + "；".join(str(f) for f in faults)
    plan = {
        st.slug: st.publish_at
        for (slug, channel), st in saved.items()
        if channel == "wechat" and st.mode == "mass" and st.state != "failed" and st.publish_at
    }
    for other in loaded:
        st = saved.get((other.slug, "wechat"))
        if other.wechat_mode == "mass" and (st is None or st.state != "failed"):
            plan.setdefault(other.slug, other.publish_at)
    plan.pop(story.slug, None)
    return publish.mass_refusal(story, plan, current_app.config["MASS_QUOTA_PER_MONTH"])


def _stations() -> dict[str, str]:
    """Station code -> name, for the site's station pages."""
    return dict(db.session().execute(select(Station.code, Station.name)).all())


def _release(lock) -> None:
    try:
        lock.release()
    except Exception:  # expired or taken over: nothing left to release
        log.warning("publish lock %s had expired", lock.name)


# -- telling editors -------------------------------------------------------------------


def tell_editors(title: str, channel: str, reason: str, slug: str = "") -> int:
    """Send the editor notice to every EDITOR_OPENIDS openid; return how many got it."""
    cfg = current_app.config
    template = cfg["WECHAT_TEMPLATE_EDITOR_NOTICE"]
    if not template or not cfg["EDITOR_OPENIDS"]:
        log.error("editors not told (%s %s: %s): no template or editors set", slug, channel, reason)
        return 0
    values = {
        "first": "风采录需要处理",
        "keyword1": title,
        "keyword2": channel,
        "keyword3": reason[:200],
        "remark": f"veteranbot queue 查看；修正后 veteranbot publish {slug}".strip(),
    }
    data = {k: {"value": v} for k, v in values.items()}
    told = 0
    for openid in cfg["EDITOR_OPENIDS"]:
        try:
            client().send_template(openid, template, data)
            told += 1
        except WeChatError as exc:  # one editor's failure must not silence the others
            log.error("telling editor %s failed: %s", openid, exc)
    return told


def weekly_reminder(now: datetime | None = None) -> bool:
    """Tell the editors when nothing is queued for the coming 7 days (once per week)."""
    now = now or now_utc()
    loaded = load_all(current_app.config["CONTENT_DIR"]).stories
    saved = states(db.session())
    week = now + timedelta(days=7)
    queued = [
        s
        for s in loaded
        if now <= s.publish_at < week and saved.get((s.slug, "wechat"), _PENDING).state != "failed"
    ]
    if queued:
        return False
    monday = now.astimezone(SHANGHAI).strftime("%G-W%V")
    if not store.client().set(f"publish:reminder:{monday}", "1", nx=True, ex=8 * 86400):
        return False
    end = (week.astimezone(SHANGHAI)).strftime("%m-%d")
    tell_editors("本周风采录", "排期", f"未来 7 天（至 {end}）没有排期的稿件，请尽快安排")
    return True


_PENDING = ChannelState(slug="", channel="")


def record_hint(publish_id: str, status: str, article_url: str) -> str | None:
    """Note what a PUBLISHJOBFINISH event said on the matching channel; return its slug."""
    session = db.session()
    row = session.scalar(select(PublishState).where(PublishState.publish_id == publish_id))
    if row is None:
        return None
    row.hint = f"PUBLISHJOBFINISH publish_status={status} {article_url}".strip()
    session.commit()
    return row.slug
