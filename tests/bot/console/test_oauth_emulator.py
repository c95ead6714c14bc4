"""The emulator's web authorisation keeps WeChat's rules (docs/wechat.md, "Web authorisation")."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from bot.sandbox.oauth import IDENTITY_COOKIE
from bot.wechat import oauth
from bot.wechat.errors import WeChatError
from tests.conftest import APP_ID, APP_SECRET

BACK = "https://localhost/console/wechat/return"


@pytest.fixture
def authorized(emulator_url, platform):
    platform.oauth.domains.add("localhost")

    def visit(url: str, openid: str | None = "o-someone"):
        cookies = {IDENTITY_COOKIE: openid} if openid else {}
        return requests.get(url, cookies=cookies, allow_redirects=False, timeout=5)

    return visit


def _code(answer) -> str:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def test_authorize_redirects_back_with_a_code_and_the_state(authorized, emulator_url):
    answer = authorized(oauth.authorize_url(emulator_url, APP_ID, BACK, "abc123"))
    target = urlsplit(answer.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == BACK
    assert parse_qs(target.query)["state"] == ["abc123"]


def test_the_code_gives_the_openid_once(authorized, emulator_url):
    code = _code(authorized(oauth.authorize_url(emulator_url, APP_ID, BACK, "s1")))
    assert oauth.openid_for_code(emulator_url, APP_ID, APP_SECRET, code) == "o-someone"
    with pytest.raises(WeChatError) as used:
        oauth.openid_for_code(emulator_url, APP_ID, APP_SECRET, code)
    assert used.value.errcode == 40163


def test_a_code_expires_after_five_minutes(authorized, emulator_url, platform):
    code = _code(authorized(oauth.authorize_url(emulator_url, APP_ID, BACK, "s1")))
    platform.oauth.codes[code]["at"] = time.time() - 301
    with pytest.raises(WeChatError) as late:
        oauth.openid_for_code(emulator_url, APP_ID, APP_SECRET, code)
    assert late.value.errcode == 40029


@pytest.mark.parametrize(
    ("appid", "secret", "code", "errcode"),
    [
        ("wrong", APP_SECRET, "x", 40013),
        (APP_ID, "wrong", "x", 40125),
        (APP_ID, APP_SECRET, "", 41008),
        (APP_ID, APP_SECRET, "never-issued", 40029),
    ],
)
def test_the_exchange_checks_appid_secret_and_code(emulator_url, appid, secret, code, errcode):
    with pytest.raises(WeChatError) as refused:
        oauth.openid_for_code(emulator_url, appid, secret, code)
    assert refused.value.errcode == errcode


def test_a_redirect_outside_the_authorised_domain_is_refused(authorized, emulator_url):
    answer = authorized(
        oauth.authorize_url(emulator_url, APP_ID, "https://evil.example/steal", "s1")
    )
    assert answer.status_code == 200 and "10003" in answer.text


def test_parameters_out_of_order_do_not_open_the_page(authorized, emulator_url):
    url = (
        f"{emulator_url}/connect/oauth2/authorize?redirect_uri={quote(BACK, safe='')}"
        f"&appid={APP_ID}&response_type=code&scope=snsapi_base&state=s1"
    )
    answer = authorized(url)
    assert answer.status_code == 200 and "参数顺序" in answer.text


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"appid": ""}, "10012"),
        ({"redirect_uri": ""}, "10011"),
        ({"scope": ""}, "10010"),
        ({"scope": "snsapi_login"}, "10005"),
        ({"appid": "wxother"}, "40013"),
    ],
)
def test_authorize_shows_wechats_error_codes(authorized, emulator_url, change, errcode):
    params = {
        "appid": APP_ID,
        "redirect_uri": quote(BACK, safe=""),
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "s1",
        **change,
    }
    url = f"{emulator_url}/connect/oauth2/authorize?" + "&".join(
        f"{k}={v}" for k, v in params.items()
    )
    answer = authorized(url)
    assert answer.status_code == 200
    assert f'<span id="errcode">{errcode}</span>' in answer.text


def test_without_a_phone_owner_the_sandbox_asks_who_it_is(authorized, emulator_url, platform):
    platform.oauth.suggested_openid = "sandbox-staff-jiudu"
    answer = authorized(oauth.authorize_url(emulator_url, APP_ID, BACK, "s1"), openid=None)
    assert answer.status_code == 200
    assert 'value="sandbox-staff-jiudu"' in answer.text
    platform.oauth.suggested_openid = ""
