"""Sending a greeting exactly once per occasion, year and tag, and recording the outcome.

Each (occasion, year, tag) has one Campaign row, inserted before anything is
sent (the unique constraint makes a second insert find the first). A send runs
pending → sending → sent → finished, or failed (transient in bot.wechat.errors:
45011, 45066, -1, a timeout; retried later) or refused (the platform said no for
good or for today, as 45009 the daily API quota does, or the month's mass quota
is spent; a person decides, `greetings send` reopens it).

What keeps it to one message per veteran:
- "sending" is saved before message/mass/sendall, with the version check: of
  two runs that read the same row, only one moves it on;
- a Redis lock per clientmsgid keeps two live runs off the same tag;
- every attempt carries the same clientmsgid, greet-<key>-<year>-<tag_id>, so a
  run resuming a row left in "sending" (its worker killed mid-call) or in
  "failed" after a timeout repeats the call and WeChat drops the repeat within
  24 h, answering 45065 with the msg_id it already has: that counts as sent.
  Retries happen on the occasion's day only, so always within those 24 h.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import clock, db, retry, store
from bot.care import greetings, quota
from bot.care.occasions import OCCASIONS, occasions_on
from bot.clock import SHANGHAI
from bot.models import Campaign
from bot.wechat.client import client
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)
FINAL = ("sent", "finished", "refused")
# Longer than one API call can take (client timeout 3 + 10 s), so a live run keeps it.
LOCK_SECONDS = 20
# One thread per county tag (Liangshan has 17): the sends wait on the network, not the CPU.
SEND_THREADS = 17


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


def prepare(key: str, day: date) -> tuple[list[tuple[greetings.Target, str]], list[str]]:
    """Each tag this occasion's greeting goes to, with its text; and notes on who is left out."""
    found, notes = greetings.targets(client().tags())
    return list(zip(found, greetings.render_all(key, day.year, found), strict=True)), notes


def send_occasion(
    key: str, day: date, *, reopen: bool = False, now: datetime | None = None
) -> tuple[list[Outcome], list[str]]:
    """Send the greeting to every tag that has not had it; refuse it beyond the quota.

    reopen (by hand): also retry refused tags and failed ones still backing off.
    """
    now = now or clock.now()
    prepared, notes = prepare(key, day)
    rows = _ensure(key, day.year, [target for target, _ in prepared])
    texts = {row.id: text for row, (_, text) in zip(rows, prepared, strict=True)}
    started = greetings.sent_this_year(day.year)
    if key not in started:
        reason = quota.refusal(quota.greeting_send(key, day))
        if reason:
            for row in rows:
                if row.state in ("pending", "failed") or (reopen and row.state == "refused"):
                    _save(row.id, row.version, state="refused", reason=reason)
            return [_outcome(_load(r.id)) for r in rows], notes
    due = [r.id for r in rows if _due(r, reopen, now)]
    app = current_app._get_current_object()

    def one(campaign_id: int) -> Outcome:
        with app.app_context():
            return send_one(campaign_id, texts[campaign_id], reopen=reopen)

    if len(due) > 1:
        with ThreadPoolExecutor(min(len(due), SEND_THREADS)) as pool:
            done = {o.clientmsgid: o for o in pool.map(one, due)}
    else:
        done = {o.clientmsgid: o for o in map(one, due)}
    return [done.get(r.clientmsgid) or _outcome(_load(r.id)) for r in rows], notes


def send_due(now: datetime | None = None) -> list[Outcome] | None:
    """Beat: send today's active occasions once local time has reached GREETING_TIME.

    None when another run holds the scan lock (two beats firing together).
    """
    now = now or clock.now()
    local = now.astimezone(SHANGHAI)
    if local.time() < greetings.greeting_time():
        return []
    today = local.date()
    keys = greetings.active_keys()
    due = occasions_on(today, keys, greetings.set_dates())
    if not due:
        return []
    lock = store.client().lock("greetings:due", timeout=300, blocking=False)
    if not lock.acquire():
        log.info("greetings: another run is sending; nothing to do")
        return None
    try:
        outcomes: list[Outcome] = []
        for occasion in due:
            outcomes += send_occasion(occasion.key, today, now=now)[0]
        return outcomes
    finally:
        store.release(lock)


