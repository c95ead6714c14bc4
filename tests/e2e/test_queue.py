"""`veteranbot queue`, `publish-due` and `publish SLUG`, as an editor runs them."""

from __future__ import annotations

import pytest

from bot.commands.publishing import publish_due, publish_one, queue
from tests.fixtures.publishing import ago, ahead, publishing_settings


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def cli(app, session, platform):
    platform.reset_publishing()
    runner = app.test_cli_runner()
    yield lambda command, *args: runner.invoke(command, list(args))
    platform.reset_publishing()


def test_queue_shows_dates_states_urls_reasons_and_what_waits(cli, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=2))
    make_story("next-week", publish_at=ahead(days=6), title="下周的稿件")
    assert cli(publish_due).exit_code == 0
    make_story("rejected", publish_at=ago(hours=1), title="被退回的稿件", photo_colour=(9, 9, 9))
    platform.publish_verdict = 4
    cli(publish_due)

    result = cli(queue)

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    jiudu = next(line for line in lines if "jiudu" in line)
    assert "已发布" in jiudu and "publish" in jiudu
    assert any(line.strip().startswith("微信：https://mp.weixin.qq.com/s/") for line in lines)
    later = next(line for line in lines if "next-week" in line)
    assert "等待中" in later and "下周的稿件" in later
    assert later.startswith(ahead(days=6).strftime("%Y-%m-%d"))
    rejected = next(line for line in lines if "rejected" in line)
    assert "失败" in rejected and "被退回的稿件" in rejected
    assert "    微信失败：微信审核未通过（publish_status 4）" in lines


def test_a_failure_shows_in_the_queue_and_publish_slug_tries_again(cli, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.publish_verdict = 4

    first = cli(publish_due)
    shown = cli(queue).output
    platform.publish_verdict = 0
    again = cli(publish_one, "jiudu", "--channel", "wechat")

    assert "失败" in first.output and "审核未通过" in first.output
    assert "微信失败：微信审核未通过（publish_status 4）" in shown
    assert again.exit_code == 0, again.output
    assert "jiudu wechat: 已发布 https://mp.weixin.qq.com/s/" in again.output
    assert "审核未通过" not in cli(queue).output


def test_publish_due_with_nothing_due_says_so(cli, make_story):
    make_story("later", publish_at=ahead(days=2))

    result = cli(publish_due)

    assert result.exit_code == 0
    assert "没有到期待发布的稿件" in result.output
    assert "等待中" in cli(queue).output


def test_publish_an_unknown_slug_fails_with_a_message(cli):
    result = cli(publish_one, "nope")

    assert result.exit_code != 0
    assert "nope" in result.output
