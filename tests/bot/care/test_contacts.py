"""The contact log and its lists, and `veteranbot contacts add|due`, against the real database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.care import contacts
from bot.commands.contacts import contacts_group
from bot.crypto import cipher
from bot.models import Contact
from tests.fixtures import factories


@pytest.fixture
def cli(app, session):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(contacts_group, [str(a) for a in args])

    return run


@pytest.fixture
def area(session):
    d = factories.butuo()
    haogu = d.villages["好谷村"]
    return {
        "d": d,
        "ordinary": factories.VeteranFactory(station=haogu, seq=1, name="沙马拉且"),
        "hardship": factories.VeteranFactory(station=haogu, seq=2, name="阿苦日体", hardship=True),
        "martyr": factories.VeteranFactory(station=haogu, seq=3, name="曲比阿果", category="烈属"),
        "disabled": factories.VeteranFactory(
            station=d.villages["九都村"], seq=1, name="吉木子石", disability=True
        ),
        "sikai": factories.VeteranFactory(
            station=d.sikai_villages["交莫村"], seq=1, name="海来木呷", hardship=True
        ),
    }


def logged(session) -> list[Contact]:
    session.expire_all()
    return list(session.scalars(select(Contact).order_by(Contact.id)))


def names(rows) -> list[str]:
    return [r.veteran.name for r in rows]


# -- the lists ---------------------------------------------------------------------


def test_due_is_scoped_to_the_area_and_puts_visits_first(session, area):
    d, on = area["d"], date(2026, 8, 3)

    assert names(contacts.due(session, d.villages["好谷村"], on)) == [
        "阿苦日体",
        "沙马拉且",
        "曲比阿果",
    ]
    assert names(contacts.due(session, d.jiudu, on)) == [
        "阿苦日体",
        "吉木子石",
        "沙马拉且",
        "曲比阿果",
    ]
    assert names(contacts.due(session, d.sikai, on)) == ["海来木呷"]
    assert len(contacts.due(session, d.county, on)) == 5


def test_only_this_calendar_month_counts_and_a_call_leaves_hardship_due(session, area):
    haogu, on = area["d"].villages["好谷村"], date(2026, 8, 3)
    contacts.record(session, cipher(), area["ordinary"], "visit", date(2026, 7, 31))
    contacts.record(session, cipher(), area["martyr"], "phone", date(2026, 8, 1))
    contacts.record(session, cipher(), area["hardship"], "phone", date(2026, 8, 2))
    session.commit()

    assert names(contacts.due(session, haogu, on)) == ["阿苦日体", "沙马拉且"]
    contacts.record(session, cipher(), area["hardship"], "visit", date(2026, 8, 3))
    assert names(contacts.due(session, haogu, on)) == ["沙马拉且"]
    # September starts afresh.
    assert len(contacts.due(session, haogu, date(2026, 9, 1))) == 3


def test_condolence_list_is_martyrs_families_then_hardship_in_the_area(session, area):
    d = area["d"]

    assert [(c.veteran.name, c.reason) for c in contacts.condolence_list(session, d.jiudu)] == [
        ("曲比阿果", "烈属"),
        ("阿苦日体", "困难"),
    ]
    county = contacts.condolence_list(session, d.county)
    assert names(county) == ["曲比阿果", "阿苦日体", "海来木呷"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 7, 24), None),  # eight days ahead
        (date(2026, 7, 25), ("army-day", date(2026, 8, 1))),
        (date(2026, 7, 31), ("army-day", date(2026, 8, 1))),
        (date(2026, 8, 1), None),  # on the day: too late for "before"
        (date(2026, 2, 10), ("spring-festival", date(2026, 2, 17))),
        (date(2027, 1, 30), ("spring-festival", date(2027, 2, 6))),
        (date(2027, 1, 29), None),
    ],
)
def test_condolence_lists_fall_due_in_the_week_before(day, expected):
    due = contacts.occasion_due(day)

    assert (due and (due[1].key, due[0])) == expected


def test_next_occasion_rolls_into_the_next_year():
    assert contacts.next_occasion(date(2026, 8, 2))[0] == date(2027, 2, 6)
    assert contacts.next_occasion(date(2026, 1, 1))[0] == date(2026, 2, 17)


# -- veteranbot contacts add ----------------------------------------------------------


def test_add_records_an_encrypted_note_for_a_staff_member(cli, session, area):
    member = factories.StaffFactory(station=area["d"].jiudu, openid="o-jiudu")
    vet = area["disabled"]

    result = cli(
        "add", "--file-no", vet.file_no, "--kind", "visit", "--date", "2026-08-02",
        "--note", "腿伤复发，需要轮椅", "--staff-openid", "o-jiudu",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"已记录：走访 吉木子石（{vet.file_no}）2026-08-02" in result.output
    assert "轮椅" not in result.output
    (contact,) = logged(session)
    assert (contact.kind, contact.contacted_on, contact.source) == (
        "visit",
        date(2026, 8, 2),
        "cli",
    )
    assert contact.staff_id == member.id
    assert "轮椅" not in contact.note_cipher
    assert cipher().decrypt(contact.note_cipher) == "腿伤复发，需要轮椅"


def test_add_defaults_to_today_and_warns_that_a_call_leaves_a_visit_owed(cli, session, area):
    result = cli("add", "--file-no", area["hardship"].file_no, "--kind", "phone")

    assert result.exit_code == 0, result.output
    assert "仍需上门走访" in result.output
    (contact,) = logged(session)
    assert contact.contacted_on == clock.today() and contact.staff_id is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--file-no", "513429104201-9999", "--kind", "visit"), "没有统一编号为"),
        (("--file-no", "{sikai}", "--kind", "visit", "--staff-openid", "o-jiudu"), "不在"),
        (("--file-no", "{sikai}", "--kind", "visit", "--staff-openid", "o-nobody"), "没有绑定"),
        (("--file-no", "{sikai}", "--kind", "visit", "--date", "2026/08/01"), "YYYY-MM-DD"),
        (("--file-no", "{sikai}", "--kind", "visit", "--date", "{tomorrow}"), "将来"),
        (("--file-no", "{sikai}", "--kind", "call"), "phone"),
    ],
)
def test_add_refuses_with_a_reason(cli, session, area, args, message):
    factories.StaffFactory(station=area["d"].jiudu, openid="o-jiudu")
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    filled = [a.format(sikai=area["sikai"].file_no, tomorrow=tomorrow) for a in args]

    result = cli("add", *filled)

    assert result.exit_code != 0 and message in result.output
    assert logged(session) == []


# -- veteranbot contacts due ----------------------------------------------------------


def test_due_prints_the_station_area_visits_first_and_the_condolence_list(cli, session, area):
    contacts.record(session, cipher(), area["ordinary"], "phone", date(2026, 7, 10))
    session.commit()

    result = cli("due", "--station", "513429104", "--date", "2026-07-20")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "九都镇退役军人服务站（513429104）2026年7月 未联系 3 人，其中需走访 2 人"
    assert lines[1] == f"  {area['hardship'].file_no}  阿苦日体  好谷村  需走访（困难）"
    assert lines[2] == f"  {area['disabled'].file_no}  吉木子石  九都村  需走访（伤残）"
    assert lines[3] == f"  {area['martyr'].file_no}  曲比阿果  好谷村"
    assert lines[4] == "慰问名单（建军节 2026-08-01）共 2 户"
    assert lines[5:7] == [
        f"  {area['martyr'].file_no}  曲比阿果  好谷村  烈属",
        f"  {area['hardship'].file_no}  阿苦日体  好谷村  困难",
    ]
    assert "海来木呷" not in result.output


def test_due_without_a_station_covers_every_county(cli, area):
    result = cli("due", "--date", "2026-08-05")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("布拖县退役军人服务中心（513429）2026年8月 未联系 5 人")
    assert "慰问名单（春节 2027-02-06）共 3 户" in result.output


def test_due_for_an_unknown_station_says_so(cli, area):
    result = cli("due", "--station", "999")

    assert result.exit_code != 0 and "没有编号为 999 的服务站" in result.output


@pytest.mark.parametrize(
    "said",
    [
        "513429-107-01-0001",
        "513429107010001",
        "513429杠107杠01杠0001",
        "５１３４２９－１０７－０１－０００１",
        "513429-10701-0001",
    ],
)
def test_a_number_is_found_however_the_dashes_came_through(session, said):
    village = factories.VillageFactory(code="513429-107-01")
    veteran = factories.VeteranFactory(station=village, seq=1)

    assert veteran.file_no == "513429-107-01-0001"
    assert contacts.by_file_no(session, said) == veteran
    assert contacts.by_file_no(session, "513429107010002") is None
