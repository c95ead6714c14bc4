"""The bot's side of the column: WeChat port, database state, Redis locks, refusals, editors.

publisher/ does the steps; this module hands it what it needs and decides what
is due. Two locks keep two runs apart: `publish:due` around the whole scan
(two beats firing together: the second does nothing) and `publish:story:<slug>`
around one story (a beat scan and `veteranbot publish SLUG` at once). Each is
held LOCK_SECONDS at a time and renewed while the run lives (bot.store.Lease),
so a killed worker blocks the next run for seconds, not minutes. A run that
finds its lock lost stops at its next save; the state's version check keeps it
from overwriting the run that took over.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

import redis
from sqlalchemy.orm import Session

from bot import clock, retry, store
from bot.care import quota
from bot.column import editors, publish_state
from bot.column.article_port import ClientPort
from bot.column.directory import station_facts
from bot.column.editors import notice_rows, tell_editors
from bot.column.publish_state import DbStateStore, states
from bot.column.settings import ColumnSettings
from bot.wechat import mass_finish, outbox
from bot.wechat.client import WeChatClient
from publisher import publish
from publisher.check import check_story
from publisher.ports import CHANNELS, FINAL, ChannelState, PublishError, StateConflict
from publisher.story import Fault, Story, load_all

log = logging.getLogger(__name__)
# -- running the schedule --------------------------------------------------------------


def publish_due(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: ColumnSettings,
    now: datetime | None = None,
) -> list[ChannelState] | None:
    """Publish every due story's open channels; None when another run holds the scan lock."""
    now = now or clock.now()
    scan = store.lease(r, "publish:due", settings.lock_seconds)
    if scan is None:
        log.info("publish_due: another run is scanning; nothing to do")
        return None
    try:
        result = load_all(settings.content_dir)
        _report_unloadable(session, wechat, r, settings, result.faults)
        loaded = result.stories
        saved = states(session)
        done = []
        for story in loaded:
            if scan.lost:  # another scan may be running: leave the rest to it
                break
            channels = [c for c in CHANNELS if _open(saved.get((story.slug, c)), now)]
            if publish.is_due(story, now) and channels:
                wiring = (session, wechat, r, settings)
                done += _guarded(*wiring, story, loaded, channels, now, scan)[0]
        return done
    finally:
        scan.release()


def _report_unloadable(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: ColumnSettings,
    faults: list[Fault],
) -> None:
    """Tell the editors, once per distinct problem, of story folders that do not load."""
    by_folder: dict[str, list[Fault]] = {}
    for fault in faults:
        by_folder.setdefault(str(Path(fault.path).parent.name), []).append(fault)
    for slug, found in by_folder.items():
        lines = sorted(str(f) for f in found)
        digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
        if r.set(f"publish:unloadable:{digest}", "1", nx=True, ex=30 * 86400):
            # The folder is the notice's title; a field shows 20 characters: no path in it.
            reason = "；".join(f"{f.field}: {f.reason}" for f in found)
            tell_editors(session, wechat, settings, slug, "稿件", reason, slug)


def publish_story(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: ColumnSettings,
    slug: str,
    channel: str | None = None,
    now: datetime | None = None,
    again: bool = False,
) -> list[ChannelState]:
    """Publish one story now, whatever its date; `again` reopens failed channels first."""
    now = now or clock.now()
    loaded = load_all(settings.content_dir).stories
    story = next((s for s in loaded if s.slug == slug), None)
    if story is None:
        raise LookupError(f"no story {slug!r} that loads (run veteranbot content check)")
    channels = [channel] if channel else list(CHANNELS)
    if again:
        st_store = DbStateStore(session)
        for name in channels:
            st = st_store.load(slug, name)
            if st.state == "failed":
                st_store.save(publish.reopen(st))
    wiring = (session, wechat, r, settings)
    results, transient = _guarded(*wiring, story, loaded, channels, now, None)
    if transient:
        raise transient[0]  # the task retries with backoff; the state says where it stopped
    return results


def poll(
    session: Session,
    wechat: WeChatClient,
    settings: ColumnSettings,
    slug: str,
    now: datetime | None = None,
) -> ChannelState:
    """Confirm a submitted article by freepublish/get."""
    now = now or clock.now()
    st_store = DbStateStore(session, on_failed=editors.channel_failed(settings))
    wechat_port = port(wechat, settings)
    st = publish.poll_wechat(slug, wechat_port, st_store, now=now, backoff=retry.for_column)
    editors.deliver(session, wechat, st_store.notices)
    return st


