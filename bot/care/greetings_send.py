"""Sending a greeting exactly once per occasion, year and tag, and recording the outcome.

Each (occasion, year, tag) has one Campaign row, inserted before anything is
sent (the unique constraint makes a second insert find the first). A send runs
pending → sending → sent → finished (MASSSENDJOBFINISH said "send success") or
undelivered (it said "send fail" or err(n): WeChat took the send and reached
nobody; the reason says why), or failed (transient in bot.wechat.errors: 45011,
45066, -1, a timeout; retried later) or refused (the platform said no for good
or for today, as 45009 the daily API quota does, or the month's mass quota is
spent; a person decides, `greetings send` reopens it).

What keeps it to one message per veteran:
- "sending" is saved before message/mass/sendall, with the version check: of
  two runs that read the same row, only one moves it on;
- a Redis lock per clientmsgid keeps two live runs off the same tag;
- every attempt carries the same clientmsgid, greet-<key>-<year>-<tag_id>, so a
  run resuming a row left in "sending" (its worker killed mid-call) or in
  "failed" after a timeout repeats the call and WeChat drops the repeat within
  24 h, answering 45065 with the msg_id it already has: that counts as sent.
  Retries happen on the occasion's day only, so always within those 24 h, and
  never sooner than a minute after the last try: a repeat within about a minute
  is answered 45066, "retry later" (bot.wechat.client.MASS_REPEAT_WAIT).
- a MASSSENDJOBFINISH that came before we knew its msg_id (sendall's answer was
  lost) waits in bot.wechat.mass_finish's mailbox until the 45065 names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

import redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import clock, db, retry, store
from bot.care import greetings, quota
from bot.care.occasions import occasions_on
from bot.care.settings import CareSettings
from bot.clock import SHANGHAI
from bot.models import Campaign
from bot.wechat import mass_finish
from bot.wechat.client import MASS_REPEAT_WAIT, WeChatClient
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)
# An undelivered send is not repeated: within 24 h WeChat would drop the repeat (45065).
FINAL = ("sent", "finished", "undelivered", "refused")
# Longer than one API call can take (client timeout 3 + 10 s), so a live run keeps it.
LOCK_SECONDS = 20
# One thread per county tag (Liangshan has 17): the sends wait on the network, not the CPU.
SEND_THREADS = 17

# Opens a new Session (a sessionmaker): each sending thread needs its own.
Sessions = Callable[[], Session]


@dataclass
class Outcome:
    """What one tag's send came to."""

    tag_name: str
    clientmsgid: str
    state: str
    msg_id: str | None = None
    reason: str | None = None
    transient: bool = False
    busy: bool = False


def prepare(
    session: Session, wechat: WeChatClient, settings: CareSettings, key: str, day: date
) -> tuple[list[tuple[greetings.Target, str]], list[str]]:
    """Each tag this occasion's greeting goes to, with its text; and notes on who is left out."""
    found, notes = greetings.targets(session, settings.veteran_tag, wechat.tags())
    texts = greetings.render_all(session, settings, key, day.year, found)
    return list(zip(found, texts, strict=True)), notes


def send_occasion(
    sessions: Sessions,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: CareSettings,
    key: str,
    day: date,
    *,
    reopen: bool = False,
    now: datetime | None = None,
) -> tuple[list[Outcome], list[str]]:
    """Send the greeting to every tag that has not had it; refuse it beyond the quota.

    reopen (by hand): also retry refused tags and failed ones still backing off.
    Each sending thread opens its own session from sessions; wechat and r are shared.
    """
    now = now or clock.now()
    with sessions() as session:
        prepared, notes = prepare(session, wechat, settings, key, day)
        rows = _ensure(session, key, day.year, [target for target, _ in prepared])
        texts = {row.id: text for row, (_, text) in zip(rows, prepared, strict=True)}
        started = greetings.sent_this_year(session, day.year)
        if key not in started:
            reason = quota.refusal(session, settings, quota.greeting_send(settings, key, day))
            if reason:
                for row in rows:
                    if row.state in ("pending", "failed") or (reopen and row.state == "refused"):
                        _save(session, row.id, row.version, state="refused", reason=reason)
                return [_outcome(_load(session, row.id)) for row in rows], notes
        due = [row.id for row in rows if _due(row, reopen, now)]

        def one(campaign_id: int) -> Outcome:
            with sessions() as own:
                return send_one(own, wechat, r, campaign_id, texts[campaign_id], reopen=reopen)

        if len(due) > 1:
            with ThreadPoolExecutor(min(len(due), SEND_THREADS)) as pool:
                done = {o.clientmsgid: o for o in pool.map(one, due)}
        else:
            done = {o.clientmsgid: o for o in map(one, due)}
        outcomes = [done.get(row.clientmsgid) or _outcome(_load(session, row.id)) for row in rows]
    return outcomes, notes


def send_due(
    sessions: Sessions,
    wechat: WeChatClient,
    r: redis.Redis,
    settings: CareSettings,
    now: datetime | None = None,
) -> list[Outcome] | None:
    """Beat: send today's active occasions once local time has reached GREETING_TIME.

    None when another run holds the scan lock (two beats firing together).
    """
    now = now or clock.now()
    local = now.astimezone(SHANGHAI)
    if local.time() < settings.greeting_time:
        return []
    today = local.date()
    with sessions() as session:
        due = occasions_on(today, settings.occasions, greetings.set_dates(session, settings))
    if not due:
        return []
    # Held LOCK_SECONDS at a time and renewed while this run lives: a killed
    # worker's lock lapses within seconds.
    scan = store.lease(r, "greetings:due", settings.lock_seconds)
    if scan is None:
        log.info("greetings: another run is sending; nothing to do")
        return None
    try:
        outcomes: list[Outcome] = []
        for occasion in due:
            if scan.lost:  # another scan may be sending: leave the rest to it
                break
            sent, _notes = send_occasion(
                sessions, wechat, r, settings, occasion.key, today, now=now
            )
            outcomes += sent
        return outcomes
    finally:
        scan.release()


