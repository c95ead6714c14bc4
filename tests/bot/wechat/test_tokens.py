"""The shared access token: normal mode first, a force only for a token WeChat still issues,
and at most one force per 30 s across processes (docs/wechat.md, "Access tokens")."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from bot import store
from bot.wechat.client import WeChatClient, client
from bot.wechat.errors import TokenError


@pytest.fixture
def wx(app):
    with app.app_context():
        yield client()


def another_process(app, wx) -> WeChatClient:
    """A client as another process has it: its own object and Redis connection."""
    own = redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)
    return WeChatClient(wx.base_url, wx.appid, wx.secret, own)


def test_an_expired_token_is_replaced_in_normal_mode_without_forcing(wx, platform):
    wx.tags()
    platform.tokens.age(7200)  # WeChat's clock ran out before our cached copy's

    assert wx.tags() == []
    assert platform.tokens.force_calls == []


def test_a_token_replaced_elsewhere_is_taken_over_without_invalidating_it(app, wx, platform):
    wx.tags()
    # Another deployment on the same appid (a staging copy) forces a refresh.
    with platform.lock:
        theirs = platform.tokens.issue(force=True, now=time.time())["access_token"]
    platform.tokens.age(60)  # a minute ago

    assert wx.tags() == []  # refused, then the current token asked for in normal mode
    assert store.client().get(wx.token_key) == theirs
    assert platform.tokens.forced == 1  # theirs only: their token still works


def test_a_token_wechat_still_issues_but_refuses_is_forced_once(wx, platform):
    wx.tags()
    refused = store.client().get(wx.token_key)
    platform.inject("cgi-bin/tags/get", 40001)

    assert wx.tags() == []
    assert platform.tokens.forced == 1
    assert store.client().get(wx.token_key) != refused


def test_a_second_refusal_within_30_seconds_does_not_force_again(app, wx, platform):
    wx.tags()
    platform.inject("cgi-bin/tags/get", 40001)
    wx.tags()  # forced
    platform.inject("cgi-bin/tags/get", 40001)  # the new token refused by another call

    assert another_process(app, wx).tags() == []  # retried once with the current token
    assert len(platform.tokens.force_calls) == 1


def test_two_processes_refusing_the_same_token_force_one_refresh(app, wx, platform):
    wx.tags()
    processes = [another_process(app, wx), another_process(app, wx)]
    platform.inject("cgi-bin/tags/get", 40001, 40001)
    start = threading.Barrier(2)
    answers, failures = [], []

    def work(process):
        start.wait()
        try:
            answers.append(process.tags())
        except Exception as exc:  # reported below, with the test's own assertion
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)

    assert failures == [] and answers == [[], []]
    assert len(platform.tokens.force_calls) == 1


def test_a_token_still_refused_after_the_refresh_raises_instead_of_looping(wx, platform):
    platform.inject("cgi-bin/tags/get", 40001, 40001, 40001)
    with pytest.raises(TokenError):
        wx.tags()
    assert platform.calls.count("cgi-bin/tags/get") == 2
    assert len(platform.tokens.force_calls) == 1