def send_one(campaign_id: int, text: str, *, reopen: bool = False) -> Outcome:
    """Send one tag's greeting unless it went out or another run holds it; record each step."""
    row = _load(campaign_id)
    lock = store.client().lock(f"greetings:{row.clientmsgid}", timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return _outcome(row, busy=True)
    try:
        row = _load(campaign_id)  # what the run before us left
        if row.state in FINAL and not (reopen and row.state == "refused"):
            return _outcome(row)
        version = row.version
        if not _save(row.id, version, state="sending", attempts=row.attempts + 1, reason=None):
            return _outcome(_load(campaign_id), busy=True)
        version += 1
        try:
            message = {"msgtype": "text", "text": {"content": text}}
            msg_id = client().mass_send(row.tag_id, message, row.clientmsgid)
        except WeChatError as exc:
            # Transient: beat retries with the same clientmsgid. Anything else, the daily
            # API quota (45009) included, waits for a person: `greetings send`.
            state = "failed" if exc.transient else "refused"
            _save(row.id, version, state=state, reason=exc.reason)
            log.warning("greeting %s: %s", row.clientmsgid, exc.reason)
            return _outcome(_load(campaign_id), transient=exc.transient)
        if not _save(row.id, version, state="sent", msg_id=msg_id, reason=None):
            log.warning("greeting %s was saved by another run meanwhile", row.clientmsgid)
        return _outcome(_load(campaign_id))
    finally:  # expired while the call hung? the version check guarded the row
        store.release(lock)


def record_finish(fields: dict) -> bool:
    """Record MASSSENDJOBFINISH's counts on the campaign with that msg_id; False if none has."""
    session = db.session()
    msg_id = str(fields.get("MsgID") or fields.get("MsgId") or "")
    row = session.scalar(select(Campaign).where(Campaign.msg_id == msg_id)) if msg_id else None
    if row is None:
        return False

    def count(name: str) -> int | None:
        value = str(fields.get(name, "")).strip()
        return int(value) if value.lstrip("-").isdigit() else None

    row.state = "finished"
    row.finish_status = str(fields.get("Status", ""))[:64]
    row.total_count, row.filter_count = count("TotalCount"), count("FilterCount")
    row.sent_count, row.error_count = count("SentCount"), count("ErrorCount")
    row.version += 1
    session.commit()
    return True


def campaigns(year: int | None = None) -> list[Campaign]:
    """Every campaign (of year), by year, occasion and tag."""
    query = select(Campaign).order_by(Campaign.year, Campaign.occasion, Campaign.tag_id)
    if year is not None:
        query = query.where(Campaign.year == year)
    return list(db.session().scalars(query))


def _due(row: Campaign, reopen: bool, now: datetime) -> bool:
    if row.state == "refused":
        return reopen
    if row.state in FINAL:
        return False
    if row.state == "failed" and not reopen:
        ready = row.updated_at.replace(tzinfo=UTC) + retry.for_greetings(row.attempts)
        return ready <= now
    return True


def _ensure(key: str, year: int, found: list[greetings.Target]) -> list[Campaign]:
    """The campaign rows, one per tag, inserted (state pending) before anything is sent."""
    session = db.session()
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


def _insert_one(session, key: str, year: int, target: greetings.Target) -> None:
    session.add(_row(key, year, target))
    try:
        session.commit()
    except IntegrityError:  # it is there: the unique constraint found the other run's row
        session.rollback()


def _load(campaign_id: int) -> Campaign:
    session = db.session()
    session.commit()  # end any read transaction: see what other runs committed
    query = select(Campaign).where(Campaign.id == campaign_id)
    return session.scalar(query.execution_options(populate_existing=True))


def _save(campaign_id: int, version: int, **values) -> bool:
    """Update the campaign if it is still at version; commit. False when another run moved it."""
    return db.save_versioned(db.session(), Campaign, {"id": campaign_id}, version, **values)


def _outcome(row: Campaign, transient: bool = False, busy: bool = False) -> Outcome:
    return Outcome(
        row.tag_name, row.clientmsgid, row.state, row.msg_id, row.reason, transient, busy
    )


def describe(key: str) -> str:
    """An occasion's name and key, for messages."""
    return f"{OCCASIONS[key].name}（{key}）"
