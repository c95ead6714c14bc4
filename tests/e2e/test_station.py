"""联系服务站 end to end: contacts for registered veterans, others and shared locations."""

from __future__ import annotations

import pytest

from tests.fixtures import factories

OPENID = "o-station-seeker"


@pytest.fixture
def butuo(session):
    return factories.butuo()


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def shows(reply: str, station) -> bool:
    """Whether a reply carries the station's name, head, phone, address and hours."""
    return all(v in reply for v in (station.name, station.head, station.phone, station.address))


@pytest.mark.parametrize("ask", ["联系服务站", "服务站", "3"])
def test_registered_veteran_gets_village_and_township(wechat, butuo, ask):
    village = butuo.villages["阿布村"]
    factories.VeteranFactory(station=village, openid=OPENID)

    reply = wechat.send_text(OPENID, ask)

    assert shows(reply, village) and shows(reply, butuo.jiudu)
    assert village.hours in reply and butuo.jiudu.hours in reply
    assert reply.index(village.name) < reply.index(butuo.jiudu.name)


def test_menu_click_reaches_the_same_dialog(wechat, butuo):
    factories.VeteranFactory(station=butuo.villages["阿布村"], openid=OPENID)

    assert shows(wechat.click(OPENID, "STATION"), butuo.jiudu)


@pytest.mark.parametrize(
    ("township", "village", "expected"),
    [
        ("1", "1", "好谷村"),
        ("九都镇", "阿布村", "阿布村"),
        ("九都", "阿布", "阿布村"),
        ("2", "四开", "四开村"),
    ],
)
def test_unregistered_follower_names_township_then_village(
    wechat, butuo, township, village, expected
):
    asked = wechat.send_text(OPENID, "联系服务站")
    assert "乡镇" in last_line(asked) and "位置" in asked

    villages = wechat.send_text(OPENID, township)
    assert "村" in last_line(villages)
    reply = wechat.send_text(OPENID, village)

    station = next(
        s for s in [*butuo.villages.values(), *butuo.sikai_villages.values()] if expected in s.name
    )
    assert shows(reply, station) and shows(reply, station.parent)


def test_unsure_of_the_village_gets_the_township(wechat, butuo):
    reply = wechat.converse(OPENID, "联系服务站", "九都", "不清楚")[-1]

    assert shows(reply, butuo.jiudu)
    assert not any(v.name in reply for v in butuo.villages.values())


def test_unknown_village_is_explained_and_asked_again(wechat, butuo):
    reply = wechat.converse(OPENID, "联系服务站", "九都", "北京")[-1]

    assert "没找到这个村" in reply and "村" in last_line(reply)


def test_location_in_the_dialog_offers_the_nearest(wechat, butuo):
    wechat.send_text(OPENID, "联系服务站")
    rihuo = butuo.villages["日火村"]

    offer = wechat.send_location(OPENID, rihuo.lat + 0.002, rihuo.lon)
    reply = wechat.send_text(OPENID, "对")

    assert "日火村" in offer and "是" in last_line(offer)
    assert shows(reply, rihuo) and shows(reply, butuo.jiudu)


def test_location_outside_any_dialog_finds_the_nearest_station(wechat, butuo):
    jiaomo = butuo.sikai_villages["交莫村"]

    reply = wechat.send_location(OPENID, jiaomo.lat - 0.001, jiaomo.lon + 0.001, "交莫")

    assert "最近" in reply and "公里" in reply
    assert shows(reply, jiaomo) and shows(reply, butuo.sikai)
    assert "菜单" in last_line(reply)


def test_no_directory_yet_is_said_plainly(wechat, session):
    assert "还没有录入" in wechat.send_text(OPENID, "联系服务站")
    assert "还没有录入" in wechat.send_location(OPENID, 27.6, 102.9)


def test_long_township_lists_ask_for_the_name_with_an_example(wechat, session):
    county = factories.CountyFactory()
    townships = [
        factories.TownshipFactory(parent=county, name=f"第{i}镇退役军人服务站") for i in range(20)
    ]
    village = factories.VillageFactory(parent=townships[7], name="新村退役军人服务站")

    asked = wechat.send_text(OPENID, "联系服务站")
    assert "1 " not in asked and "比如“第0镇”" in last_line(asked)
    reply = wechat.converse(OPENID, "第7镇", "新村")[-1]

    assert shows(reply, village) and shows(reply, townships[7])
