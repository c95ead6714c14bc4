"""Care reminder tasks, called with a date against the real database, Redis and emulator."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot import clock
from bot.care import contacts
from bot.crypto import cipher
from bot.models import OutboxMessage
from bot.wechat import outbox
from bot.wechat.client import client
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures import factories
from tests.fixtures.templates import opened, shown

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
    """The one reminder openid got, as the phone shows it."""
    (message,) = templates_to(platform, openid)
    assert message["template_id"] == TEMPLATE
    return shown(message)


def listed(client, platform, openid) -> str:
    """The page behind the one reminder openid got: the full list."""
    (message,) = templates_to(platform, openid)
    return opened(client, message)


def today() -> str:
    return clock.today().isoformat()


def day_shown(day) -> str:
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def test_each_staff_member_gets_their_own_area_hardship_and_disability_first(
    care, client, platform, area
):
    v = area.vets

    assert care.monthly(today()) == 4

    village = fields(platform, "o-haogu")
    assert village == {
        "服务站": "好谷村",
        "事项": "待联系",
        "人数": "2",
        "日期": day_shown(clock.today()),
    }
    page = listed(client, platform, "o-haogu")
    assert f"好谷村{clock.today().month}月联系提醒" in page
    assert "未联系 2 人，其中 1 人需上门走访" in page
    assert page.index("阿苦日体") < page.index("沙马拉且")  # visit-owed first
    assert "待走访" in page and "打电话不算" in page

    township = listed(client, platform, "o-jiudu")
    assert "海来木呷" not in township
    positions = [township.index(x.name) for x in (v.hardship, v.disabled, v.ordinary)]
    assert positions == sorted(positions)

    assert "海来木呷" in listed(client, platform, "o-jiaomo")
    assert fields(platform, "o-butuo")["人数"] == "4"
    assert "未联系 4 人，其中 2 人需上门走访" in listed(client, platform, "o-butuo")


def test_contacted_veterans_drop_off_but_a_call_leaves_hardship_on(
    care, client, platform, session, area
):
    v, on = area.vets, clock.today()
    contacts.record(session, cipher(), v.ordinary, "phone", on)
    contacts.record(session, cipher(), v.hardship, "phone", on)
    contacts.record(session, cipher(), v.disabled, "visit", on)
    session.commit()

    care.monthly(today())

    assert fields(platform, "o-haogu")["人数"] == "1"
    page = listed(client, platform, "o-haogu")
    assert "阿苦日体" in page and "沙马拉且" not in page
    assert "未联系 1 人，其中 1 人需上门走访" in listed(client, platform, "o-jiudu")


def test_staff_with_everyone_contacted_get_no_reminder(care, platform, session, area):
    contacts.record(session, cipher(), area.vets.sikai, "phone", clock.today())
    session.commit()

    care.monthly(today())

    assert templates_to(platform, "o-jiaomo") == []
    assert len(templates_to(platform, "o-haogu")) == 1


def test_a_long_list_sends_the_count_and_links_to_every_name(care, client, platform, session):
    village = factories.VillageFactory()
    factories.StaffFactory(station=village, openid="o-busy")
    for seq in range(1, 41):
        factories.VeteranFactory(station=village, seq=seq, name=f"长名单{seq:02d}")

    care.monthly(today())

    assert fields(platform, "o-busy")["人数"] == "40"
    page = listed(client, platform, "o-busy")
    assert all(f"长名单{seq:02d}" in page for seq in range(1, 41))


def test_the_link_to_a_list_cannot_be_altered(care, client, platform, area):
    care.monthly(today())
    (message,) = templates_to(platform, "o-haogu")

    forged = message["url"][:-3] + ("AAA" if not message["url"].endswith("AAA") else "BBB")
    page = client.get(forged.removeprefix("http://127.0.0.1:5000"))

    assert page.status_code == 404 and "阿苦日体" not in page.get_data(as_text=True)


def test_a_second_run_the_same_day_reminds_nobody_twice(care, platform, area):
    assert care.monthly(today()) == 4
    late = factories.StaffFactory(station=area.directory.jiudu, openid="o-late")

    assert care.monthly(today()) == 1

    for openid in ("o-haogu", "o-jiudu", "o-jiaomo", "o-butuo", late.openid):
        assert len(templates_to(platform, openid)) == 1


def test_a_transient_failure_waits_in_the_outbox_and_the_sweep_tells_each_once(
    care, platform, session, area
):
    platform.inject(TEMPLATE_SEND, 45011)

    assert care.monthly(today()) == 3
    assert care.monthly(today()) == 0  # a rerun at once: the fourth waits on its backoff
    sweep = outbox.deliver(session, client(), now=clock.utcnow() + timedelta(seconds=3))

    assert sweep.sent == 1
    for openid in ("o-haogu", "o-jiudu", "o-jiaomo", "o-butuo"):
        assert len(templates_to(platform, openid)) == 1


def test_reminders_are_written_in_one_commit_keyed_by_day_and_staff_member(
    care, platform, session, area
):
    platform.inject(TEMPLATE_SEND, 40003)  # one reminder refused for good

    care.monthly(today())
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    staff = (area.staff.village, area.staff.township, area.staff.other, area.staff.county)
    assert sorted(r.key for r in rows) == sorted(f"care:reminder:{today()}:{m.id}" for m in staff)
    assert sorted(r.state for r in rows) == ["failed", "sent", "sent", "sent"]
    assert care.monthly(today()) == 0  # the refused one is not sent again


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


def test_condolence_lists_go_out_a_week_before_army_day(care, client, platform, area, session):
    d = area.directory
    martyr = factories.VeteranFactory(station=d.villages["好谷村"], seq=7, category="烈属")

    assert care.condolence("2026-07-20") == 0  # twelve days ahead: not yet
    assert care.condolence("2026-07-25") == 3

    village = fields(platform, "o-haogu")
    assert village == {"服务站": "好谷村", "事项": "慰问", "人数": "2", "日期": "2026年08月01日"}
    page = listed(client, platform, "o-haogu")
    assert "好谷村建军节慰问名单" in page and "共 2 户，其中烈属 1 户" in page
    assert page.index(martyr.name) < page.index(area.vets.hardship.name)  # martyrs first
    county = listed(client, platform, "o-butuo")
    assert "吉木子石" not in county and "沙马拉且" not in county  # disability alone, ordinary
    assert templates_to(platform, "o-jiaomo") == []  # nobody on 交莫村's list
    # Later days of the same week send nothing more.
    assert care.condolence("2026-07-28") == 0
    assert len(templates_to(platform, "o-haogu")) == 1


def test_spring_festival_list_uses_the_lunar_date(care, client, platform, area):
    martyr = factories.VeteranFactory(
        station=area.directory.sikai_villages["四开村"], category="烈属", name="海来阿呷"
    )

    # 2027's Spring Festival is 02-06; 交莫村 has no martyrs' family or hardship.
    assert care.condolence("2027-01-30") == 3

    assert fields(platform, "o-butuo")["日期"] == "2027年02月06日"
    county = listed(client, platform, "o-butuo")
    assert "布拖县春节慰问名单" in county
    assert county.index(martyr.name) < county.index(area.vets.hardship.name)
    assert templates_to(platform, "o-jiaomo") == []
