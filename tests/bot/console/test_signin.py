"""Signing in to the console: WeChat's web authorisation, passwords, limits, sessions, CSRF."""

from __future__ import annotations

import re
import time

import requests
from sqlalchemy import select

from bot.commands.staff import staff as staff_group
from bot.models import AuditLog, Staff
from bot.sandbox.oauth import IDENTITY_COOKIE
from tests.fixtures.console import ConsoleUser, give_password


def test_bound_staff_sign_in_from_wechat_without_a_password(user, places, staff_at, session):
    member = staff_at(places.jiudu, name="吉克阿呷", openid="o-jiudu-1")
    page = user.sign_in_with_wechat("o-jiudu-1")
    assert page.status_code == 302 and page.headers["Location"] == "/console/"
    home = user.get("/console/")
    assert home.status_code == 200
    assert "吉克阿呷" in home.get_data(as_text=True)
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "login")).one()
    assert entry.actor == f"吉克阿呷#{member.id}" and entry.detail == {"how": "wechat"}


def test_wechat_sign_in_returns_to_the_page_the_link_opened(user, places, staff_at):
    staff_at(places.jiudu, openid="o-jiudu-1")
    page = user.sign_in_with_wechat("o-jiudu-1", next_="/console/veterans?q=1")
    assert page.headers["Location"] == "/console/veterans?q=1"


def test_an_openid_bound_to_no_station_is_refused(user, places):
    page = user.sign_in_with_wechat("o-nobody")
    assert page.status_code == 403
    assert "没有绑定服务站" in page.get_data(as_text=True)
    assert user.get("/console/").status_code == 302  # still signed out


def test_a_code_works_once_and_only_for_the_browser_that_asked(user, other_user, places, staff_at):
    staff_at(places.jiudu, openid="o-jiudu-1")
    start = user.get("/console/wechat", query_string={"next": "/console/"})
    answer = requests.get(
        start.headers["Location"],
        cookies={IDENTITY_COOKIE: "o-jiudu-1"},
        allow_redirects=False,
        timeout=5,
    )
    back = answer.headers["Location"].removeprefix("https://localhost")
    # Another browser with the link (a forwarded URL) gets nowhere: the state is not its own.
    assert other_user.get(back).status_code == 400
    assert user.get(back).status_code == 302
    # Replayed by the same browser after use: refused (its state is spent, and WeChat's
    # code too).
    assert user.get("/console/logout").status_code == 405
    user.post("/console/logout")
    assert user.get(back).status_code == 400


def test_a_snapshot_page_visitor_is_not_signed_in(user, places, staff_at, platform):
    staff_at(places.jiudu, openid="o-jiudu-1")
    platform.oauth.snapshot_openids.add("o-jiudu-1")
    try:
        assert user.sign_in_with_wechat("o-jiudu-1").status_code == 400
    finally:
        platform.oauth.snapshot_openids.clear()


def test_password_sign_in(user, places, staff_at, session):
    member = staff_at(places.county, name="县管理员")
    give_password(session, member, "county-admin", "correct horse battery")
    page = user.sign_in_with_password("County-Admin", "correct horse battery")
    assert page.status_code == 302
    assert "县管理员" in user.get("/console/").get_data(as_text=True)


def test_a_wrong_password_is_refused_and_logged(user, places, staff_at, session):
    member = staff_at(places.county)
    give_password(session, member, "county-admin", "correct horse battery")
    page = user.sign_in_with_password("county-admin", "wrong password!")
    assert page.status_code == 401
    assert "用户名或密码不对" in page.get_data(as_text=True)
    assert user.get("/console/").status_code == 302
    failed = session.scalars(select(AuditLog).where(AuditLog.action == "login.failed")).one()
    assert failed.actor == "county-admin"


def test_an_account_is_locked_after_five_failures_even_with_the_right_password(
    user, other_user, places, staff_at, session
):
    member = staff_at(places.county)
    give_password(session, member, "county-admin", "correct horse battery")
    for _ in range(5):
        assert user.sign_in_with_password("county-admin", "guess").status_code == 401
    page = other_user.sign_in_with_password("county-admin", "correct horse battery")
    assert page.status_code == 429
    assert "15 分钟" in page.get_data(as_text=True)


