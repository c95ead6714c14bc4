"""The bot's task bodies, called with IDs against the real database, Redis and emulator."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from bot import clock
from bot.crypto import cipher
from bot.models import Follower, OutboxMessage, VoiceMessage
from bot.requests import notices, recordings
from bot.sandbox import media
from bot.wechat import outbox
from bot.wechat.client import client
from bot.wechat.errors import WeChatError
from tasks import celery_init_app
from tests.fixtures import factories, wiring
from tests.fixtures.templates import shown

TEMPLATE_SEND = "cgi-bin/message/template/send"


@pytest.fixture
def bot_tasks(app, session):
    """This app's task bodies by name, as the worker looks them up.

    Looked up on the app's own Celery rather than through the shared_task
    proxies: those follow the thread's "current" Celery app, which a worker
    fixture in an earlier test may have left pointing at that test's app.
    """
    celery = celery_init_app(app)
    return SimpleNamespace(
        notify_staff=celery.tasks["tasks.bot.notify_staff"],
        tag_veteran=celery.tasks["tasks.bot.tag_veteran"],
        fetch_voice=celery.tasks["tasks.bot.fetch_voice"],
    )


@pytest.fixture
def request_with_staff(session):
    village = factories.VillageFactory(name="好谷村退役军人服务站")
    staff = [
        factories.StaffFactory(station=village),
        factories.StaffFactory(station=village.parent),
    ]
    request = factories.HelpRequestFactory(station=village, category="就业创业")
    return request, staff


def templates_to(platform, openid) -> list[dict]:
    return [m for m in platform.messages_to(openid) if m["kind"] == "template"]


def rows(session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def reasons(session) -> list[str]:
    return [r.reason for r in rows(session) if r.state == "failed"]


def unsent(session) -> list[OutboxMessage]:
    return [r for r in rows(session) if r.state in ("pending", "sending")]


def test_notify_staff_sends_each_responsible_member_one_notice(
    bot_tasks, platform, request_with_staff
):
    request, staff = request_with_staff

    assert bot_tasks.notify_staff(request.id) == 2

    for member in staff:
        (message,) = templates_to(platform, member.openid)
        assert message["template_id"] == "tpl-help-request"
        said = shown(message)
        assert said["求助编号"] == request.number
        assert said["求助类别"] == "就业创业"
        assert said["服务站"] == "好谷村"
        assert request.description not in str(message)


def test_notify_staff_run_twice_tells_nobody_twice(bot_tasks, platform, request_with_staff):
    request, staff = request_with_staff

    bot_tasks.notify_staff(request.id)
    assert bot_tasks.notify_staff(request.id) == 0

    assert all(len(templates_to(platform, m.openid)) == 1 for m in staff)


def test_a_transient_failure_retries_the_task_soon_and_the_sweep_covers_a_lost_retry(
    bot_tasks, platform, session, request_with_staff
):
    request, staff = request_with_staff
    platform.inject(TEMPLATE_SEND, -1)  # system busy, for whichever send comes first

    with pytest.raises(Retry):  # in 2 s, the notices' curve (the worker test below waits it)
        bot_tasks.notify_staff(request.id)
    assert sorted(len(templates_to(platform, m.openid)) for m in staff) == [0, 1]
    # Redis may lose that retry; the sweep sends what waits, once its time has come.
    assert outbox.deliver(session, client(), now=clock.utcnow() + timedelta(seconds=3)).sent == 1

    assert all(len(templates_to(platform, m.openid)) == 1 for m in staff)


def test_an_unfollowed_member_does_not_stop_the_others(
    bot_tasks, platform, session, request_with_staff
):
    request, staff = request_with_staff
    platform.inject(TEMPLATE_SEND, 43004)  # whichever send comes first meets an unfollower

    assert bot_tasks.notify_staff(request.id) == 1

    assert sorted(len(templates_to(platform, m.openid)) for m in staff) == [0, 1]
    assert reasons(session) == ["对方已取消关注公众号（43004）"]


def test_a_permanent_failure_fails_that_notice_with_its_reason_and_tells_the_others(
    bot_tasks, platform, session, request_with_staff
):
    request, staff = request_with_staff
    platform.inject(TEMPLATE_SEND, 40003)  # invalid openid: retrying cannot help

    assert bot_tasks.notify_staff(request.id) == 1
    assert bot_tasks.notify_staff(request.id) == 0  # a failed notice is not tried again

    # Sends run in parallel, so which member hits the fault varies; the other is told.
    assert sorted(len(templates_to(platform, m.openid)) for m in staff) == [0, 1]
    assert reasons(session) == ["收件人的 openid 无效（40003）"]


def test_the_daily_api_quota_holds_the_notice_until_tomorrow_without_a_retry_today(
    app, platform, session, request_with_staff
):
    request, staff = request_with_staff
    platform.inject(TEMPLATE_SEND, 45009)  # spent for today: retrying only burns more calls
    task = celery_init_app(app).tasks["tasks.bot.notify_staff"]

    assert task.apply(args=[request.id], throw=True).get() == 1

    assert platform.calls.count(TEMPLATE_SEND) == 2  # one each, no retry
    assert sorted(len(templates_to(platform, m.openid)) for m in staff) == [0, 1]
    (waiting,) = unsent(session)
    assert clock.local(waiting.next_attempt_at).date() == clock.today() + timedelta(days=1)
    assert "45009" in waiting.reason


def test_notify_staff_of_a_station_without_staff_sends_nothing(bot_tasks, platform, session):
    request = factories.HelpRequestFactory()

    assert bot_tasks.notify_staff(request.id) == 0
    assert platform.outbox == []


def test_notify_staff_delivers_the_rows_the_webhook_wrote_and_writes_no_more(
    bot_tasks, app, platform, session, request_with_staff
):
    request, staff = request_with_staff
    written = notices.add(session, request, wiring.template("help_request"))
    session.commit()

    assert bot_tasks.notify_staff(request.id) == 2

    assert len(written) == 2 and sorted(r.id for r in rows(session)) == sorted(written)
    assert all(len(templates_to(platform, m.openid)) == 1 for m in staff)


def test_tag_veteran_tags_the_follower_with_both_tags(bot_tasks, platform, session):
    veteran = factories.VeteranFactory(openid="o-tagged")
    session.add(Follower(openid="o-tagged"))
    session.commit()

    names = bot_tasks.tag_veteran(veteran.id)

    assert names == ["退役军人", "布拖县退役军人"]
    tags = {name: tag for tag, name in platform.tags.items()}
    assert all("o-tagged" in platform.tagged[tags[n]] for n in names)
    session.expire_all()
    assert session.get(Follower, "o-tagged").tagged_at is not None


def test_tag_veteran_uses_the_configured_veterans_tag(bot_tasks, app, platform, session):
    app.config["VETERAN_TAG"] = "老兵"
    veteran = factories.VeteranFactory(openid="o-renamed")

    assert bot_tasks.tag_veteran(veteran.id) == ["老兵", "布拖县老兵"]
    assert sorted(platform.tags.values()) == ["布拖县老兵", "老兵"]


def test_tag_veteran_twice_reuses_the_tags(bot_tasks, platform, session):
    first = factories.VeteranFactory()
    second = factories.VeteranFactory(station=first.station)

    bot_tasks.tag_veteran(first.id)
    bot_tasks.tag_veteran(second.id)

    assert len(platform.tags) == 2
    assert all(len(members) == 2 for members in platform.tagged.values())


def test_tag_veteran_skips_unclaimed_ledger_files_and_unfollowers(bot_tasks, platform, session):
    ledger = factories.VeteranFactory(openid=None, source="ledger")
    gone = factories.VeteranFactory(openid="o-gone")
    session.add(Follower(openid="o-gone", subscribed=False))
    session.commit()

    assert bot_tasks.tag_veteran(ledger.id) == []
    assert bot_tasks.tag_veteran(gone.id) == []
    assert platform.tagged == {}


def test_the_worker_retries_a_transient_failure_with_backoff(
    app, platform, request_with_staff, worker
):
    request, staff = request_with_staff
    platform.inject(TEMPLATE_SEND, 45011)  # per-minute limit: try again shortly
    worker.send_task("tasks.bot.notify_staff", args=[request.id])

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(templates_to(platform, m.openid) for m in staff):
        time.sleep(0.1)

    assert all(len(templates_to(platform, m.openid)) == 1 for m in staff)


def noted_voice(session, media_id: str) -> VoiceMessage:
    voice = VoiceMessage(openid="o-voice", media_id=media_id, format="amr")
    session.add(voice)
    session.flush()
    return voice


def test_fetch_voice_downloads_the_recording_once_and_keeps_it_encrypted(
    app, bot_tasks, session, platform
):
    recording = media.sample_voice(seconds=1)
    voice = noted_voice(session, media.issue(platform, recording))

    assert bot_tasks.fetch_voice(voice.id) == "fetched"
    assert bot_tasks.fetch_voice(voice.id) == "fetched"  # a second run downloads nothing

    assert platform.calls.count("cgi-bin/media/get") == 1
    session.expire_all()
    assert recording not in voice.audio.encode()  # at rest: encrypted
    assert recordings.audio(voice, cipher()) == recording


def test_fetch_voice_of_an_id_wechat_no_longer_has_fails_with_the_reason(
    app, bot_tasks, session, platform
):
    expired = media.issue(platform)
    platform.media[expired]["at"] -= media.TEMPORARY_SECONDS + 1  # past WeChat's 3 days
    voice = noted_voice(session, expired)

    assert bot_tasks.fetch_voice(voice.id) == "failed"
    session.expire_all()
    assert "40007" in voice.reason


def test_fetch_voice_leaves_a_transient_error_to_the_retry(app, bot_tasks, session, platform):
    voice = noted_voice(session, media.issue(platform))
    platform.inject("cgi-bin/media/get", -1)

    # Called directly, Celery's retry raises the error itself; the worker schedules it.
    with pytest.raises(WeChatError):
        bot_tasks.fetch_voice(voice.id)
    session.expire_all()
    assert voice.state == "waiting"
    assert bot_tasks.fetch_voice(voice.id) == "fetched"
