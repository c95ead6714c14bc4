"""Platform events: follows, unfollows and the location WeChat reports on opening the chat."""

from __future__ import annotations

from flask import render_template

from bot import db
from bot.dialogs import state
from bot.dialogs.reply import Reply
from bot.models import Follower
from bot.models.clock import utcnow


def follower(openid: str) -> Follower:
    """The follower row for openid, created on first sight."""
    session = db.session()
    row = session.get(Follower, openid)
    if row is None:
        row = Follower(openid=openid, subscribed=True, subscribed_at=utcnow())
        session.add(row)
    return row


def subscribe(message) -> Reply:
    """Welcome a new (or returning) follower with what the bot can do."""
    row = follower(message.source)
    row.subscribed, row.subscribed_at, row.unsubscribed_at = True, utcnow(), None
    db.session().commit()
    return Reply(render_template("replies/welcome.txt"))


def unsubscribe(message) -> Reply:
    """Mark the follower so nothing more is pushed to them."""
    row = follower(message.source)
    row.subscribed, row.unsubscribed_at = False, utcnow()
    db.session().commit()
    state.clear(message.source)
    return Reply.silent()


def location(message) -> Reply:
    """Record where the follower opened the chat; WeChat expects no visible answer."""
    row = follower(message.source)
    row.last_lat, row.last_lon = float(message.latitude), float(message.longitude)
    row.last_location_at = utcnow()
    db.session().commit()
    return Reply.silent()


HANDLERS = {
    "subscribe": subscribe,
    "subscribe_scan": subscribe,
    "unsubscribe": unsubscribe,
    "location": location,
}