def record_mass_finish(
    session: Session, settings: ColumnSettings, fields: dict
) -> list[int] | None:
    """MASSSENDJOBFINISH for a mass-sent story: recorded, and a failure's editor notices
    written in the same commit. Their outbox ids; None when no story has that msg_id."""
    finish = mass_finish.read(fields)
    found = publish_state.record_mass_finish(session, finish) if finish else None
    if found is None:
        return None
    row, failed_now = found
    ids = []
    if failed_now:  # the failure and its notices in one commit
        ids = notice_rows(session, settings, row.title or row.slug, "微信", row.reason, row.slug)
    session.commit()  # also when no editors are set and nothing was written
    return ids


def port(wechat: WeChatClient, settings: ColumnSettings) -> ClientPort:
    """The WeChat port the publisher steps call, mass sends going to VETERAN_TAG."""
    return ClientPort(wechat, settings.veteran_tag)


def _open(st: ChannelState | None, now: datetime) -> bool:
    return st is None or (st.state not in FINAL and not (st.retry_after and st.retry_after > now))


def _guarded(session, wechat, r, settings, story, loaded, channels, now, scan):
    """Advance the story's channels under its own lock; refuse it first when it must be.

    Returns the channels' states and the transient errors met on the way.
    scan: the publish:due lease, when a scan runs; losing it stops the story too.
    """
    held = store.lease(r, f"publish:story:{story.slug}", settings.lock_seconds)
    if held is None:
        log.info("%s is being published by another run", story.slug)
        return [], []
    leases = [held] if scan is None else [held, scan]
    st_store = DbStateStore(session, leases, on_failed=editors.channel_failed(settings))
    try:
        before = {c: st_store.load(story.slug, c) for c in channels}
        untouched = all(s.state == "pending" for s in before.values())
        reason = _refusal(session, settings, story, loaded) if untouched else None
        results, transient = [], []
        for channel in channels:
            if any(lease.lost for lease in leases):
                break  # the save that found it lost said so in the log
            try:
                if reason:
                    st = publish.refuse(st_store, story.slug, channel, reason, story, now)
                elif channel == "wechat":
                    st = _advance_wechat(session, wechat, r, settings, story, st_store, now)
                else:
                    st = _advance_site(session, settings, story, loaded, st_store, now)
            except PublishError as exc:  # recorded with retry_after; a later run resumes
                log.warning("%s/%s: %s (will retry)", story.slug, channel, exc)
                transient.append(exc)
                st = st_store.load(story.slug, channel)
            except StateConflict as exc:  # another run advanced it: leave it to that run
                log.warning("%s", exc)
                st = st_store.load(story.slug, channel)
            results.append(st)
        return results, transient
    finally:
        held.release()
        # A failure's notices were committed with it (the store's on_failed); send them.
        if st_store.notices:
            editors.deliver(session, wechat, st_store.notices)


def _advance_wechat(session, wechat, r, settings, story, st_store, now) -> ChannelState:
    def tell(notice: str) -> None:
        tell_editors(session, wechat, settings, story.title, "微信", notice, story.slug)

    st = publish.advance_wechat(
        story,
        port(wechat, settings),
        st_store,
        site_url=settings.site_url,
        now=now,
        backoff=retry.for_column,
        tell=tell,
    )
    if st.mode == "mass" and st.msg_id:
        # Its MASSSENDJOBFINISH may have come before we knew the msg_id (a lost answer).
        kept = mass_finish.take(r, st.msg_id)
        ids = record_mass_finish(session, settings, kept) if kept else None
        if ids is not None:
            if ids:
                outbox.deliver(session, wechat, ids)
            st = st_store.load(story.slug, "wechat")
    return st


def _advance_site(session, settings, story, loaded, st_store, now) -> ChannelState:
    return publish.advance_site(
        story,
        loaded,
        st_store,
        out_dir=settings.site_dir,
        site_url=settings.site_url,
        now=now,
        stations=_stations(session),
    )


def _refusal(
    session: Session, settings: ColumnSettings, story: Story, loaded: list[Story]
) -> str | None:
    """Why the story must not go out: it fails the content check, or the mass quota."""
    faults = check_story(story)
    if faults:
        return "内容检查未通过：" + "；".join(str(f) for f in faults)
    if story.wechat_mode != "mass":
        return None
    # The month's mass sends (holiday greetings too) share one quota per follower.
    send = quota.story_send(story.slug, story.publish_at)
    reason = quota.refusal(session, settings.care, send, loaded)
    return f"{reason}；请改为 wechat.mode: publish 或换到下个月" if reason else None


def _stations(session: Session) -> dict:
    """The directory by code, for the site's station pages (name, phone, address, hours)."""
    return station_facts(session)
