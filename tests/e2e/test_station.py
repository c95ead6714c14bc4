"""联系服务站 end to end: contacts for registered veterans, others and shared locations."""

from __future__ import annotations

import csv

import pytest

from bot.commands.stations import stations
from bot.records.imports.station_import import COLUMNS
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


def import_stations(app, path, *rows: dict) -> None:
    """Run `veteranbot stations import` on a file holding rows."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = app.test_cli_runner().invoke(stations, ["import", str(path)])
    assert result.exit_code == 0, result.output


def row(station, **changes) -> dict:
    """A station's line in an import file, with changes."""
    fields = {f: getattr(station, f) or "" for f in COLUMNS if f not in ("parent_code",)}
    return {**fields, "parent_code": station.parent.code if station.parent else "", **changes}


def test_an_imported_phone_is_in_the_very_next_answer(app, wechat, butuo, tmp_path):
    village = butuo.villages["阿布村"]
    factories.VeteranFactory(station=village, openid=OPENID)
    old_village, old_township = village.phone, butuo.jiudu.phone
    assert old_village in wechat.send_text(OPENID, "联系服务站")

    import_stations(
        app,
        tmp_path / "stations.csv",
        row(butuo.jiudu, phone="0834-5559999"),
        row(village, phone="13900001234"),
    )
    reply = wechat.send_text(OPENID, "联系服务站")

    assert "13900001234" in reply and "0834-5559999" in reply
    assert old_village not in reply and old_township not in reply


def test_a_veteran_moved_to_another_station_gets_its_contacts_at_once(wechat, butuo, session):
    veteran = factories.VeteranFactory(station=butuo.villages["阿布村"], openid=OPENID)
    assert shows(wechat.send_text(OPENID, "联系服务站"), butuo.jiudu)

    veteran.station = butuo.sikai_villages["交莫村"]
    session.commit()
    reply = wechat.send_text(OPENID, "联系服务站")

    assert shows(reply, butuo.sikai_villages["交莫村"]) and shows(reply, butuo.sikai)
    assert butuo.jiudu.name not in reply


def test_a_follower_who_registers_gets_their_stations_next_time(wechat, butuo):
    assert "乡镇" in last_line(wechat.send_text(OPENID, "联系服务站"))
    wechat.send_text(OPENID, "取消")

    factories.VeteranFactory(station=butuo.villages["阿布村"], openid=OPENID)
    reply = wechat.send_text(OPENID, "联系服务站")

    assert shows(reply, butuo.villages["阿布村"]) and shows(reply, butuo.jiudu)


def test_markup_in_the_directory_still_reaches_the_veteran(wechat, butuo, session):
    # "]]>" ends an XML CDATA section: sent as it is, the reply would not parse.
    village = butuo.villages["阿布村"]
    village.address = "村委会]]><b>二楼"
    session.commit()
    factories.VeteranFactory(station=village, openid=OPENID)

    assert "地址：村委会]]><b>二楼" in wechat.send_text(OPENID, "联系服务站")


def test_at_the_county_centre_the_county_centre_is_nearest(wechat, butuo):
    county = butuo.county

    reply = wechat.send_location(OPENID, county.lat, county.lon)

    assert county.name in reply and county.phone in reply and "不到1公里" in reply


def test_a_place_far_outside_is_said_to_be_outside_with_the_county_phones(wechat, butuo):
    chengdu = (30.66, 104.06)

    reply = wechat.send_location(OPENID, *chengdu)

    assert "不在凉山州的服务范围内" in reply and butuo.county.phone in reply
    assert not any(v.name in reply for v in butuo.villages.values())


def test_a_far_place_inside_a_dialog_still_asks_the_township(wechat, butuo):
    wechat.send_text(OPENID, "联系服务站")

    reply = wechat.send_location(OPENID, 30.66, 104.06)

    assert "服务范围" in reply and "乡镇" in last_line(reply)


@pytest.mark.parametrize("other", ["2", "嗯嗯嗯好吧"])
def test_an_answer_other_than_yes_or_no_to_the_nearest_is_asked_again(wechat, butuo, other):
    wechat.send_text(OPENID, "联系服务站")
    rihuo = butuo.villages["日火村"]
    wechat.send_location(OPENID, rihuo.lat + 0.002, rihuo.lon)

    reply = wechat.send_text(OPENID, other)

    assert "请回复“是”或“不是”" in reply and "日火村" in reply
    assert shows(wechat.send_text(OPENID, "是"), rihuo)


def test_with_one_township_its_villages_are_asked_straight_away(wechat, session):
    township = factories.TownshipFactory()
    village = factories.VillageFactory(parent=township, name="好谷村退役军人服务站")

    asked = wechat.send_text(OPENID, "联系服务站")

    assert "1 好谷村" in asked and "村" in last_line(asked)
    assert shows(wechat.send_text(OPENID, "1"), village)
