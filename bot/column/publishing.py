"""The bot's side of the column: WeChat port, database state, Redis locks, refusals, editors.

publisher/ does the steps; this module hands it what it needs and decides what
is due. Two locks keep two runs apart: `publish:due` around the whole scan
(two beats firing together: the second does nothing) and `publish:story:<slug>`
around one story (a beat scan and `veteranbot publish SLUG` at once). Each lock
is renewed every time a step is saved, and the state's version check stops a
run that outlived its lock anyway.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from bot import clock, db, retry, store
from bot.care import quota
from bot.care.settings import CareSettings
from bot.column.article_port import ClientPort
from bot.column.editors import tell_editors
from bot.column.publish_state import DbStateStore, states
from bot.models import Station
from bot.wechat.client import client
from publisher import publish
from publisher.check import check_story
from publisher.ports import CHANNELS, FINAL, ChannelState, PublishError, StateConflict
from publisher.story import Fault, Story, load_all

log = logging.getLogger(__name__)
LOCK_SECONDS = 600
# -- running the schedule --------------------------------------------------------------


def publish_due(now: datetime | None = None) -> list[ChannelState] | None:
    """Publish every due story's open channels; None when another run holds the scan lock."""
    now = now or clock.now()
    lock = store.client().lock("publish:due", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("publish_due: another run is scanning; nothing to do")
        return None
    try:
        result = load_all(current_app.config["CONTENT_DIR"])
        _report_unloadable(result.faults)
        loaded = result.stories
        saved = states(db.session())
        done = []
        for story in loaded:
            channels = [c for c in CHANNELS if _open(saved.get((story.slug, c)), now)]
            if publish.is_due(story, now) and channels:
                done += _guarded(story, loaded, channels, now, lock)[0]
        return done
    finally:
        store.release(lock)


def _report_unloadable(faults: list[Fault]) -> None:
    """Tell the editors, once per distinct problem, of story folders that do not load."""
    by_folder: dict[str, list[Fault]] = {}
    for fault in faults:
        by_folder.setdefault(str(Path(fault.path).parent.name), []).append(fault)
    for slug, found in by_folder.items():
        lines = sorted(str(f) for f in found)
        digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
        if store.client().set(f"publish:unloadable:{digest}", "1", nx=True, ex=30 * 86400):
            # The folder is the notice's title; a field shows 20 characters: no path in it.
            reason = "；".join(f"{f.field}: {f.reason}" for f in found)
            tell_editors(slug, "稿件", reason, slug)


def publish_story(
    slug: str, channel: str | None = None, now: datetime | None = None, again: bool = False
) -> list[ChannelState]:
    """Publish one story now, whatever its date; `again` reopens failed channels first."""
    now = now or clock.now()
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
    results, transient = _guarded(story, loaded, channels, now, None)
    if transient:
        raise transient[0]  # the task retries with backoff; the state says where it stopped
    return results


def poll(slug: str, now: datetime | None = None) -> ChannelState:
    """Confirm a submitted article by freepublish/get."""
    now = now or clock.now()
    st_store = DbStateStore(db.session())
    st = publish.poll_wechat(slug, port(), st_store, now=now, backoff=retry.for_column)
    if st.state == "failed":
        tell_editors(st.title or slug, "微信", st.reason or "", slug)
    return st


def port() -> ClientPort:
    """The WeChat port for the current app."""
    return ClientPort(client(), current_app.config["VETERAN_TAG"])


def _open(st: ChannelState | None, now: datetime) -> bool:
    return st is None or (st.state not in FINAL and not (st.retry_after and st.retry_after > now))


def _guarded(story, loaded, channels, now, outer_lock):
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
        reason = _refusal(story, loaded) if untouched else None
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
        store.release(lock)
        if outer_lock is not None:
            outer_lock.reacquire()


_LABELS = {"wechat": "微信", "site": "网站"}


def _advance(story, loaded, channel, st_store, now) -> ChannelState:
    cfg = current_app.config
    if channel == "wechat":
        return publish.advance_wechat(
            story, port(), st_store, site_url=cfg["SITE_URL"], now=now, backoff=retry.for_column
        )
    return publish.advance_site(
        story,
        loaded,
        st_store,
        out_dir=cfg["SITE_DIR"],
        site_url=cfg["SITE_URL"],
        now=now,
        stations=_stations(),
    )


def _refusal(story: Story, loaded: list[Story]) -> str | None:
    """Why the story must not go out: it fails the content check, or the mass quota."""
    faults = check_story(story)
    if faults:
        return "内容检查未通过：" + "；".join(str(f) for f in faults)
    if story.wechat_mode != "mass":
        return None
    # The month's mass sends (holiday greetings too) share one quota per follower.
    care = CareSettings.from_config(current_app.config)
    send = quota.story_send(story.slug, story.publish_at)
    reason = quota.refusal(db.session(), care, send, loaded)
    return f"{reason}；请改为 wechat.mode: publish 或换到下个月" if reason else None


def _stations() -> dict[str, str]:
    """Station code -> name, for the site's station pages."""
    return dict(db.session().execute(select(Station.code, Station.name)).all())
