"""WeChat's retries: one side effect, and the identical reply, even when they overlap."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.models import Consent
from tests.conftest import APP_ID, TOKEN
from tests.fixtures.driver import WeChatDriver


def test_sequential_retries_get_one_effect_and_the_same_reply(wechat, session):
    wechat.send_text("o-retry", "登记")
    xml = wechat.xml("o-retry", "text", Content="同意", MsgId="777001")
    replies = [wechat.post(xml).get_data(as_text=True) for _ in range(3)]
    assert len(set(replies)) == 1
    assert "姓名" in wechat.reply(wechat.post(xml))["Content"]
    assert session.scalar(select(func.count()).select_from(Consent)) == 1


@pytest.mark.usefixtures("committed_db")
def test_concurrent_retries_get_one_effect_and_the_same_reply(app, wechat, session):
    wechat.send_text("o-race", "登记")
    xml = wechat.xml("o-race", "text", Content="同意", MsgId="777002")

    def post(_):
        driver = WeChatDriver(app.test_client(), TOKEN, APP_ID)
        return driver.post(xml).get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(post, range(3)))
    assert len(set(replies)) == 1 and "姓名" in replies[0]
    assert session.scalar(select(func.count()).select_from(Consent)) == 1
    # The dialog moved on exactly once: the next answer is taken as the name.
    assert "身份证号" in wechat.send_text("o-race", "阿苏拉则").splitlines()[-1]


def test_retried_event_is_answered_identically(wechat):
    xml = wechat.xml("o-evt", "event", create_time=1790000000, Event="subscribe")
    first, second = (wechat.post(xml).get_data(as_text=True) for _ in range(2))
    assert first == second and "欢迎" in first
