"""Matching answers to choices, by number or by place name, typed or spoken."""

from __future__ import annotations

import pytest

from bot.dialogs.choices import core, matches, number, pick
from bot.records.directory import short_name

TOWNSHIPS = ["九都镇退役军人服务站", "四开镇退役军人服务站", "特木里镇"]
VILLAGES = ["好谷村", "九都村", "阿布村", "拉达社区"]


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("1", 1),
        (" 2 ", 2),
        ("３", 3),
        ("一", 1),
        ("第三个", 3),
        ("二号", 2),
        ("十", 10),
        ("十一", 11),
        ("二十", 20),
        ("二零零五", 2005),
        ("九都", None),
        ("", None),
    ],
)
def test_number(said, expected):
    assert number(said) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("九都镇退役军人服务站", "九都"),
        ("布拖县退役军人服务中心", "布拖"),
        ("好谷村", "好谷"),
        ("拉达社区", "拉达"),
        ("村", "村"),
    ],
)
def test_core_drops_station_and_place_suffixes(name, expected):
    assert core(name) == expected


def test_short_name_keeps_the_place_suffix():
    assert short_name("九都镇退役军人服务站") == "九都镇"
    assert short_name("服务站") == "服务站"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("1", 0),
        ("2", 1),
        ("四开镇", 1),
        ("四开", 1),
        ("九都镇退役军人服务站", 0),
        ("我在四开镇", 1),
        ("特木里", 2),
        ("4", None),
        ("0", None),
        ("北京", None),
        ("镇", None),
    ],
)
def test_pick_township(said, expected):
    assert pick(said, TOWNSHIPS) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [("好谷村", 0), ("好谷", 0), ("九都", 1), ("拉达", 3), ("拉达社区", 3), ("阿布村。", 2)],
)
def test_pick_village(said, expected):
    assert pick(said, VILLAGES) == expected


def test_numbers_can_be_refused_where_no_list_was_shown():
    assert pick("1", VILLAGES, numbered=False) is None


def test_prefixes_pick_a_category_and_ambiguity_picks_nothing():
    categories = ["就业创业", "帮扶解困", "信访", "权益保障", "政策咨询", "其他"]
    assert pick("帮扶", categories) == 1
    assert pick("政策", categories) == 4
    assert matches("九都", ["九都镇", "九都镇（昭觉县）"]) == [0]
    assert matches("好谷", ["好谷村", "好谷村"]) == [0, 1]
    assert pick("好谷", ["好谷村", "好谷村"]) is None
