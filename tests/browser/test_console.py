"""The console in a real browser: signing in both ways, a case from the list to 办结, an
audited reveal, and a refusal outside the scope. Phone-sized, as staff use it in WeChat."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.console import passwords
from bot.models import AuditLog, HelpRequest
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures.factories import (
    HelpRequestFactory,
    StaffFactory,
    VeteranFactory,
    butuo,
    id_number,
)

pytestmark = pytest.mark.browser

VETERAN = "o-browser-veteran"


@pytest.fixture
def places(session, committed_db):
    d = butuo()
    StaffFactory(station=d.villages["好谷村"], name="吉克阿依", openid="o-haogu")
    return d


def test_inside_wechat_the_notice_link_signs_staff_in_and_opens_the_case(
    served, phone, places, session, shoot
):
    base, _ = served
    case = HelpRequestFactory(station=places.villages["好谷村"], number="QZ000101")
    phone.goto(f"{base}/console/requests/{case.number}")
    # WeChat's browser goes straight to web authorisation; the sandbox asks who holds the phone.
    phone.get_by_label("openid").fill("o-haogu")
    phone.get_by_role("button", name="以此身份继续").click()
    phone.wait_for_url(re.compile(r"/console/requests/QZ000101$"))
    assert phone.get_by_role("heading", name=re.compile("QZ000101")).is_visible()
    assert "吉克阿依" in phone.locator("header").inner_text()
    shoot(phone, "case-new")


def test_on_a_desktop_staff_sign_in_with_a_password(served, desktop, places, session):
    base, _ = served
    admin = StaffFactory(station=places.county, name="县管理员", openid="o-county")
    admin.login, admin.password_hash = "county-admin", passwords.hash_password("a long passphrase")
    session.commit()
    desktop.goto(f"{base}/console/")
    desktop.get_by_label("用户名").fill("county-admin")
    desktop.get_by_label("密码").fill("not it")
    desktop.get_by_role("button", name="登录").click()
    assert desktop.get_by_role("alert").inner_text() == "用户名或密码不对"
    desktop.get_by_label("密码").fill("a long passphrase")
    desktop.get_by_role("button", name="登录").click()
    desktop.wait_for_url(f"{base}/console/")
    assert "县管理员" in desktop.locator("header").inner_text()
    assert desktop.get_by_role("link", name="审计").is_visible()


def _sign_in(page, base, openid):
    page.goto(f"{base}/console/")
    page.get_by_label("openid").fill(openid)
    page.get_by_role("button", name="以此身份继续").click()
    page.wait_for_url(f"{base}/console/")


def test_a_case_is_handled_from_the_list_to_done(
    served, phone, places, session, wechat, shoot, platform
):
    base, app = served
    VeteranFactory(station=places.villages["好谷村"], openid=VETERAN, name="沙马拉且")
    # Neighbours, so the 工作台 shows its order: hardship and disability first.
    VeteranFactory(station=places.villages["好谷村"], name="吉克伍呷", hardship=True)
    VeteranFactory(station=places.villages["好谷村"], name="阿说阿木", disability=True)
    wechat.converse(VETERAN, "求助", "帮扶解困")
    wechat.send_text(VETERAN, "家里房子漏雨，想申请帮扶")
    case = session.scalars(select(HelpRequest)).one()
    _sign_in(phone, base, "o-haogu")
    shoot(phone, "home")
    phone.get_by_role("link", name="求助", exact=True).click()
    shoot(phone, "requests")
    phone.get_by_role("link", name=re.compile(case.number)).click()
    phone.locator("#accept").click()
    assert "已签收" in phone.get_by_role("status").inner_text()
    phone.get_by_label("回复内容").fill("明天上门查看")
    phone.get_by_role("button", name="回复", exact=True).click()
    phone.locator("summary", has_text="办结").click()
    phone.get_by_label("办理结果").fill("已申请危房改造补助")
    phone.get_by_role("button", name="办结", exact=True).click()
    assert "已办结" in phone.get_by_role("heading", level=1).inner_text()
    shoot(phone, "case-done")
    timeline = phone.locator("#timeline").inner_text()
    assert "明天上门查看" in timeline and "已申请危房改造补助" in timeline
    with app.app_context():
        outbox.deliver(session, client())
    words = "\n".join(m.get("content", "") for m in platform.messages_to(VETERAN))
    assert "已申请危房改造补助" in words


def test_revealing_an_id_number_is_audited(served, phone, places, session, shoot):
    base, _ = served
    number = id_number(seq=555)
    veteran = VeteranFactory(station=places.villages["好谷村"], name="阿说", id_value=number)
    _sign_in(phone, base, "o-haogu")
    phone.get_by_role("link", name="台账").click()
    phone.get_by_label("姓名、统一编号或手机号").fill("阿说")
    phone.get_by_role("button", name="查找").click()
    phone.get_by_role("link", name=re.compile("阿说")).click()
    assert number not in phone.content() and phone.locator("#id-number").inner_text().startswith(
        number[:6]
    )
    shoot(phone, "file")
    phone.locator("summary", has_text="查看完整身份证号").click()
    phone.get_by_label(re.compile("原因")).fill("办理优待证核对身份")
    phone.get_by_role("button", name="查看", exact=True).click()
    assert phone.locator("#full-id").inner_text() == number
    session.expire_all()
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "reveal")).one()
    assert entry.detail == {"file_no": veteran.file_no, "reason": "办理优待证核对身份"}


def test_a_file_outside_the_scope_is_not_found(served, phone, places, session, shoot):
    base, _ = served
    other = VeteranFactory(station=places.villages["九都村"], name="九都乙")
    _sign_in(phone, base, "o-haogu")
    answer = phone.goto(f"{base}/console/veterans/{other.id}")
    assert answer.status == 404
    assert "不在您负责的范围内" in phone.content() and "九都乙" not in phone.content()
