"""服务站 (binding and unbinding by administrators) and 统计 (rolled up, exported with an audit)."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
from sqlalchemy import select

from bot import clock
from bot.models import AuditLog, Staff
from tests.fixtures.factories import HelpRequestFactory, VeteranFactory


def test_a_county_administrator_binds_and_unbinds_staff(user, places, staff_at, session):
    staff_at(places.county, name="县管理员", openid="o-county")
    user.sign_in_with_wechat("o-county")
    haogu = places.villages["好谷村"]
    user.post(f"/console/stations/{haogu.id}/staff", {"name": "阿牛", "openid": "o-aniu"})
    member = session.scalar(select(Staff).where(Staff.openid == "o-aniu"))
    assert member.station_id == haogu.id
    page = user.get("/console/stations", query_string={"id": haogu.id}).get_data(as_text=True)
    assert "阿牛" in page.split('class="card"')[1]
    user.post(f"/console/staff/{member.id}/unbind")
    session.refresh(member)
    assert member.unbound_at is not None
    page = user.get("/console/stations", query_string={"id": haogu.id}).get_data(as_text=True)
    assert "已解除绑定：阿牛" in page and "阿牛" not in page.split('class="card"')[1]
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["bind", "unbind"]


def test_township_staff_see_the_directory_but_cannot_bind(user, places, staff_at, session):
    staff_at(places.jiudu, openid="o-jiudu")
    colleague = staff_at(places.villages["好谷村"], name="村干部")
    user.sign_in_with_wechat("o-jiudu")
    page = user.get("/console/stations").get_data(as_text=True)
    assert "好谷村退役军人服务站" in page and "村干部" in page and "解除绑定" not in page
    haogu = places.villages["好谷村"]
    assert (
        user.post(f"/console/stations/{haogu.id}/staff", {"name": "x", "openid": "o-x"}).status_code
        == 404
    )
    assert user.post(f"/console/staff/{colleague.id}/unbind").status_code == 404
    assert session.scalar(select(Staff).where(Staff.openid == "o-x")) is None


def test_statistics_roll_up_the_tree_and_count_the_new_fields(user, places, staff_at):
    staff_at(places.county, openid="o-county")
    user.sign_in_with_wechat("o-county")
    haogu, jiaomo = places.villages["好谷村"], places.sikai_villages["交莫村"]
    VeteranFactory(station=haogu, plaque_hung=True)
    VeteranFactory(station=haogu, volunteer=True)
    VeteranFactory(station=jiaomo)
    HelpRequestFactory(station=haogu)
    answer = user.get("/console/stats.csv")
    rows = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    by_name = {r[0]: r for r in rows[1:]}
    jiudu, sikai, total = by_name["九都镇退役军人服务站"], by_name["四开镇退役军人服务站"], rows[-1]
    assert (jiudu[1], jiudu[4], jiudu[6], jiudu[7]) == ("2", "1", "1", "1")
    assert (sikai[1], sikai[3]) == ("1", "0.0")
    assert total[0] == "布拖县退役军人服务中心" and total[1] == "3"


def test_every_export_is_audited_before_it_leaves(user, places, staff_at, session):
    staff_at(places.jiudu, openid="o-jiudu")
    user.sign_in_with_wechat("o-jiudu")
    VeteranFactory(station=places.villages["好谷村"])
    book = openpyxl.load_workbook(io.BytesIO(user.get("/console/stats.xlsx").get_data()))
    assert next(book.active.iter_rows(values_only=True))[0] == "服务站"
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "export.stats")).one()
    assert entry.detail["format"] == "xlsx" and entry.station_id == places.jiudu.id


def test_contact_coverage_counts_this_month(user, places, staff_at, session):
    from bot.care import contacts
    from bot.crypto import cipher

    staff_at(places.jiudu, openid="o-jiudu")
    user.sign_in_with_wechat("o-jiudu")
    haogu = places.villages["好谷村"]
    done, _ = VeteranFactory(station=haogu), VeteranFactory(station=haogu)
    with user.client.application.app_context():
        contacts.record(session, cipher(), done, "phone", clock.today())
        contacts.record(session, cipher(), done, "visit", date(2020, 1, 1))
    session.commit()
    page = user.get("/console/stats").get_data(as_text=True)
    assert "50.0%" in page.split('id="totals"')[1]
