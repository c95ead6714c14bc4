"""Platform events: follows, unfollows and the location WeChat reports on opening the chat."""

from __future__ import annotations

from flask import current_app, render_template

from bot import db, queue, store
from bot.care import greetings_send
from bot.clock import utcnow
from bot.column import publish_state, publishing
from bot.column.settings import ColumnSettings
from bot.dialogs import state
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Event
from bot.models import Follower
from bot.wechat import mass_finish


def follower(openid: str) -> Follower:
    """The follower row for openid, created on first sight."""
    session = db.session()
    row = session.get(Follower, openid)
    if row is None:
        row = Follower(openid=openid, subscribed=True, subscribed_at=utcnow())
        session.add(row)
    return row


def subscribe(event: Event) -> Reply:
    """Welcome a new (or returning) follower with what the bot can do."""
    row = follower(event.openid)
    row.subscribed, row.subscribed_at, row.unsubscribed_at = True, utcnow(), None
    db.session().commit()
    return Reply(render_template("replies/welcome.txt"))


def unsubscribe(event: Event) -> Reply:
    """Mark the follower so nothing more is pushed to them."""
    row = follower(event.openid)
    row.subscribed, row.unsubscribed_at = False, utcnow()
    db.session().commit()
    state.clear(event.openid)
    return Reply.silent()


def location(event: Event) -> Reply:
    """Record where the follower opened the chat; WeChat expects no visible answer."""
    row = follower(event.openid)
    row.last_lat, row.last_lon = float(event.fields["Latitude"]), float(event.fields["Longitude"])
    row.last_location_at = utcnow()
    db.session().commit()
    return Reply.silent()


def publish_job_finish(event: Event) -> Reply:
    """Note WeChat's report on a publish job and ask for a poll; freepublish/get decides."""
    info = event.fields.get("PublishEventInfo") or {}
    items = (info.get("article_detail") or {}).get("item") or []
    items = [items] if isinstance(items, dict) else items
    url = next((i.get("article_url") for i in items if i.get("article_url")), "") or ""
    slug = publish_state.record_hint(
        db.session(), str(info.get("publish_id", "")), str(info.get("publish_status", "")), url
    )
    if slug:
        queue.enqueue("tasks.publish.poll_wechat", slug)
        db.session().commit()
    return Reply.silent()


def mass_send_job_finish(event: Event) -> Reply:
    """Record how a mass send went on its greeting campaign or its column story.

    The fields go over as posted: a missing count stays missing, not 0. An event
    no send claims yet (sendall's answer was lost, or is still on its way) waits
    in the mailbox for the send that learns its msg_id.
    """
    if not _record_mass_finish(event.fields):
        mass_finish.keep(store.client(), event.fields)
        # The send may have saved its msg_id (and found the mailbox empty) meanwhile.
        if _record_mass_finish(event.fields):
            finish = mass_finish.read(event.fields)
            mass_finish.take(store.client(), finish.msg_id if finish else None)
    return Reply.silent()


def _record_mass_finish(fields) -> bool:
    session = db.session()
    if greetings_send.record_finish(session, fields):
        return True
    settings = ColumnSettings.from_config(current_app.config)
    ids = publishing.record_mass_finish(session, settings, fields)
    if ids:
        queue.enqueue("tasks.outbox.deliver", ids)
    return ids is not None


HANDLERS = {
    # A follow through a QR code is "subscribe" too, with the scene in EventKey.
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "location": location,
    "publishjobfinish": publish_job_finish,
    "masssendjobfinish": mass_send_job_finish,
}
