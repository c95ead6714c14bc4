"""`veteranbot menu push` against the emulated platform, and the installed buttons in use."""

from __future__ import annotations

import pytest

from bot import db as database
from bot.commands.menu import menu
from bot.sandbox import menus
from bot.wechat.custom_menu import click_keys, layout
from tests.fixtures.ledgers import load_sample

SITE = "https://tyjr.example.cn/column"


@pytest.fixture
def app_settings(app_settings):
    app_settings["SITE_URL"] = SITE
    return app_settings


@pytest.fixture
def push(app):
    runner = app.test_cli_runner()
    return lambda: runner.invoke(menu, ["push"])


def test_push_installs_the_four_things_within_wechats_limits(push, platform):
    result = push()
    assert result.exit_code == 0, result.output
    installed = platform.menu["button"]
    assert len(installed) <= 3
    assert all(len(b.get("sub_button", [])) <= 5 for b in installed)
    names = {b["name"] for top in installed for b in [top, *top.get("sub_button", [])]}
    assert {"登记", "求助", "找服务站", "风采录"} <= names
    [column] = [b for b in installed if b["name"] == "风采录"]
    assert (column["type"], column["url"]) == ("view", SITE + "/")
    assert "菜单已安装" in result.output


def test_each_button_reaches_the_same_dialog_as_its_words(app, push, platform, wechat):
    with app.app_context():
        load_sample(database.session())
    assert push().exit_code == 0
    keys = click_keys(platform.menu)
    assert set(keys) >= {"REGISTER", "HELP", "STATION"}
    replies = {}
    for key, words in keys.items():
        replies[key] = wechat.click(f"o-click-{key}", key)
        assert replies[key] == wechat.send_text(f"o-typed-{key}", words), key
    # Every button opens its own dialog, none falls back to the general menu.
    assert len(set(replies.values())) == len(keys)
    assert wechat.send_text("o-lost", "菜单") not in replies.values()


def test_a_refused_push_says_why_and_changes_nothing(push, platform):
    platform.inject("cgi-bin/menu/create", 48001)
    result = push()
    assert result.exit_code != 0
    assert "菜单安装失败" in result.output and "48001" in result.output
    assert platform.menu is None


def test_every_button_shows_its_whole_name_on_a_phone(push, platform):
    # A phone shows 4 Chinese characters of a top button and 8 of a sub-button;
    # "联系服务站" was shown as "联系服务...".
    assert push().exit_code == 0
    shown = menus.as_shown(platform.menu)
    for top, seen in zip(platform.menu["button"], shown["button"], strict=True):
        assert seen["name"] == top["name"]
        for sub, seen_sub in zip(top.get("sub_button", []), seen["sub_button"], strict=True):
            assert seen_sub["name"] == sub["name"]


@pytest.mark.parametrize("old", ["联系服务站", "服务站", "找服务站"])
def test_the_old_and_new_words_reach_the_station_dialog(app, wechat, old):
    with app.app_context():
        load_sample(database.session())
    clicked = wechat.click("o-click", "STATION")

    assert wechat.send_text("o-typed", old) == clicked


@pytest.mark.parametrize(
    ("name", "where", "errcode"),
    [
        ("退役军人服务站", "top", 40018),  # 21 bytes
        ("凉山州退役军人事务局服务站联系电话与地址查询", "sub", 40025),  # 66 bytes
    ],
)
def test_the_emulator_refuses_names_over_wechats_byte_limits(app, platform, name, where, errcode):
    from bot.wechat.client import client
    from bot.wechat.errors import WeChatError

    body = layout("https://example.cn/")
    if where == "top":
        body["button"][1]["name"] = name
    else:
        body["button"][0]["sub_button"][0]["name"] = name
    with app.app_context(), pytest.raises(WeChatError) as refused:
        client().create_menu(body)
    assert refused.value.errcode == errcode
    assert platform.menu is None


def test_a_phone_cuts_long_names_as_wechat_says():
    assert menus.shown("联系服务站", menus.TOP_SHOWN) == "联系服务..."
    assert menus.shown("找服务站", menus.TOP_SHOWN) == "找服务站"
    assert menus.shown("我的求助", menus.SUB_SHOWN) == "我的求助"
