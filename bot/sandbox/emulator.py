"""An emulator of the WeChat API subset this project calls, served over HTTP on loopback.

It keeps its state in memory, answers with WeChat's JSON shapes and error codes,
and records every message it was asked to deliver, so the sandbox chat page and
the tests can see what a follower would receive.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable

import requests
from flask import Flask, jsonify, request

from bot.sandbox import articles, media, menus, oauth, tags, templates, tokens
from bot.sandbox.platform import PlatformState
from bot.wechat.transport import sign

log = logging.getLogger(__name__)
EVENT_TIMEOUT = (2, 10)  # connect, read: our webhook answers within WeChat's 5 s


def post_event(state: PlatformState, build: Callable[[], str]) -> None:
    """Post the event XML build() makes to the webhook, signed as WeChat signs.

    Plaintext XML, as WeChat posts in plaintext and compatible modes. Any error
    is logged and dropped: WeChat does not retry these events, and the emulator
    must keep serving.
    """
    hook = state.webhook
    if hook is None:
        return
    try:
        xml = build()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        args = {
            "timestamp": timestamp,
            "nonce": nonce,
            "signature": sign(hook.token, timestamp, nonce),
            "openid": articles.EVENT_SENDER,
        }
        answer = requests.post(
            hook.url,
            params=args,
            data=xml.encode(),
            headers={"Content-Type": "text/xml"},
            timeout=EVENT_TIMEOUT,
        )
        if answer.status_code != 200:
            log.warning("webhook %s answered %s to an event", hook.url, answer.status_code)
    except Exception:  # the emulator must never fall over because the webhook did
        log.warning("could not post an event to the webhook %s", hook.url, exc_info=True)


def notify(state: PlatformState, build: Callable[[], str]) -> None:
    """After state.event_delay, post build()'s event from a background thread."""
    if state.webhook is None:
        return
    timer = threading.Timer(state.event_delay, post_event, args=(state, build))
    timer.daemon = True
    timer.start()


def create_emulator(state: PlatformState) -> Flask:
    """The emulator's WSGI app over the given state."""
    app = Flask(__name__)
    app.extensions["platform"] = state

    def error(code: int, msg: str):
        return jsonify(errcode=code, errmsg=msg)

    @app.before_request
    def _gate():
        path = request.path.lstrip("/")
        if state.latency_ms and not path.startswith("_sandbox"):
            time.sleep(state.latency_ms / 1000)
        with state.lock:
            state.calls.append(path)
            pending = state.faults.get(path)
            if pending:
                return error(pending.pop(0), "injected by the sandbox")
        if path in ("cgi-bin/token", "cgi-bin/stable_token", *oauth.PATHS) or path.startswith(
            "_sandbox"
        ):
            return None
        with state.lock:
            refused = state.tokens.refusal(request.args.get("access_token"), time.time())
        return error(*refused) if refused else None

    @app.after_request
    def _lose(response):
        path = request.path.lstrip("/")
        with state.lock:
            if state.lost_answers.get(path):
                state.lost_answers[path] -= 1
                return app.response_class("upstream timed out", status=502)
            delay = state.slow_answers.get(path, 0)
        time.sleep(delay)  # outside the lock: other calls go on meanwhile
        return response

    @app.route("/cgi-bin/message/custom/send", methods=["POST"])
    def custom_send():
        body = request.get_json(force=True)
        with state.lock:
            refused = state.custom_refusal(body["touser"], time.time())
            if refused == 45015:
                return error(45015, "response out of time limit or subscription is canceled")
            if refused:
                return error(refused, "reach max api daily quota limit for this user")
            state.custom_sent[body["touser"]] = state.custom_sent.get(body["touser"], 0) + 1
            if body.get("msgtype") == "msgmenu":
                menu = body.get("msgmenu", {})
                item = state.deliver(
                    "msgmenu",
                    body["touser"],
                    content=menu.get("head_content", ""),
                    choices=[i.get("content", "") for i in menu.get("list", [])],
                )
            else:
                item = state.deliver(
                    "text", body["touser"], content=body.get("text", {}).get("content", "")
                )
        return jsonify(errcode=0, errmsg="ok", msgid=item["msgid"])

    @app.route("/_sandbox/inbound/<openid>", methods=["POST"])
    def sandbox_inbound(openid):
        """For the chat page, which plays WeChat: the follower just wrote to the account."""
        state.heard_from(openid)
        return error(0, "ok")

    @app.route("/cgi-bin/menu/create", methods=["POST"])
    def menu_create():
        body = request.get_json(force=True)
        if refused := menus.fault(body):
            return error(*refused)
        with state.lock:
            state.menu = body
        return error(0, "ok")

    tokens.register(app, state, error)
    tags.register(app, state, error)
    articles.register(app, state, error, lambda build: notify(state, build))
    media.register(app, state)
    templates.register(app, state, error)
    oauth.register(app, state, error)

    @app.route("/_sandbox/messages/<openid>")
    def sandbox_messages(openid):
        """For the chat page: what this follower has received, after `since`."""
        since = int(request.args.get("since", 0))
        with state.lock:
            items = [m for m in state.messages_to(openid) if m["msgid"] > since]
        return jsonify(messages=items)

    return app
