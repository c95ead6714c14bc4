"""台账: search, the new fields and their filters, edits in the history, reveals, contacts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from bot import clock
from bot.crypto import mask_id
from bot.models import AuditLog, Contact, FileChange
from tests.fixtures.factories import VeteranFactory, id_number


@pytest.fixture
def township(user, places, staff_at):
    staff_at(places.jiudu, name="吉克阿呷", openid="o-jiudu")
    user.sign_in_with_wechat("o-jiudu")
    return places


def test_search_by_name_file_number_or_phone(user, township):
    haogu = township.villages["好谷村"]
    a = VeteranFactory(station=haogu, name="阿什木呷", phone="13981110001")
    b = VeteranFactory(station=haogu, name="吉布日体", phone="13981110002")

    def found(q: str) -> str:
        return user.get("/console/veterans", query_string={"q": q}).get_data(as_text=True)

    assert "阿什木呷" in found("木呷") and "吉布日体" not in found("木呷")
    assert "吉布日体" in found(b.file_no) and "阿什木呷" not in found(b.file_no)
    # Typed on a phone's Chinese keyboard: full-width digits.
    assert "阿什木呷" in found("１１１０００１") and "吉布日体" not in found("１１１０００１")
    assert a.file_no in found("")


def test_filter_households_without_a_plaque(user, township):
    haogu = township.villages["好谷村"]
    VeteranFactory(station=haogu, name="已挂牌", plaque_hung=True, plaque_hung_on=date(2025, 8, 1))
    VeteranFactory(station=haogu, name="未挂牌")
    page = user.get("/console/veterans", query_string={"f": "no_plaque"}).get_data(as_text=True)
    assert "未挂牌" in page and "已挂牌" not in page


def test_editing_a_file_is_recorded_in_its_history(user, township, session):
    veteran = VeteranFactory(station=township.villages["好谷村"], name="阿什木呷")
    form = {
        "phone": "13981119999",
        "village_group": "三组",
        "address_cipher": "九都镇好谷村三组12号",
        "emergency_cipher": "阿什阿支 13981118888",
        "plaque_hung": "1",
        "plaque_hung_on": "2025-08-01",
        "paired_cipher": "吉克伍呷",
        "volunteer": "1",
    }
    answer = user.post(f"/console/veterans/{veteran.id}/edit", form)
    assert answer.status_code == 302
    page = user.get(f"/console/veterans/{veteran.id}").get_data(as_text=True)
    assert "已保存" in page and "九都镇好谷村三组12号" in page and "已挂牌（2025-08-01）" in page
    assert "住址：（空） → 九都镇好谷村三组12号" in page
    assert "吉克阿呷" in page.split('id="history"')[1]  # who changed it
    changes = session.scalars(select(FileChange).where(FileChange.veteran_id == veteran.id)).all()
    assert len(changes) == 8
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "edit")).one()
    assert entry.detail["file_no"] == veteran.file_no and "住址" in entry.detail["fields"]
    # At rest the address, the emergency contact and the pairing are never in the clear.
    dump = " ".join(
        str(v)
        for table in ("veterans", "file_changes", "audit_log")
        for row in session.execute(text(f"SELECT * FROM {table}"))
        for v in row
    )
    for secret in ("好谷村三组12号", "阿什阿支", "吉克伍呷"):
        assert secret not in dump
    # Saving the same values again changes nothing and records nothing.
    user.post(f"/console/veterans/{veteran.id}/edit", form)
    assert len(session.scalars(select(FileChange)).all()) == 8


def test_a_bad_value_saves_nothing(user, township, session):
    veteran = VeteranFactory(station=township.villages["好谷村"], phone="13981110001")
    user.post(f"/console/veterans/{veteran.id}/edit", {"phone": "12345", "village_group": "一组"})
    page = user.get(f"/console/veterans/{veteran.id}").get_data(as_text=True)
    assert "没有保存：手机号应为11位" in page
    session.refresh(veteran)
    assert veteran.phone == "13981110001" and veteran.village_group == ""


def test_the_id_number_is_masked_and_revealing_it_is_audited(user, township, session):
    number = id_number(seq=777)
    veteran = VeteranFactory(station=township.villages["好谷村"], id_value=number)
    page = user.get(f"/console/veterans/{veteran.id}").get_data(as_text=True)
    assert mask_id(number) in page and number not in page
    refused = user.post(f"/console/veterans/{veteran.id}/reveal", {"reason": " "})
    assert refused.status_code == 302
    assert session.scalars(select(AuditLog).where(AuditLog.action == "reveal")).all() == []
    shown = user.post(f"/console/veterans/{veteran.id}/reveal", {"reason": "办理优待证核对身份"})
    assert number in shown.get_data(as_text=True)
    entry = session.scalars(select(AuditLog).where(AuditLog.action == "reveal")).one()
    assert entry.actor.startswith("吉克阿呷#")
    assert entry.detail == {"file_no": veteran.file_no, "reason": "办理优待证核对身份"}
    assert entry.station_id == veteran.station_id


def test_recording_a_visit_clears_the_veteran_from_this_months_list(user, township, session):
    haogu = township.villages["好谷村"]
    hard = VeteranFactory(station=haogu, name="困难户", hardship=True)
    VeteranFactory(station=haogu, name="普通户")
    home = user.get("/console/").get_data(as_text=True)
    due = home.split('id="due"')[1]
    assert due.index("困难户") < due.index("普通户")  # hardship first
    user.post(f"/console/veterans/{hard.id}/contacts", {"kind": "phone", "note": "身体不好"})
    # A call does not clear a veteran in hardship: they are owed a visit.
    assert "困难户" in user.get("/console/").get_data(as_text=True).split('id="due"')[1]
    user.post(f"/console/veterans/{hard.id}/contacts", {"kind": "visit", "note": "送去米油"})
    assert "困难户" not in user.get("/console/").get_data(as_text=True).split('id="due"')[1]
    page = user.get(f"/console/veterans/{hard.id}").get_data(as_text=True)
    assert "送去米油" in page
    notes = session.scalars(select(Contact.note_cipher)).all()
    assert all("米油" not in n for n in notes) and len(notes) == 2


def test_a_contact_cannot_be_dated_in_the_future(user, township, session):
    veteran = VeteranFactory(station=township.villages["好谷村"])
    tomorrow = date.fromordinal(clock.today().toordinal() + 1)
    user.post(f"/console/veterans/{veteran.id}/contacts", {"kind": "visit", "on": str(tomorrow)})
    assert session.scalars(select(Contact)).all() == []


def test_the_ledger_list_costs_the_same_queries_for_5_files_or_30(user, township, count_queries):
    haogu = township.villages["好谷村"]
    VeteranFactory.create_batch(5, station=haogu)
    with count_queries() as few:
        assert user.get("/console/veterans").status_code == 200
    VeteranFactory.create_batch(25, station=township.villages["九都村"])
    with count_queries() as many:
        assert user.get("/console/veterans").status_code == 200
    assert len(many) == len(few)
    with count_queries() as home_few:
        user.get("/console/")
    VeteranFactory.create_batch(10, station=haogu, hardship=True)
    with count_queries() as home_many:
        user.get("/console/")
    assert len(home_many) == len(home_few)
