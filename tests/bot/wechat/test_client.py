"""The WeChat client against the emulator: one shared token, typed errors (see test_tokens)."""

from __future__ import annotations

import pytest

from bot import store
from bot.wechat.client import WeChatClient, client
from bot.wechat.errors import QuotaExceeded, WeChatError
from tests.fixtures.templates import HELP_DATA


@pytest.fixture
def wx(app):
    with app.app_context():
        yield client()


def test_token_is_fetched_once_and_shared_between_processes(app, wx, platform):
    other = WeChatClient(wx.base_url, wx.appid, wx.secret, store.client(app))
    wx.tags()
    other.tags()
    assert platform.token_fetches == 1


def test_quota_error_is_typed_and_not_retried(wx, platform):
    platform.inject("cgi-bin/menu/create", 45009)
    with pytest.raises(QuotaExceeded) as raised:
        wx.create_menu({"button": [{"type": "click", "name": "登记", "key": "REGISTER"}]})
    assert raised.value.errcode == 45009
    assert platform.calls.count("cgi-bin/menu/create") == 1


def test_unreachable_api_is_a_transient_error(app):
    with app.app_context():
        wx = WeChatClient("http://127.0.0.1:9", "wxapp", "secret", store.client())
        with pytest.raises(WeChatError) as raised:
            wx.tags()
    assert raised.value.errcode is None and raised.value.transient


def test_tag_is_created_once_and_then_reused(wx, platform):
    first = wx.ensure_tag("布拖县")
    assert wx.ensure_tag("布拖县") == first
    assert list(platform.tags.values()) == ["布拖县"]


def test_one_client_per_app_so_every_call_shares_its_connection_pool(app):
    with app.app_context():
        first = client()
    with app.app_context():
        assert client() is first


def templates(platform) -> list[dict]:
    return [m for m in platform.outbox if m["kind"] == "template"]


def test_a_repeated_client_msg_id_reaches_the_follower_once(wx, platform):
    first = wx.send_template("o-staff", "tpl-help-request", HELP_DATA, client_msg_id="help:1:1")
    again = wx.send_template("o-staff", "tpl-help-request", HELP_DATA, client_msg_id="help:1:1")
    other = wx.send_template("o-other", "tpl-help-request", HELP_DATA, client_msg_id="help:1:1")

    # The repeat succeeds and names the first message; only another openid gets a second.
    assert again["msgid"] == first["msgid"] != other["msgid"]
    assert [m["touser"] for m in templates(platform)] == ["o-staff", "o-other"]


def test_a_send_whose_answer_was_lost_is_repeated_harmlessly(wx, platform):
    platform.lost_answers["cgi-bin/message/template/send"] = 1

    with pytest.raises(WeChatError) as raised:
        wx.send_template(
            "o-staff", "tpl-help-request", HELP_DATA, client_msg_id="care:reminder:2026-12-01:7"
        )
    assert raised.value.transient
    wx.send_template(
        "o-staff", "tpl-help-request", HELP_DATA, client_msg_id="care:reminder:2026-12-01:7"
    )

    assert len(templates(platform)) == 1


def test_client_msg_id_is_remembered_for_ten_minutes_only(wx, platform):
    wx.send_template("o-staff", "tpl-help-request", HELP_DATA, client_msg_id="help:2:1")
    platform.outbox[-1]["at"] -= 10 * 60  # the first send, ten minutes ago

    wx.send_template("o-staff", "tpl-help-request", HELP_DATA, client_msg_id="help:2:1")
    wx.send_template("o-staff", "tpl-help-request", HELP_DATA)  # no id: every send is delivered

    assert len(templates(platform)) == 3