def test_an_address_is_locked_after_twenty_failures_across_accounts(
    user, places, staff_at, session
):
    member = staff_at(places.county)
    give_password(session, member, "county-admin", "correct horse battery")
    token = user.token()
    for n in range(20):
        tried = user.post(
            "/console/login", {"login": f"x{n}", "password": "y", "csrf_token": token}
        )
        assert tried.status_code == 401
    assert user.sign_in_with_password("county-admin", "correct horse battery").status_code == 429


def test_a_form_without_its_csrf_token_is_refused(user, places, staff_at, session):
    member = staff_at(places.county)
    give_password(session, member, "county-admin", "correct horse battery")
    page = user.post(
        "/console/login",
        {"login": "county-admin", "password": "correct horse battery"},
        csrf=False,
    )
    assert page.status_code == 400
    assert user.get("/console/").status_code == 302
    forged = user.post(
        "/console/login",
        {"login": "county-admin", "password": "correct horse battery", "csrf_token": "x.y"},
    )
    assert forged.status_code == 400


def test_the_session_cookie_is_secure_httponly_and_lax(user, places, staff_at):
    staff_at(places.jiudu, openid="o-jiudu-1")
    page = user.sign_in_with_wechat("o-jiudu-1")
    cookie = next(h for h in page.headers.getlist("Set-Cookie") if h.startswith("vb_console="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/console" in cookie and "Expires=" in cookie


def test_a_session_ends_after_its_lifetime_however_busy(user, places, staff_at, app):
    staff_at(places.jiudu, openid="o-jiudu-1")
    user.sign_in_with_wechat("o-jiudu-1")
    with user.client.session_transaction(base_url="https://localhost") as s:
        s["at"] = int(time.time()) - app.config["CONSOLE_SESSION_HOURS"] * 3600 - 1
    assert user.get("/console/").status_code == 302


def test_unbinding_ends_the_members_sessions_at_once(user, places, staff_at, session):
    member = staff_at(places.jiudu, openid="o-jiudu-1")
    user.sign_in_with_wechat("o-jiudu-1")
    assert user.get("/console/").status_code == 200
    member.unbound_at = member.created_at
    session.commit()
    assert user.get("/console/").status_code == 302
    assert user.sign_in_with_wechat("o-jiudu-1").status_code == 403


def test_the_cli_prints_a_one_time_link_to_set_the_password(app, user, places, session):
    result = app.test_cli_runner().invoke(
        staff_group,
        [
            "add",
            "--station",
            places.county.code,
            "--name",
            "县管理员",
            "--openid",
            "o-county-1",
            "--login",
            "county-admin",
        ],
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"https://localhost(/console/password/\S+)", result.output).group(1)
    form = user.get(link)
    assert "county-admin" in form.get_data(as_text=True)
    short = user.post(link, {"password": "short", "again": "short", "csrf_token": user.token(link)})
    assert "至少 10 位" in short.get_data(as_text=True)
    token = user.token(link)
    done = user.post(
        link, {"password": "a long passphrase", "again": "a long passphrase", "csrf_token": token}
    )
    assert "密码已设置" in done.get_data(as_text=True)
    assert user.get(link).status_code == 404  # used up
    assert user.sign_in_with_password("county-admin", "a long passphrase").status_code == 302
    member = session.scalar(select(Staff).where(Staff.openid == "o-county-1"))
    assert member.password_hash.startswith("$argon2id$")


def test_running_add_again_resets_the_password_and_ends_old_sessions(app, places, session):
    runner = app.test_cli_runner()
    args = [
        "add",
        "--station",
        places.county.code,
        "--name",
        "县管理员",
        "--openid",
        "o-c",
        "--login",
        "county-admin",
    ]
    first = re.search(r"(/console/password/\S+)", runner.invoke(staff_group, args).output).group(1)
    browser = ConsoleUser(app.test_client())
    browser.post(
        first,
        {
            "password": "first passphrase",
            "again": "first passphrase",
            "csrf_token": browser.token(first),
        },
    )
    browser.sign_in_with_password("county-admin", "first passphrase")
    assert browser.get("/console/").status_code == 200
    second = re.search(r"(/console/password/\S+)", runner.invoke(staff_group, args).output).group(1)
    fresh = ConsoleUser(app.test_client())
    fresh.post(
        second,
        {
            "password": "second passphrase",
            "again": "second passphrase",
            "csrf_token": fresh.token(second),
        },
    )
    assert browser.get("/console/").status_code == 302  # the old session is over
    assert fresh.sign_in_with_password("county-admin", "first passphrase").status_code == 401
    assert fresh.sign_in_with_password("county-admin", "second passphrase").status_code == 302
