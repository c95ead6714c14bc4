"""The /wechat webhook: verify → parse → deduplicate → dispatch → reply."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Mapping

from flask import Blueprint, Flask, Response, current_app, g, has_app_context, request
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.exceptions import RequestEntityTooLarge

from bot import db, store
from bot.crypto import cipher
from bot.dialogs import router, state
from bot.dialogs.reply import Reply
from bot.records import directory
from bot.wechat import dedup, transport, window

log = logging.getLogger(__name__)
bp = Blueprint("wechat", __name__)
BUSY = "系统繁忙，请稍后再试"


def account() -> transport.Account:
    """The account's webhook credentials from the app config."""
    cfg = current_app.config
    return transport.Account(
        cfg["WECHAT_TOKEN"],
        cfg["WECHAT_APP_ID"],
        cfg["WECHAT_ENCODING_AES_KEY"],
        cfg["WEBHOOK_MAX_CLOCK_SKEW_SECONDS"],
    )


@bp.get("/wechat")
def handshake():
    """WeChat's server check: echo `echostr` when the signature matches."""
    try:
        transport.verify(account(), request.args)
    except transport.Refused as exc:
        return _refuse(exc)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def receive():
    """Answer one message or event, always within WeChat's 5 seconds."""
    g.webhook_deadline = time.monotonic() + dedup.BUDGET_SECONDS
    acct = account()
    try:
        body = _read_body()
        message, encrypted = transport.open_message(acct, request.args, body)
    except RequestEntityTooLarge:
        return Response("too large", status=413, mimetype="text/plain")
    except transport.Refused as exc:
        return _refuse(exc)

    try:
        xml = _reply(message)
    except Exception as exc:
        # The webhook's one catch-all: a database or Redis outage must never
        # reach WeChat as a 500, which the veteran would see as a dead account.
        # Only the exception type is logged; messages may carry personal data.
        log.error("answering %s failed: %s", message.type, type(exc).__name__)
        with contextlib.suppress(Exception):
            db.session().rollback()
        xml = transport.text_reply(message, BUSY)
    if xml == "success" or not encrypted:
        return Response(xml, mimetype="application/xml")
    return Response(
        transport.seal(acct, xml, request.args.get("nonce")), mimetype="application/xml"
    )


def _read_body() -> bytes:
    """The request body; RequestEntityTooLarge when it passes MAX_CONTENT_LENGTH, chunked or not."""
    body = request.get_data(cache=False)
    limit = request.max_content_length
    # werkzeug stops reading a chunked body (no Content-Length) at the limit
    # without a word: what it read is the body's first 64 KiB, not a body.
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge
    return body


def _reply(message: transport.Message) -> str:
    r, key, lock = store.client(), dedup.message_key(message), dedup.follower_lock(message)
    # What once() reads with its claim: the sender's dialog state, and the
    # version of the station cards 联系服务站 may answer from.
    reads = (state.key(message.source), directory.CARDS_VERSION_KEY)
    # Replies rest in Redis sealed (they may name the follower, show a file
    # number); the ones this call worked out are answered without unsealing.
    made: dict[str, str] = {}
    try:
        if not router.reads_only(message):
            produce = functools.partial(_answer, message, made=made)
            return _unseal(dedup.once(r, key, lock, produce, reads), made)
        # A word that opens a dialog: one round trip. The answer uses this process's
        # card version, which the store checks against Redis.
        version = current_app.extensions["station_cards"].version
        known = {} if version is None else {directory.CARDS_VERSION_KEY: version}
        produce = functools.partial(_answer, message, made=made, ahead=True)
        return _unseal(dedup.ahead(r, key, lock, produce, known, reads), made)
    except dedup.Busy:
        # The follower's earlier messages are still being answered; nothing was
        # claimed, so WeChat's retry of this one is handled afresh.
        log.warning("answering %s: the follower's lock stayed busy", message.type)
        return transport.text_reply(message, BUSY)


def _answer(
    message: transport.Message,
    values: Mapping[str, str | None],
    made: dict[str, str],
    ahead: bool = False,
) -> dedup.Answer:
    state.begin(values)
    g.answering_ahead = ahead
    try:
        reply: Reply = router.handle(message)
    finally:
        g.answering_ahead = False
    writes = state.writes()
    if window.opens(message.type, message.text("Event")):
        # Stored with the reply, in the same round trip: when the follower last wrote.
        writes.append(window.opened(message.source))
    if reply.text is None:
        return dedup.Answer("success", writes, state.used())
    xml = transport.text_reply(message, reply.text)
    sealed = cipher().encrypt(xml)
    made[sealed] = xml
    return dedup.Answer(sealed, writes, state.used())


def _unseal(stored: str, made: Mapping[str, str]) -> str:
    """The reply to answer with: as this call made it, else unsealed from Redis."""
    if stored in made:
        return made[stored]
    # 'success': nothing to say, or another attempt still at work (dedup answers
    # it then); '<xml>…': stored in the clear before replies were sealed.
    if stored == "success" or stored.startswith("<"):
        return stored
    return cipher().decrypt(stored)


def init_app(app: Flask) -> None:
    """Register /wechat and the hooks its answers need on the app's sessions."""
    app.register_blueprint(bp)
    sessions = app.extensions["db"]
    event.listen(sessions, "before_commit", _refuse_commit_ahead)
    event.listen(sessions, "after_begin", _budget_database)


def _refuse_commit_ahead(_session: Session) -> None:
    # An answer worked out before its claim may run twice for one message, so
    # it must change nothing: a commit there is a bug, and must fail loudly.
    if has_app_context() and g.get("answering_ahead"):
        raise RuntimeError("an answer worked out ahead of its claim tried to commit")


def _budget_database(_session: Session, _tx: SessionTransaction, conn: Connection) -> None:
    # The database gets what is left of the webhook's budget but the one Redis
    # call that stores the reply: a statement (PostgreSQL) or a wait for
    # SQLite's write lock (15 s by default) past it fails, and the view answers busy.
    deadline = g.get("webhook_deadline") if has_app_context() else None
    if deadline is None:
        return
    left = deadline - time.monotonic() - store.TIMEOUT_SECONDS
    milliseconds = max(100, int(left * 1000))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
    elif conn.dialect.name == "sqlite":
        # Per connection, not per transaction: bot.db puts the default back when
        # the connection returns to the pool.
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {milliseconds}")


def _refuse(exc: transport.Refused) -> Response:
    log.warning("refused webhook call: %s", exc.reason)
    return Response(exc.reason, status=exc.status, mimetype="text/plain")
