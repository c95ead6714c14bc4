"""The console's blueprint: who is signed in, CSRF on every POST, and what templates get."""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from wtforms import ValidationError

from bot import clock, db
from bot.console import scope as scopes
from bot.crypto import mask_phone
from bot.models import Staff

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="static")

# Pages anyone may open: sign-in, WeChat's return, the set-password link, the stylesheet.
OPEN_ENDPOINTS = {
    "console.login",
    "console.wechat_start",
    "console.wechat_return",
    "console.set_password",
    "console.static",
}


@bp.before_request
def _load_user():
    """Check the CSRF token of every POST, then find the signed-in staff member, if any."""
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
    g.staff, g.scope = current_staff(), None
    if g.staff is not None:
        g.scope = scopes.of(db.session(), g.staff)
    elif request.endpoint not in OPEN_ENDPOINTS:
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    return None


@bp.errorhandler(CSRFError)
def _csrf_failed(exc):
    from flask import render_template

    return render_template(
        "console/message.html",
        title="页面已过期",
        text=("表单已过期或来源不明，请返回刷新后再提交。"),
    ), 400


@bp.errorhandler(404)
def _not_found(_exc):
    from flask import render_template

    return render_template(
        "console/message.html", title="没有找到", text="没有这个页面，或者它不在您负责的范围内。"
    ), 404


@bp.after_request
def _private(response):
    """Personal data: never cached, never framed, never sent to another site as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.teardown_request
def _forget(_exc):
    # Per request: a caller that keeps one app context across requests (the tests, a
    # script) must not carry one request's user or CSRF token into the next.
    for name in ("staff", "scope", "csrf_token"):
        g.pop(name, None)


@bp.app_template_global()
def csrf_token() -> str:
    """The CSRF token every form carries."""
    return generate_csrf()


@bp.app_template_filter("local")
def _local(moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return clock.local(moment).strftime(fmt) if moment else ""


bp.add_app_template_filter(mask_phone, "mask_phone")


@bp.context_processor
def _globals():
    return {"me": g.get("staff"), "my_scope": g.get("scope"), "role_names": scopes.ROLE_NAMES}


def sign_in(member: Staff, how: str) -> None:
    """Start a session for member (a new one: the old id's data is dropped)."""
    session.clear()
    session.permanent = True
    session.update(staff=member.id, epoch=member.auth_epoch, at=int(time.time()), how=how)


def current_staff() -> Staff | None:
    """The signed-in staff member, while still bound and the session young enough."""
    staff_id = session.get("staff")
    if staff_id is None:
        return None
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    member = db.session().get(Staff, staff_id)
    if (
        member is None
        or member.unbound_at is not None
        or member.auth_epoch != session.get("epoch")
        # Absolute: a session used every day still ends, whatever the cookie's expiry.
        or time.time() - session.get("at", 0) > lifetime
    ):
        session.clear()
        return None
    return member


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path, never another site."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return url_for("console.home")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def personal(view):
    """404 for users who may not see people's data (editors)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        scopes.need_personal(g.scope)
        return view(*args, **kwargs)

    return wrapped


def admin(view):
    """404 for anyone but county and prefecture administrators."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        scopes.need_admin(g.scope)
        return view(*args, **kwargs)

    return wrapped


def client_address() -> str:
    """The caller's address, for the per-address sign-in limit."""
    return request.remote_addr or "unknown"


def forbid_unless(condition: bool) -> None:
    """404 (not 403): a refused page looks like a missing one."""
    if not condition:
        abort(404)
