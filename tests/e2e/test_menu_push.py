"""`veteranbot menu push` against the emulated platform, and the installed buttons in use."""

from __future__ import annotations

import pytest

from bot import db as database
from bot.commands.menu import menu
from bot.wechat.custom_menu import click_keys
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
    assert {"登记", "求助", "联系服务站", "风采录"} <= names
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
