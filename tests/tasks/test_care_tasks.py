"""Care reminder tasks, called with a date against the real database, Redis and emulator."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from bot import clock
from bot.care import contacts
from bot.crypto import cipher
from bot.wechat.errors import WeChatError
from bot.wechat.templates import FIELD_CHARS
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures import factories

TEMPLATE_SEND = "cgi-bin/message/template/send"
TEMPLATE = "tpl-care-reminder"


@pytest.fixture
def app_settings(app_settings):
    return {**app_settings, "WECHAT_TEMPLATE_CARE_REMINDER": TEMPLATE}


@pytest.fixture
def care(app, session):
    """This app's care task bodies by name, as the worker looks them up."""
    celery = celery_init_app(app)
    return SimpleNamespace(
        monthly=celery.tasks["tasks.care.monthly_reminder"],
        condolence=celery.tasks["tasks.care.condolence_lists"],
    )


@pytest.fixture
def area(session):
    """布拖县 with staff at every level and files in three villages of two townships."""
    d = factories.butuo()
    haogu, jiudu_village = d.villages["好谷村"], d.villages["九都村"]
    staff = SimpleNamespace(
        village=factories.StaffFactory(station=haogu, openid="o-haogu"),
        township=factories.StaffFactory(station=d.jiudu, openid="o-jiudu"),
        other=factories.StaffFactory(station=d.sikai_villages["交莫村"], openid="o-jiaomo"),
        county=factories.StaffFactory(station=d.county, openid="o-butuo"),
    )
    vets = SimpleNamespace(
        ordinary=factories.VeteranFactory(station=haogu, seq=1, name="沙马拉且"),
        hardship=factories.VeteranFactory(station=haogu, seq=2, name="阿苦日体", hardship=True),
        disabled=factories.VeteranFactory(
            station=jiudu_village, seq=1, name="吉木子石", disability=True
        ),
        sikai=factories.VeteranFactory(station=d.sikai_villages["交莫村"], seq=1, name="海来木呷"),
    )
    return SimpleNamespace(directory=d, staff=staff, vets=vets)


def templates_to(platform, openid) -> list[dict]:
    return [m for m in platform.messages_to(openid) if m["kind"] == "template"]


def fields(platform, openid) -> dict[str, str]:
    (message,) = templates_to(platform, openid)
    assert message["template_id"] == TEMPLATE
    return {k: v["value"] for k, v in message["data"].items()}


def today() -> str:
    return clock.today().isoformat()


def test_each_staff_member_gets_their_own_area_hardship_and_disability_first(care, platform, area):
    v = area.vets

    assert care.monthly(today()) == 4

    village = fields(platform, "o-haogu")
    assert village["keyword1"] == "好谷村"
    assert village["keyword2"] == "未联系 2 人，其中 1 人需上门走访"
    assert village["keyword3"] == "阿苦日体、沙马拉且"  # visit-owed first; names fit 20 chars
    assert f"{clock.today().month}月联系提醒" in village["first"]
    assert village["keyword4"] == today()
    assert "待走访" in village["remark"] and "打电话不算" in village["remark"]

    township = fields(platform, "o-jiudu")["keyword3"]
    assert "海来木呷" not in township
    positions = [township.index(x.name) for x in (v.hardship, v.disabled, v.ordinary)]
    assert positions == sorted(positions)
    assert "吉木子石" in township

    assert fields(platform, "o-jiaomo")["keyword3"] == "海来木呷"
    assert fields(platform, "o-butuo")["keyword2"] == "未联系 4 人，其中 2 人需上门走访"


def test_contacted_veterans_drop_off_but_a_call_leaves_hardship_on(care, platform, session, area):
    v, on = area.vets, clock.today()
    contacts.record(session, cipher(), v.ordinary, "phone", on)
    contacts.record(session, cipher(), v.hardship, "phone", on)
    contacts.record(session, cipher(), v.disabled, "visit", on)
    session.commit()

    care.monthly(today())

    assert fields(platform, "o-haogu")["keyword3"] == "阿苦日体"
    assert fields(platform, "o-jiudu")["keyword2"] == "未联系 1 人，其中 1 人需上门走访"


