"""Scope is a security boundary: outside it, every id is answered as one that does not exist."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import AuditLog, Contact
from tests.fixtures.factories import (
    CountyFactory,
    HelpRequestFactory,
    TownshipFactory,
    VeteranFactory,
    VillageFactory,
)


@pytest.fixture
def world(places):
    """Veterans and a request in two villages of 九都镇, in 四开镇, and in another county."""
    haogu, jiudu_village = places.villages["好谷村"], places.villages["九都村"]
    other_county = CountyFactory(code="513430", name="金阳县退役军人服务中心")
    far_village = VillageFactory(parent=TownshipFactory(parent=other_county, code="513430101"))
    return {
        "haogu": VeteranFactory(station=haogu, name="好谷甲"),
        "jiudu": VeteranFactory(station=jiudu_village, name="九都乙"),
        "sikai": VeteranFactory(station=places.sikai_villages["交莫村"], name="四开丙"),
        "far": VeteranFactory(station=far_village, name="金阳丁"),
        "haogu_request": HelpRequestFactory(station=haogu),
        "jiudu_request": HelpRequestFactory(station=jiudu_village),
        "far_request": HelpRequestFactory(station=far_village),
        "other_county": other_county,
    }


def _sees(user, world, key: str) -> bool:
    if key.endswith("request"):
        status = user.get(f"/console/requests/{world[key].number}").status_code
    else:
        status = user.get(f"/console/veterans/{world[key].id}").status_code
    assert status in (200, 404)
    return status == 200


def test_village_staff_see_their_village_only(user, places, staff_at, world):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    assert _sees(user, world, "haogu") and _sees(user, world, "haogu_request")
    for key in ("jiudu", "sikai", "far", "jiudu_request", "far_request"):
        assert not _sees(user, world, key), key


def test_township_staff_see_their_villages(user, places, staff_at, world):
    staff_at(places.jiudu, openid="o-jiudu")
    user.sign_in_with_wechat("o-jiudu")
    for key in ("haogu", "jiudu", "haogu_request", "jiudu_request"):
        assert _sees(user, world, key), key
    for key in ("sikai", "far", "far_request"):
        assert not _sees(user, world, key), key


def test_a_county_administrator_sees_the_county_and_no_other(user, places, staff_at, world):
    staff_at(places.county, openid="o-county")
    user.sign_in_with_wechat("o-county")
    for key in ("haogu", "jiudu", "sikai", "haogu_request"):
        assert _sees(user, world, key), key
    assert not _sees(user, world, "far") and not _sees(user, world, "far_request")


def test_the_prefecture_sees_every_county(user, places, staff_at, world):
    staff_at(places.county, role="prefecture", openid="o-pref")
    user.sign_in_with_wechat("o-pref")
    for key in ("haogu", "sikai", "far", "far_request"):
        assert _sees(user, world, key), key


def test_a_refused_file_cannot_be_revealed_edited_or_logged(user, places, staff_at, world, session):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    other = world["jiudu"]
    base = f"/console/veterans/{other.id}"
    assert user.post(f"{base}/reveal", {"reason": "好奇"}).status_code == 404
    assert user.post(f"{base}/edit", {"phone": "13900000000"}).status_code == 404
    assert user.post(f"{base}/contacts", {"kind": "visit"}).status_code == 404
    session.refresh(other)
    assert other.phone != "13900000000"
    assert session.scalars(select(AuditLog).where(AuditLog.action == "reveal")).all() == []
    assert session.scalars(select(Contact)).all() == []


def test_lists_and_searches_stay_inside_the_scope(user, places, staff_at, world):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    page = user.get("/console/veterans").get_data(as_text=True)
    assert "好谷甲" in page and "九都乙" not in page and "金阳丁" not in page
    assert "金阳丁" not in user.get("/console/veterans", query_string={"q": "金阳"}).get_data(
        as_text=True
    )
    requests_page = user.get("/console/requests").get_data(as_text=True)
    assert world["haogu_request"].number in requests_page
    assert world["jiudu_request"].number not in requests_page
    # Naming a station outside the scope in a filter is refused like a guessed id.
    other = world["jiudu"].station_id
    assert user.get("/console/veterans", query_string={"station": other}).status_code == 404
    assert user.get("/console/stats", query_string={"id": other}).status_code == 404
    assert user.get("/console/stations", query_string={"id": other}).status_code == 404


def test_editors_see_statistics_and_no_one(user, places, staff_at, world):
    staff_at(places.county, role="editor", openid="o-editor")
    user.sign_in_with_wechat("o-editor")
    assert user.get("/console/").headers["Location"] == "/console/stats"
    assert user.get("/console/stats").status_code == 200
    assert user.get("/console/veterans").status_code == 404
    assert not _sees(user, world, "haogu") and not _sees(user, world, "haogu_request")


def test_the_audit_log_is_for_administrators_of_their_own_county(
    user, other_user, places, staff_at, world, session
):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    assert user.get("/console/audit").status_code == 404
    user.post(f"/console/veterans/{world['haogu'].id}/reveal", {"reason": "核对身份"})
    far_admin = staff_at(world["other_county"], openid="o-far")
    other_user.sign_in_with_wechat("o-far")
    page = other_user.get("/console/audit").get_data(as_text=True)
    assert "核对身份" not in page and far_admin.name in page  # their own sign-in only
    staff_at(places.county, openid="o-county")
    admin = other_user.__class__(user.client.application.test_client())
    admin.sign_in_with_wechat("o-county")
    assert "核对身份" in admin.get("/console/audit").get_data(as_text=True)
