"""WeChat's retries: one side effect, and the identical reply, even when they overlap."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy import func, select

from bot.models import Consent, HelpRequest
from tests.conftest import APP_ID, TOKEN
from tests.fixtures import factories
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


@pytest.mark.usefixtures("committed_db")
def test_concurrent_retries_of_a_dialog_opener_get_one_answer_and_one_dialog(app, wechat, session):
    # Words that open a dialog are worked out by every attempt; one answer is kept.
    factories.butuo()
    xml = wechat.xml("o-race2", "text", Content="联系服务站", MsgId="777003")

    def post(_):
        driver = WeChatDriver(app.test_client(), TOKEN, APP_ID)
        return driver.post(xml).get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(post, range(3)))
    assert len(set(replies)) == 1 and "乡镇" in replies[0]
    assert "村" in wechat.send_text("o-race2", "九都").splitlines()[-1]


def test_retried_event_is_answered_identically(wechat):
    xml = wechat.xml("o-evt", "event", create_time=1790000000, Event="subscribe")
    first, second = (wechat.post(xml).get_data(as_text=True) for _ in range(2))
    assert first == second and "欢迎" in first


def round_trips(url: str, send) -> int:
    """Commands the app sent Redis while send() ran (not those its scripts ran inside Redis)."""
    watcher, marker = redis.Redis.from_url(url), redis.Redis.from_url(url)
    marker.ping()  # connected before the count starts
    try:
        with watcher.monitor() as monitor:
            send()
            marker.echo("end-of-count")
            count = 0
            while not (seen := monitor.next_command())["command"].startswith("ECHO"):
                count += seen["client_type"] != "lua"
            return count
    finally:
        watcher.close()
        marker.close()


@pytest.mark.parametrize(
    ("registered", "texts", "trips"),
    [
        (True, ["联系服务站"], 1),
        (False, ["联系服务站"], 1),
        (False, ["登记"], 1),
        (False, ["联系服务站", "九都"], 2),
        (False, ["今天天气怎么样"], 2),
    ],
    ids=[
        "a veteran's contacts",
        "a newcomer asked for the township",
        "registration begun",
        "a dialog's next step",
        "words the bot does not know",
    ],
)
def test_redis_round_trips_per_message(app, wechat, session, registered, texts, trips):
    # Words that open a dialog are answered first and stored in one trip; any
    # other message is claimed first, reading the dialog state and the card
    # version with the claim, then stored with its writes (bot/wechat/dedup.py).
    directory = factories.butuo()
    if registered:
        factories.VeteranFactory(station=directory.villages["阿布村"], openid="o-count")
    wechat.send_text("o-warm", "联系服务站")  # connects, and learns the card version
    *before, last = texts
    for text in before:
        wechat.send_text("o-count", text)

    replies = []
    counted = round_trips(
        app.config["REDIS_URL"], lambda: replies.append(wechat.send_text("o-count", last))
    )

    assert replies[0] and counted == trips


def test_a_reused_msg_id_never_answers_another_follower(wechat):
    # MsgId is WeChat's, but anyone who holds a signed URL can post any MsgId.
    first = wechat.send("o-first", "text", Content="登记", MsgId="880001")
    second = wechat.send("o-second", "text", Content="菜单", MsgId="880001")
    assert "同意" in first
    assert second != first and "找服务站" in second


def test_a_message_without_msg_id_is_refused_not_answered_from_the_cache(wechat):
    # wechatpy read a missing MsgId as 0: the second follower got the first's reply.
    wechat.send("o-first", "text", Content="登记", MsgId="0")
    xml = re.sub(r"<MsgId>\d+</MsgId>", "", wechat.xml("o-second", "text", Content="菜单"))
    assert "MsgId" not in xml
    response = wechat.post(xml)
    assert response.status_code == 400 and "同意" not in response.get_data(as_text=True)


@pytest.mark.usefixtures("committed_db")
def test_a_burst_from_one_follower_is_handled_in_order(app, wechat, session):
    # Twenty messages at once at the last step of 求助 filed two requests.
    directory = factories.butuo()
    factories.VeteranFactory(station=directory.villages["好谷村"], openid="o-burst")
    session.commit()
    wechat.converse("o-burst", "求助", "2")
    xmls = [wechat.xml("o-burst", "text", Content=f"房子漏雨 {i}") for i in range(20)]

    def post(xml):
        response = WeChatDriver(app.test_client(), TOKEN, APP_ID).post(xml)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, xmls))
    assert {status for status, _ in answers} == {200}
    session.expire_all()
    (filed,) = session.scalars(select(HelpRequest).where(HelpRequest.openid == "o-burst")).all()
    assert sum(filed.number in text for _, text in answers) == 1


def test_a_message_that_waits_too_long_for_its_follower_is_busy_then_retried(app, wechat):
    # Another web process is answering this follower (its lock is held).
    r = redis.Redis.from_url(app.config["REDIS_URL"])
    r.set("dedup:lock:o-waiting", "another-process", px=10_000)
    xml = wechat.xml("o-waiting", "text", Content="菜单")
    assert "系统繁忙" in wechat.reply(wechat.post(xml))["Content"]
    r.delete("dedup:lock:o-waiting")
    r.close()
    # Nothing was claimed: WeChat's retry of the same message is answered.
    assert "找服务站" in wechat.reply(wechat.post(xml))["Content"]