def test_staff_with_everyone_contacted_get_no_reminder(care, platform, session, area):
    contacts.record(session, cipher(), area.vets.sikai, "phone", clock.today())
    session.commit()

    care.monthly(today())

    assert templates_to(platform, "o-jiaomo") == []
    assert len(templates_to(platform, "o-haogu")) == 1


def test_a_long_list_names_the_first_few_and_says_how_many(care, platform, session):
    village = factories.VillageFactory()
    factories.StaffFactory(station=village, openid="o-busy")
    for seq in range(1, 13):
        factories.VeteranFactory(station=village, seq=seq, name=f"长名单{seq:02d}")

    care.monthly(today())

    listed = fields(platform, "o-busy")["keyword3"]
    assert listed.endswith("等 12 人") and len(listed) <= FIELD_CHARS
    assert "长名单01" in listed and "长名单12" not in listed


def test_a_second_run_the_same_day_reminds_nobody_twice(care, platform, area):
    assert care.monthly(today()) == 4
    late = factories.StaffFactory(station=area.directory.jiudu, openid="o-late")

    assert care.monthly(today()) == 1

    for openid in ("o-haogu", "o-jiudu", "o-jiaomo", "o-butuo", late.openid):
        assert len(templates_to(platform, openid)) == 1


def test_a_transient_failure_is_retried_and_the_retry_tells_each_once(care, platform, area):
    platform.inject(TEMPLATE_SEND, 45011)

    with pytest.raises(WeChatError) as raised:
        care.monthly(today())
    assert raised.value.transient
    care.monthly(today())

    for openid in ("o-haogu", "o-jiudu", "o-jiaomo", "o-butuo"):
        assert len(templates_to(platform, openid)) == 1


def test_the_worker_runs_the_beat_task_once_per_day(app, platform, area, worker):
    worker.send_task("tasks.care.monthly_reminder")
    worker.send_task("tasks.care.monthly_reminder")  # a second beat, or a redelivery

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not templates_to(platform, "o-butuo"):
        time.sleep(0.1)
    time.sleep(1.0)  # room for the second run to (not) send

    for openid in ("o-haogu", "o-jiudu", "o-jiaomo", "o-butuo"):
        assert len(templates_to(platform, openid)) == 1


def test_the_beat_runs_reminders_on_the_1st_and_20th_at_nine(app):
    schedule = BEAT_SCHEDULE["care-monthly-reminder"]["schedule"]
    assert schedule.day_of_month == {1, 20} and schedule.hour == {9} and schedule.minute == {0}
    daily = BEAT_SCHEDULE["care-condolence-lists"]
    assert daily["task"] == "tasks.care.condolence_lists" and daily["schedule"].hour == {9}


def test_condolence_lists_go_out_a_week_before_army_day(care, platform, area, session):
    d = area.directory
    martyr = factories.VeteranFactory(station=d.villages["好谷村"], seq=7, category="烈属")

    assert care.condolence("2026-07-20") == 0  # twelve days ahead: not yet
    assert care.condolence("2026-07-25") == 3

    village = fields(platform, "o-haogu")
    assert village["first"] == "好谷村建军节慰问名单"
    assert village["keyword2"] == "共 2 户，其中烈属 1 户"
    hardship = area.vets.hardship.name
    assert village["keyword3"] == f"{martyr.name}、{hardship}"  # martyrs' families first
    assert village["keyword4"] == "2026-08-01"
    county = fields(platform, "o-butuo")["keyword3"]
    assert "吉木子石" not in county and "沙马拉且" not in county  # disability alone, ordinary
    assert templates_to(platform, "o-jiaomo") == []  # nobody on 交莫村's list
    # Later days of the same week send nothing more.
    assert care.condolence("2026-07-28") == 0
    assert len(templates_to(platform, "o-haogu")) == 1


def test_spring_festival_list_uses_the_lunar_date(care, platform, area):
    martyr = factories.VeteranFactory(
        station=area.directory.sikai_villages["四开村"], category="烈属", name="海来阿呷"
    )

    # 2027's Spring Festival is 02-06; 交莫村 has no martyrs' family or hardship.
    assert care.condolence("2027-01-30") == 3

    county = fields(platform, "o-butuo")
    assert county["first"] == "布拖县春节慰问名单"
    assert county["keyword4"] == "2027-02-06"
    assert county["keyword3"].startswith(martyr.name)
    assert templates_to(platform, "o-jiaomo") == []