def send_one(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    campaign_id: int,
    text: str,
    *,
    reopen: bool = False,
) -> Outcome:
    """Send one tag's greeting unless it went out or another run holds it; record each step."""
    row = _load(session, campaign_id)
    lock = r.lock(f"greetings:{row.clientmsgid}", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return _outcome(row, busy=True)
    try:
        row = _load(session, campaign_id)  # what the run before us left
        if row.state in FINAL and not (reopen and row.state == "refused"):
            return _outcome(row)
        version = row.version
        sending = {"state": "sending", "attempts": row.attempts + 1, "reason": None}
        if not _save(session, row.id, version, **sending):
            return _outcome(_load(session, campaign_id), busy=True)
        version += 1
        try:
            message = {"msgtype": "text", "text": {"content": text}}
            msg_id = wechat.mass_send(row.tag_id, message, row.clientmsgid)
        except WeChatError as exc:
            # Transient: beat retries with the same clientmsgid. Anything else, the daily
            # API quota (45009) included, waits for a person: `greetings send`.
            state = "failed" if exc.transient else "refused"
            _save(session, row.id, version, state=state, reason=exc.reason)
            log.warning("greeting %s: %s", row.clientmsgid, exc.reason)
            return _outcome(_load(session, campaign_id), transient=exc.transient)
        if not _save(session, row.id, version, state="sent", msg_id=msg_id, reason=None):
            log.warning("greeting %s was saved by another run meanwhile", row.clientmsgid)
        # Its MASSSENDJOBFINISH may have come first (the answer was lost, or slow).
        kept = mass_finish.take(r, msg_id)
        if kept is not None:
            record_finish(session, kept)
        return _outcome(_load(session, campaign_id))
    finally:  # expired while the call hung? the version check guarded the row
        store.release(lock)


def record_finish(session: Session, fields: dict) -> bool:
    """Record MASSSENDJOBFINISH on the campaign with that msg_id; False if none has.

    "send success" finishes it; "send fail" or err(n) leaves it undelivered, with
    the reason. The counts go over as posted: a missing one stays missing, not 0.
    """
    finish = mass_finish.read(fields)
    row = None
    if finish is not None:
        row = session.scalar(select(Campaign).where(Campaign.msg_id == finish.msg_id))
    if row is None:
        return False
    row.state = "finished" if finish.delivered else "undelivered"
    row.reason = finish.reason
    row.finish_status = finish.status
    row.total_count, row.filter_count = finish.total, finish.filtered
    row.sent_count, row.error_count = finish.sent, finish.errors
    row.version += 1
    session.commit()
    if not finish.delivered:
        log.warning("greeting %s: %s", row.clientmsgid, finish.reason)
    return True


def campaigns(session: Session, year: int | None = None) -> list[Campaign]:
    """Every campaign (of year), by year, occasion and tag."""
    query = select(Campaign).order_by(Campaign.year, Campaign.occasion, Campaign.tag_id)
    if year is not None:
        query = query.where(Campaign.year == year)
    return list(session.scalars(query))


def _due(row: Campaign, reopen: bool, now: datetime) -> bool:
    if row.state == "refused":
        return reopen
    if row.state in FINAL:
        return False
    if row.state == "failed" and not reopen:
        wait = max(retry.for_greetings(row.attempts), MASS_REPEAT_WAIT)
        return row.updated_at.replace(tzinfo=UTC) + wait <= now
    return True


def _ensure(session: Session, key: str, year: int, found: list[greetings.Target]) -> list[Campaign]:
    """The campaign rows, one per tag, inserted (state pending) before anything is sent."""
    query = select(Campaign).where(Campaign.occasion == key, Campaign.year == year)
    have = {r.tag_id: r for r in session.scalars(query)}
    missing = [t for t in found if t.tag_id not in have]
    for target in missing:
        session.add(_row(key, year, target))
    if missing:
        try:
            session.commit()
        except IntegrityError:  # another run inserted some first: add the rest one by one
            session.rollback()
            for target in missing:
                _insert_one(session, key, year, target)
        have = {
            r.tag_id: r for r in session.scalars(query.execution_options(populate_existing=True))
        }
    return [have[t.tag_id] for t in found]


def _row(key: str, year: int, target: greetings.Target) -> Campaign:
    return Campaign(
        occasion=key,
        year=year,
        tag_id=target.tag_id,
        tag_name=target.tag_name,
        state="pending",
        clientmsgid=greetings.clientmsgid(key, year, target.tag_id),
    )


def _insert_one(session: Session, key: str, year: int, target: greetings.Target) -> None:
    session.add(_row(key, year, target))
    try:
        session.commit()
    except IntegrityError:  # it is there: the unique constraint found the other run's row
        session.rollback()


def _load(session: Session, campaign_id: int) -> Campaign:
    session.commit()  # end any read transaction: see what other runs committed
    query = select(Campaign).where(Campaign.id == campaign_id)
    return session.scalar(query.execution_options(populate_existing=True))


def _save(session: Session, campaign_id: int, version: int, **values) -> bool:
    """Update the campaign if it is still at version; commit. False when another run moved it."""
    return db.save_versioned(session, Campaign, {"id": campaign_id}, version, **values)


def _outcome(row: Campaign, transient: bool = False, busy: bool = False) -> Outcome:
    return Outcome(
        row.tag_name, row.clientmsgid, row.state, row.msg_id, row.reason, transient, busy
    )
