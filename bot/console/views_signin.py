"""Signing in: inside WeChat by web authorisation (openid), on a desktop by login and password."""

from __future__ import annotations

import logging
import re
import secrets

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from bot import db, store
from bot.console import audit, passwords
from bot.console.blueprint import bp, client_address, safe_next, sign_in
from bot.crypto import cipher
from bot.models import HelpRequest, Staff
from bot.requests import timeline
from bot.wechat import oauth
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)
CASE_PATH = re.compile(r"^/console/requests/(QZ\d{6,9})$")


def _in_wechat() -> bool:
    # WeChat's built-in browser says so in its user agent.
    return "MicroMessenger" in request.headers.get("User-Agent", "")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page; inside WeChat it goes straight to web authorisation."""
    target = safe_next(request.values.get("next"))
    if g.staff is not None:
        return redirect(target)
    if request.method == "GET" and _in_wechat():
        return redirect(url_for("console.wechat_start", next=target))
    error, status = None, 200
    if request.method == "POST":
        error, status = _password_sign_in(request.form.get("login", ""), request.form)
        if error is None:
            return redirect(target)
    return render_template("console/login.html", next=target, error=error), status


def _password_sign_in(name: str, form) -> tuple[str | None, int]:
    name, password = name.strip()[:32], form.get("password", "")
    r, address, session_ = store.client(), client_address(), db.session()
    if not name or not password:
        return "请输入用户名和密码", 400
    if passwords.locked(r, name, address):
        return "尝试次数过多，请 15 分钟后再试", 429
    member = session_.scalar(
        select(Staff).where(func.lower(Staff.login) == name.lower(), Staff.unbound_at.is_(None))
    )
    if not passwords.check(member, password):
        passwords.failed(r, name, address)
        audit.record(
            session_,
            name,
            "login.failed",
            member.station_id if member else None,
            how="password",
        )
        session_.commit()
        return "用户名或密码不对", 401
    passwords.succeeded(r, name)
    audit.record(session_, member, "login", member.station_id, how="password")
    session_.commit()
    sign_in(member, "password")
    return None, 200


@bp.post("/logout")
def logout():
    """End the session."""
    session.clear()
    return redirect(url_for("console.login"))


@bp.get("/wechat")
def wechat_start():
    """Send the browser to WeChat's authorisation page, remembering where to come back to."""
    cfg = current_app.config
    state = secrets.token_hex(16)  # WeChat allows a-zA-Z0-9, at most 128 bytes
    session["oauth"] = {"state": state, "next": safe_next(request.args.get("next"))}
    back = f"{cfg['PUBLIC_URL']}/console/wechat/return"
    return redirect(
        oauth.authorize_url(cfg["WECHAT_OAUTH_BASE_URL"], cfg["WECHAT_APP_ID"], back, state)
    )


@bp.get("/wechat/return")
def wechat_return():
    """WeChat's redirect with a code: trade it for the openid and sign its staff member in."""
    pending = session.pop("oauth", None) or {}
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not pending or not secrets.compare_digest(state, pending.get("state", "")):
        # Not the authorisation this browser started: someone else's link, or a stale one.
        return _refused("登录链接已失效，请从公众号重新打开。", 400)
    cfg = current_app.config
    try:
        openid = oauth.openid_for_code(
            cfg["WECHAT_API_BASE_URL"], cfg["WECHAT_APP_ID"], cfg["WECHAT_APP_SECRET"], code
        )
    except WeChatError as exc:
        log.warning("web authorisation refused: %s", exc.errcode)
        return _refused("微信授权没有成功，请从公众号重新打开。", 400)
    session_ = db.session()
    member = session_.scalar(
        select(Staff).where(Staff.openid == openid, Staff.unbound_at.is_(None))
    )
    if member is None:
        mine = _own_case(session_, openid, pending.get("next", ""))
        if mine is not None:
            return mine
        return _refused(
            "这个微信号没有绑定服务站，不能进入工作台。请联系县退役军人服务中心绑定。", 403
        )
    audit.record(session_, member, "login", member.station_id, how="wechat")
    session_.commit()
    sign_in(member, "wechat")
    return redirect(pending.get("next") or url_for("console.home"))


def _own_case(session_, openid: str, target: str):
    """A veteran who opened their own case's link (a progress notice): its public side, once.

    No session is started: the page is shown for this authorisation only, and holds only
    what the veteran was told (replies, questions, the answer), never an internal note.
    """
    found = CASE_PATH.match(target)
    if found is None:
        return None
    case = session_.scalar(select(HelpRequest).where(HelpRequest.number == found.group(1)))
    if case is None or not case.openid or case.openid != openid:
        return None
    entries = timeline.entries(session_, cipher(), case, public_only=True)
    return render_template("console/my_request.html", title=case.number, r=case, entries=entries)


def _refused(text: str, status: int):
    return render_template("console/message.html", title="无法登录", text=text), status


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """The one-time link the CLI prints: choose a password (again) for a desktop login."""
    r = store.client()
    session_ = db.session()
    staff_id = passwords.link_owner(r, token)
    member = session_.get(Staff, staff_id) if staff_id else None
    if member is None or member.unbound_at is not None or not member.login:
        return _refused("这个链接已用过或已过期。请让管理员重新生成。", 404)
    error = None
    if request.method == "POST":
        new, again = request.form.get("password", ""), request.form.get("again", "")
        error = passwords.weak(new) or (None if new == again else "两次输入的密码不一样")
        if error is None:
            if passwords.use_link(r, token) != member.id:
                return _refused("这个链接已用过或已过期。请让管理员重新生成。", 404)
            member.password_hash = passwords.hash_password(new)
            member.auth_epoch += 1  # every earlier session ends
            audit.record(session_, member, "password.set", member.station_id)
            session_.commit()
            session.clear()
            return render_template(
                "console/message.html",
                title="密码已设置",
                text=f"请用用户名 {member.login} 和新密码登录。",
                link=url_for("console.login"),
            )
    return render_template("console/password.html", member=member, error=error)
