"""Tagging veterans' followers against the strict emulator: names that fit, batches of 50,
a follower's 20 tags, the account's 100, and tag ids that are stale or not yet usable."""

from __future__ import annotations

import threading
import time

import pytest

from bot import store
from bot.commands.veterans import veterans
from bot.models import Follower
from bot.records import tagging
from bot.wechat.client import WeChatClient, client
from bot.wechat.errors import WeChatError
from tests.fixtures import factories

# The 17 county-level divisions of Liangshan (../shared/docs/domain.md), as the
# station directory names their service centres.
LIANGSHAN = [
    "西昌市",
    "会理市",
    "木里藏族自治县",
    "盐源县",
    "德昌县",
    "会东县",
    "宁南县",
    "普格县",
    "布拖县",
    "金阳县",
    "昭觉县",
    "喜德县",
    "冕宁县",
    "越西县",
    "甘洛县",
    "美姑县",
    "雷波县",
]


@pytest.fixture
def wx(app):
    with app.app_context():
        yield client()


def members(platform, name: str) -> set[str]:
    ids = {n: i for i, n in platform.tags.items()}
    return platform.tagged.get(ids.get(name), set())


def test_every_liangshan_county_gets_its_own_tag(wx, platform):
    names = [tagging.county_tag_name(f"{c}退役军人服务中心") for c in LIANGSHAN]

    for name in names:
        wx.ensure_tag(name)  # 45158 for a name over 30 bytes

    assert len(set(platform.tags.values())) == 17
    assert "木里县退役军人" in names and "西昌市退役军人" in names


def test_a_muli_veteran_gets_a_county_tag(wx, platform, session):
    muli = factories.CountyFactory(code="513422", name="木里藏族自治县退役军人服务中心")
    village = factories.VillageFactory(parent=factories.TownshipFactory(parent=muli))
    veteran = factories.VeteranFactory(station=village, openid="o-muli")

    assert tagging.tag_veteran(session, wx, veteran.id) == ["退役军人", "木里县退役军人"]
    assert "o-muli" in members(platform, "木里县退役军人")


def test_more_than_50_followers_are_tagged_in_calls_of_50(wx, platform):
    openids = [f"o-many-{n}" for n in range(120)]

    assert wx.tag_users(wx.ensure_tag("退役军人"), openids) == []

    assert members(platform, "退役军人") == set(openids)
    assert platform.calls.count("cgi-bin/tags/members/batchtagging") == 3


def test_a_follower_with_20_tags_does_not_stop_the_others(wx, platform):
    with platform.lock:  # the account's other tags, put on by its administrators
        for n in range(20):
            platform.tags[1000 + n] = f"其他标签{n}"
            platform.tagged[1000 + n] = {"o-full"}

    refused = wx.tag("退役军人", ["o-a", "o-full", "o-b"])

    assert refused == ["o-full"]
    assert members(platform, "退役军人") == {"o-a", "o-b"}


def test_a_full_account_still_gets_the_veteran_the_tags_it_has(wx, platform, session):
    wx.ensure_tag("退役军人")
    with platform.lock:  # 100 tags: no room for the county's
        platform.tags.update({1000 + n: f"其他标签{n}" for n in range(99)})
    veteran = factories.VeteranFactory(openid="o-late")
    session.add(Follower(openid="o-late"))
    session.commit()

    assert tagging.tag_veteran(session, wx, veteran.id) == ["退役军人"]
    assert "o-late" in members(platform, "退役军人")
    # Not every tag is on: the follower stays among those to tag again.
    assert session.get(Follower, "o-late").tagged_at is None


def test_a_tag_created_by_another_process_meanwhile_is_read_back(app, wx, platform):
    platform.slow_answers["cgi-bin/tags/get"] = 0.5  # our look-up answers late
    found = []

    def look_up():
        try:
            found.append(wx.ensure_tag("布拖县退役军人"))
        except WeChatError as exc:  # shown by the assertion below
            found.append(exc)

    ours = threading.Thread(target=look_up)
    ours.start()
    deadline = time.monotonic() + 5
    while "cgi-bin/tags/get" not in platform.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    other = WeChatClient(wx.base_url, wx.appid, wx.secret, store.client(app))
    theirs = other.post("cgi-bin/tags/create", {"tag": {"name": "布拖县退役军人"}})["tag"]["id"]
    ours.join(10)

    assert found == [theirs]  # our create got 45157; tags/get named their tag
    assert list(platform.tags.values()) == ["布拖县退役军人"]


def test_a_tag_refused_just_after_its_creation_is_retried(wx, platform):
    platform.inject("cgi-bin/tags/members/batchtagging", 45159)  # not yet usable

    assert wx.tag("退役军人", ["o-new"]) == []
    assert members(platform, "退役军人") == {"o-new"}


def test_a_cached_tag_deleted_on_the_account_is_looked_up_again(wx, platform):
    stale = wx.ensure_tag("退役军人")
    wx.post("cgi-bin/tags/delete", {"tag": {"id": stale}})  # an administrator deleted it

    assert wx.tag("退役军人", ["o-back"]) == []
    assert wx.ensure_tag("退役军人") != stale
    assert members(platform, "退役军人") == {"o-back"}


def test_a_tag_id_the_account_never_had_is_refused_with_45159(wx):
    with pytest.raises(WeChatError) as refused:
        wx.tag_users(99999, ["o-x"])
    assert refused.value.errcode == 45159


def test_veterans_tag_catches_up_on_followers_registered_before(app, wx, platform, session):
    muli = factories.CountyFactory(code="513422", name="木里藏族自治县退役军人服务中心")
    muli_village = factories.VillageFactory(parent=factories.TownshipFactory(parent=muli))
    butuo_village = factories.VillageFactory()
    vets = [factories.VeteranFactory(station=muli_village) for _ in range(2)]
    vets += [factories.VeteranFactory(station=butuo_village) for _ in range(53)]
    session.add_all(Follower(openid=v.openid) for v in vets)  # registered, never tagged
    session.commit()
    run = app.test_cli_runner()

    first = run.invoke(veterans, ["tag"])
    again = run.invoke(veterans, ["tag"])

    assert first.output.strip() == "补打标签 55 人" and again.output.strip() == "补打标签 0 人"
    assert members(platform, "退役军人") == {v.openid for v in vets}
    assert members(platform, "木里县退役军人") == {v.openid for v in vets[:2]}
    assert len(members(platform, "布拖县退役军人")) == 53
