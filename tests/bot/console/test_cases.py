"""求助 in the console: a case handled from the list to 办结, the veteran told at each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.models import AuditLog, CaseEvent, HelpRequest
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures.factories import VeteranFactory

VETERAN = "o-case-veteran"


@pytest.fixture
def filed(wechat, places, session):
    """A veteran of 好谷村 files a request over the signed webhook."""
    VeteranFactory(station=places.villages["好谷村"], openid=VETERAN, name="沙马拉且")
    wechat.converse(VETERAN, "求助", "帮扶解困")
    wechat.send_text(VETERAN, "家里房子漏雨，想申请帮扶")
    session.expire_all()
    return session.scalars(select(HelpRequest)).one()


def told(session, platform) -> list[str]:
    outbox.deliver(session, client())
    return [m.get("content", "") for m in platform.messages_to(VETERAN)]


def test_a_case_goes_from_the_list_to_done(user, places, staff_at, filed, session, platform):
    staff_at(places.villages["好谷村"], name="吉克阿依", openid="o-haogu")
    user.sign_in_with_wechat("o-haogu", next_=f"/console/requests/{filed.number}")
    listed = user.get("/console/requests").get_data(as_text=True)
    assert filed.number in listed
    page = user.get(f"/console/requests/{filed.number}").get_data(as_text=True)
    assert "家里房子漏雨" in page and 'id="accept"' in page
    step = f"/console/requests/{filed.number}/step"
    user.post(step, {"action": "签收"})
    user.post(step, {"action": "备注", "text": "先打电话问清楚"})
    user.post(step, {"action": "回复", "text": "明天上门查看"})
    user.post(step, {"action": "办结", "text": "已申请危房改造补助"})
    session.expire_all()
    assert filed.status == "已办结"
    steps = session.execute(
        select(CaseEvent.action, CaseEvent.public).where(CaseEvent.request_id == filed.id)
    ).all()
    assert [a for a, _ in steps] == ["提交", "签收", "备注", "回复", "办结"]
    assert dict(steps)["备注"] is False  # internal
    words = "\n".join(told(session, platform))
    assert "明天上门查看" in words and "已申请危房改造补助" in words
    assert "先打电话问清楚" not in words  # the veteran never sees an internal note
    page = user.get(f"/console/requests/{filed.number}").get_data(as_text=True)
    assert "先打电话问清楚" in page and "内部" in page and "已办结，不能再办理" in page


def test_a_step_the_state_forbids_is_refused_in_words(user, places, staff_at, filed, session):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    step = f"/console/requests/{filed.number}/step"
    user.post(step, {"action": "办结", "text": "好了"})
    user.post(step, {"action": "签收"})
    page = user.get(f"/console/requests/{filed.number}").get_data(as_text=True)
    assert "不能签收" in page
    user.post(step, {"action": "回复", "text": ""})
    assert "请填写回复内容" in user.get(f"/console/requests/{filed.number}").get_data(as_text=True)


def test_staff_of_another_village_cannot_act_on_the_case(user, places, staff_at, filed, session):
    staff_at(places.villages["九都村"], openid="o-jiudu-village")
    user.sign_in_with_wechat("o-jiudu-village")
    assert user.get(f"/console/requests/{filed.number}").status_code == 404
    assert (
        user.post(f"/console/requests/{filed.number}/step", {"action": "签收"}).status_code == 404
    )
    session.expire_all()
    assert filed.status == "已提交"


def test_transfer_up_a_level_leaves_the_village_scope(user, places, staff_at, filed, session):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    answer = user.post(
        f"/console/requests/{filed.number}/transfer", {"to": places.jiudu.id, "why": "需乡镇协调"}
    )
    assert answer.headers["Location"] == "/console/requests"
    session.expire_all()
    assert filed.station_id == places.jiudu.id
    assert user.get(f"/console/requests/{filed.number}").status_code == 404
    # A station outside both the line and the scope is not a target.
    other = places.sikai_villages["交莫村"].id
    staff_at(places.jiudu, openid="o-jiudu")
    township = user.__class__(user.client.application.test_client())
    township.sign_in_with_wechat("o-jiudu")
    township.post(f"/console/requests/{filed.number}/transfer", {"to": other})
    session.expire_all()
    assert filed.station_id == places.jiudu.id


def test_overdue_cases_come_first_and_show_as_late(user, places, staff_at, filed, session):
    staff_at(places.jiudu, openid="o-jiudu")
    user.sign_in_with_wechat("o-jiudu")
    with clock.travel(timedelta(hours=25)):
        home = user.get("/console/").get_data(as_text=True)
        late = user.get("/console/requests", query_string={"overdue": "1"})
    assert 'id="overdue-count">1<' in home
    assert filed.number in late.get_data(as_text=True) and "超期" in late.get_data(as_text=True)
    assert 'id="overdue-count">0<' in user.get("/console/").get_data(as_text=True)


def test_statistics_count_the_case_times_and_the_rating(user, places, staff_at, filed, session):
    staff_at(places.county, openid="o-county")
    user.sign_in_with_wechat("o-county")
    step = f"/console/requests/{filed.number}/step"
    with clock.travel(timedelta(hours=2)):
        user.post(step, {"action": "签收"})
    with clock.travel(timedelta(hours=10)):
        user.post(step, {"action": "办结", "text": "已解决"})
    session.expire_all()
    filed.rating, filed.rated_at, filed.status = "满意", clock.utcnow(), "已评价"
    session.commit()
    with clock.travel(timedelta(hours=10)):
        page = user.get("/console/stats").get_data(as_text=True).split('id="totals"')[1]
    assert "<b>2.0</b>签收用时" in page and "<b>10.0</b>办结用时" in page
    assert "<b>100.0%</b>满意率（1 件评价）" in page and "<b>1</b>办结求助" in page


def test_a_deletion_case_erases_the_file_and_is_audited(
    user, places, staff_at, wechat, session, platform
):
    veteran = VeteranFactory(station=places.villages["好谷村"], openid=VETERAN, name="沙马拉且")
    wechat.send_text(VETERAN, "删除我的信息")
    wechat.send_text(VETERAN, "确认删除")
    session.expire_all()
    case = session.scalars(select(HelpRequest).where(HelpRequest.kind == "删除")).one()
    staff_at(places.villages["好谷村"], openid="o-haogu")
    user.sign_in_with_wechat("o-haogu")
    user.post(f"/console/requests/{case.number}/erase", {"confirm": "wrong"})
    session.expire_all()
    assert veteran.erased_at is None
    user.post(f"/console/requests/{case.number}/erase", {"confirm": veteran.file_no})
    session.expire_all()
    assert veteran.erased_at is not None and veteran.name == "（已删除）"
    page = user.get(f"/console/veterans/{veteran.id}").get_data(as_text=True)
    assert "（已删除）" in page and "沙马拉且" not in page
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert entry.detail["file_no"] == veteran.file_no
    assert "已按您的要求删除" in told(session, platform)[-1]


def test_the_veteran_opening_their_notice_link_sees_what_they_were_told(
    user, places, staff_at, filed, session
):
    staff_at(places.villages["好谷村"], openid="o-haogu")
    staff = user.__class__(user.client.application.test_client())
    staff.sign_in_with_wechat("o-haogu")
    step = f"/console/requests/{filed.number}/step"
    staff.post(step, {"action": "备注", "text": "此人情况复杂"})
    staff.post(step, {"action": "回复", "text": "明天上门查看"})
    page = user.sign_in_with_wechat(VETERAN, next_=f"/console/requests/{filed.number}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "我的求助" in text and "明天上门查看" in text and "此人情况复杂" not in text
    assert user.get("/console/").status_code == 302  # no session: the console stays closed
    # Someone else's case is not theirs to see.
    other = user.sign_in_with_wechat("o-stranger", next_=f"/console/requests/{filed.number}")
    assert other.status_code == 403
