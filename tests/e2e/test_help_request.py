"""求助 end to end: a veteran files a request, staff hear of it, 我的求助 shows it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot import clock
from bot.models import HelpRequest
from bot.records.directory import short_name
from tests.fixtures import factories
from tests.fixtures.templates import shown

OPENID = "o-help-asker"


@pytest.fixture
def butuo(session):
    return factories.butuo()


@pytest.fixture
def veteran(butuo):
    return factories.VeteranFactory(station=butuo.villages["好谷村"], openid=OPENID)


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def requests_of(session, openid=OPENID) -> list[HelpRequest]:
    session.expire_all()
    return session.scalars(select(HelpRequest).where(HelpRequest.openid == openid)).all()


def wait_for_messages(platform, openid, count=1, timeout=10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(platform.messages_to(openid)) < count:
        time.sleep(0.1)
    return platform.messages_to(openid)


def test_registered_veteran_files_a_request(wechat, session, veteran):
    categories = wechat.send_text(OPENID, "求助")
    assert "1 就业创业" in categories and "6 其他" in categories
    assert "类别" in last_line(categories)

    describe = wechat.send_text(OPENID, "2")
    assert "帮扶解困" in describe and "求助内容" in last_line(describe)

    done = wechat.send_text(OPENID, "家里房子漏雨，想申请帮扶")

    (request,) = requests_of(session)
    assert request.number in done and request.number.startswith("QZ")
    assert "好谷村服务站" in done and veteran.station.phone in done
    assert (request.category, request.status) == ("帮扶解困", "已提交")
    assert request.description == "家里房子漏雨，想申请帮扶"
    assert request.veteran_id == veteran.id and request.station_id == veteran.station_id


@pytest.mark.parametrize(
    ("answer", "category"),
    [
        ("1", "就业创业"),
        ("就业创业", "就业创业"),
        ("就业", "就业创业"),
        ("帮扶", "帮扶解困"),
        ("信访", "信访"),
        ("四", "权益保障"),
        ("政策咨询", "政策咨询"),
        ("其他", "其他"),
    ],
)
def test_category_by_number_or_name(wechat, session, veteran, answer, category):
    wechat.converse(OPENID, "求助", answer, "想问问退役金怎么领")

    assert requests_of(session)[0].category == category


@pytest.mark.parametrize(
    ("said", "category"),
    [
        ("找工作", "就业创业"),
        ("想找个工作", "就业创业"),
        ("就业", "就业创业"),
        ("生活困难", "帮扶解困"),
        ("看病", "帮扶解困"),
        ("我要投诉", "信访"),
        ("优待证", "权益保障"),
        ("问问政策", "政策咨询"),
    ],
)
def test_everyday_words_pick_the_category(wechat, veteran, said, category):
    wechat.send_text(OPENID, "求助")
    assert f"“{category}”" in wechat.send_text(OPENID, said)


@pytest.mark.parametrize("bad", ["7", "0", "天气", "嗯", "工作和看病"])
def test_unknown_category_is_asked_again(wechat, veteran, bad):
    wechat.send_text(OPENID, "求助")

    reply = wechat.send_text(OPENID, bad)

    assert "没听明白" in reply and "类别" in last_line(reply)


@pytest.mark.parametrize(("said", "problem"), [("嗯", "多说几句"), ("漏" * 501, "500字以内")])
def test_description_too_short_or_long_is_asked_again(wechat, session, veteran, said, problem):
    wechat.converse(OPENID, "求助", "1")

    reply = wechat.send_text(OPENID, said)

    assert problem in reply and "求助内容" in last_line(reply)
    assert requests_of(session) == []


def test_description_spoken_by_voice(wechat, session, veteran):
    wechat.send_voice(OPENID, "求助。")
    wechat.send_voice(OPENID, "政策咨询。")

    done = wechat.send_voice(OPENID, "我想问一下退役士兵的养老保险怎么接续。")

    assert "求助编号" in done
    assert requests_of(session)[0].description == "我想问一下退役士兵的养老保险怎么接续"


def test_unregistered_follower_gives_place_and_phone_first(wechat, session, butuo):
    intro = wechat.send_text(OPENID, "求助")
    assert "还没有登记" in intro and "登记" in intro and "乡镇" in last_line(intro)

    villages = wechat.send_text(OPENID, "九都")
    assert "0 不清楚" in villages and "村" in last_line(villages)
    ask_phone = wechat.send_text(OPENID, "日火村")
    assert "日火村" in ask_phone and "手机号" in last_line(ask_phone)
    bad_phone = wechat.send_text(OPENID, "12345")
    assert "11位" in bad_phone and "手机号" in last_line(bad_phone)
    wechat.converse(OPENID, "139 0000 1111", "权益保障")
    done = wechat.send_voice(OPENID, "优待证一直没有办下来")

    (request,) = requests_of(session)
    assert request.number in done
    assert request.veteran_id is None and request.contact_phone == "13900001111"
    assert request.station_id == butuo.villages["日火村"].id


def test_unregistered_follower_unsure_of_village_reaches_the_township(wechat, session, butuo):
    wechat.converse(OPENID, "求助", "四开", "0", "13900001111", "6", "想了解一下技能培训")

    assert requests_of(session)[0].station_id == butuo.sikai.id


def test_unregistered_follower_may_share_a_location(wechat, session, butuo):
    wechat.send_text(OPENID, "求助")
    lada = butuo.villages["拉达村"]

    offer = wechat.send_location(OPENID, lada.lat, lada.lon)
    wechat.converse(OPENID, "是", "13900001111", "1", "想找份工作")

    assert "拉达村" in offer
    assert requests_of(session)[0].station_id == lada.id


def test_unregistered_follower_may_register_instead(wechat, session, butuo):
    wechat.send_text(OPENID, "求助")

    reply = wechat.send_text(OPENID, "登记")

    assert "同意" in last_line(reply)
    assert requests_of(session) == []


def test_responsible_staff_receive_a_template_message(wechat, session, veteran, platform, worker):
    village_staff = factories.StaffFactory(station=veteran.station)
    township_staff = factories.StaffFactory(station=veteran.station.parent)
    elsewhere = factories.StaffFactory(
        station=factories.VillageFactory(parent=veteran.station.parent)
    )

    wechat.converse(OPENID, "求助", "信访", "村里修路占了我家的地，没有补偿")
    (request,) = requests_of(session)
    filed = clock.local(request.created_at)

    for member in (village_staff, township_staff):
        (message,) = wait_for_messages(platform, member.openid)
        assert message["kind"] == "template" and message["template_id"] == "tpl-help-request"
        # The account's category template, with its typed keys, as a phone shows it.
        assert shown(message) == {
            "求助编号": request.number,
            "求助类别": "信访",
            "服务站": short_name(veteran.station.name),
            "提交时间": f"{filed:%Y}年{filed:%m}月{filed:%d}日 {filed:%H:%M}",
        }
        assert message["dropped"] == []  # nothing the platform no longer shows
    assert platform.messages_to(elsewhere.openid) == []
    assert platform.messages_to(OPENID) == []


@pytest.mark.parametrize("word", ["我的求助", "进度"])
def test_my_requests_lists_them_with_status(wechat, session, veteran, word):
    wechat.converse(OPENID, "求助", "1", "想找份工作")
    wechat.converse(OPENID, "求助", "2", "家里有病人，生活困难")
    (older, newer) = sorted(requests_of(session), key=lambda r: r.id)
    older.status = "办理中"
    session.commit()
    factories.HelpRequestFactory(openid="o-someone-else", number="QZ999999")

    listing = wechat.send_text(OPENID, word)

    assert f"{older.number} 就业创业：办理中" in listing
    assert f"{newer.number} 帮扶解困：已提交" in listing
    assert listing.index(newer.number) < listing.index(older.number)
    assert "QZ999999" not in listing
    assert "求助" in last_line(listing)


def test_my_requests_when_there_are_none(wechat, butuo):
    reply = wechat.send_text(OPENID, "我的求助")

    assert "还没有提交过求助" in reply and "求助" in last_line(reply)


def test_cancel_leaves_the_request_unfiled(wechat, session, veteran):
    wechat.converse(OPENID, "求助", "1")

    assert "已取消" in wechat.send_text(OPENID, "取消")
    assert "请回复您要办的事" in wechat.send_text(OPENID, "想找份工作")
    assert requests_of(session) == []


def test_my_requests_lists_as_many_as_a_reply_holds_and_counts_the_rest(wechat, session, veteran):
    filed = [
        factories.HelpRequestFactory(
            openid=OPENID, station=veteran.station, number=f"QZ{i:06d}", status="已回访/关闭"
        )
        for i in range(1, 61)
    ]

    reply = wechat.send_text(OPENID, "我的求助")  # the driver refuses over 2,048 bytes

    shown = [r.number for r in filed if r.number in reply]
    assert len(shown) > 10  # not cut at a fixed count of rows
    assert shown == [r.number for r in filed[-len(shown) :]]  # the latest ones
    assert f"另有 {len(filed) - len(shown)} 条较早的未列出" in reply
