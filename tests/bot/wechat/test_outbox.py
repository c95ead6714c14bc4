"""The outbox against the emulator: each row reaches its person once, whatever WeChat answers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import clock, db
from bot.models import OutboxMessage
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures.templates import HELP_DATA

TEMPLATE_SEND = "cgi-bin/message/template/send"
DATA = HELP_DATA


def templates(platform) -> list[dict]:
    return [m for m in platform.outbox if m["kind"] == "template"]


def received(platform) -> dict[str, int]:
    """How many template messages each openid has, as the people would count them."""
    counts: dict[str, int] = {}
    for m in templates(platform):
        counts[m["touser"]] = counts.get(m["touser"], 0) + 1
    return counts


def row(session, key: str) -> OutboxMessage:
    session.expire_all()
    return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))


def write(session, *keys: str, openid: str = "o-staff-1") -> list[int]:
    ids = [outbox.add(session, key, openid, "tpl-help-request", DATA) for key in keys]
    session.commit()
    return ids


def later(**delta) -> datetime:
    return clock.utcnow() + timedelta(**delta)


def test_a_row_is_sent_with_its_key_as_client_msg_id_and_marked_sent(session, platform):
    (row_id,) = write(session, "help:42:7")

    done = outbox.deliver(session, client(), [row_id])

    assert (done.sent, done.failed, done.waiting) == (1, 0, 0)
    (message,) = templates(platform)
    assert message["touser"] == "o-staff-1" and message["template_id"] == "tpl-help-request"
    assert message["data"] == DATA and message["client_msg_id"] == "help:42:7"
    saved = row(session, "help:42:7")
    assert (saved.state, saved.kind, saved.attempts) == ("sent", "help", 1)
    assert saved.msgid == str(message["msgid"]) and saved.sent_at is not None


def test_a_key_is_written_once_and_delivered_once(session, platform):
    first = write(session, "help:42:7")
    again = write(session, "help:42:7")

    outbox.deliver(session, client())
    outbox.deliver(session, client())

    assert first[0] is not None and again == [None]
    assert received(platform) == {"o-staff-1": 1}


def test_delivering_some_ids_leaves_the_others_to_the_sweep(session, platform):
    mine, _ = write(session, "help:1:1", "help:2:1")

    assert outbox.deliver(session, client(), [mine]).sent == 1
    assert row(session, "help:2:1").state == "pending"
    assert outbox.deliver(session, client()).sent == 1
    assert [m["client_msg_id"] for m in templates(platform)] == ["help:1:1", "help:2:1"]


def test_a_transient_error_waits_on_the_curve_then_sends_once(session, platform):
    write(session, "help:42:7")
    platform.inject(TEMPLATE_SEND, -1)  # system busy

    done = outbox.deliver(session, client())
    waiting = row(session, "help:42:7")

    assert (done.sent, done.waiting) == (0, 1)
    assert (waiting.state, waiting.attempts) == ("pending", 1)
    assert waiting.reason == "微信系统繁忙，稍后重试（-1）"
    assert done.retry_at == waiting.next_attempt_at
    assert outbox.deliver(session, client()).sent == 0  # not yet: 2 s on the curve
    assert outbox.deliver(session, client(), now=later(seconds=3)).sent == 1
    assert received(platform) == {"o-staff-1": 1}
    assert row(session, "help:42:7").attempts == 2


def test_a_send_whose_answer_was_lost_is_repeated_and_reaches_the_person_once(session, platform):
    write(session, "care:reminder:2026-12-01:7")
    platform.lost_answers[TEMPLATE_SEND] = 1  # delivered, but the answer timed out

    assert outbox.deliver(session, client()).waiting == 1
    assert outbox.deliver(session, client(), now=later(seconds=3)).sent == 1

    assert received(platform) == {"o-staff-1": 1}
    assert platform.calls.count(TEMPLATE_SEND) == 2
    assert row(session, "care:reminder:2026-12-01:7").msgid == str(templates(platform)[0]["msgid"])


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (40003, "收件人的 openid 无效（40003）"),
        (43004, "对方已取消关注公众号（43004）"),
        (47003, "模板消息的字段不符合模板要求（47003）"),
    ],
)
def test_a_permanent_error_fails_the_row_with_its_reason_and_it_is_never_resent(
    session, platform, code, reason
):
    write(session, "help:42:7")
    platform.inject(TEMPLATE_SEND, code)

    assert outbox.deliver(session, client()).failed == 1
    assert outbox.deliver(session, client(), now=later(hours=1)).sent == 0

    failed = row(session, "help:42:7")
    assert (failed.state, failed.reason) == ("failed", reason)
    assert templates(platform) == []


def test_the_daily_quota_holds_the_row_until_after_midnight_in_beijing(session, platform):
    write(session, "help:42:7")
    platform.inject(TEMPLATE_SEND, 45009)

    outbox.deliver(session, client())
    waiting = row(session, "help:42:7")
    resumes = clock.local(waiting.next_attempt_at)

    assert waiting.state == "pending" and "45009" in waiting.reason
    assert resumes.date() == clock.today() + timedelta(days=1) and resumes.hour == 0
    assert outbox.deliver(session, client(), now=waiting.next_attempt_at).sent == 1
    assert received(platform) == {"o-staff-1": 1}


def test_many_rows_go_out_in_parallel_each_once(session, platform):
    keys = [f"care:reminder:2026-12-01:{n}" for n in range(40)]
    for n, key in enumerate(keys):
        outbox.add(session, key, f"o-staff-{n}", "tpl-help-request", DATA)
    session.commit()
    platform.inject(TEMPLATE_SEND, 45011, 43004)  # whichever two come first

    done = outbox.deliver(session, client())

    assert (done.sent, done.failed, done.waiting) == (38, 1, 1)
    outbox.deliver(session, client(), now=later(seconds=3))
    assert len(received(platform)) == 39 and set(received(platform).values()) == {1}


def test_long_or_chinese_keys_become_a_short_digest(session):
    long_key = "editor:2026-12-01:" + "x" * 60
    chinese = "editor:海拔两千八百米:o-editor-1"

    assert outbox.client_msg_id("help:42:7") == "help:42:7"
    assert len(outbox.client_msg_id(long_key)) == 32 and outbox.client_msg_id(long_key).isascii()
    assert outbox.client_msg_id(chinese) != outbox.client_msg_id(chinese + "x")


def test_the_oldest_unsent_row_is_what_health_reports(session, platform):
    assert outbox.oldest_unsent(session) is None
    write(session, "help:1:1", "help:2:1")
    first = row(session, "help:1:1").created_at

    assert outbox.oldest_unsent(session) == first
    outbox.deliver(session, client())
    assert outbox.oldest_unsent(session) is None


@pytest.mark.usefixtures("committed_db")
def test_two_senders_at_once_send_each_row_once(app, platform):
    with app.app_context():
        for n in range(30):
            outbox.add(db.session(), f"help:{n}:1", f"o-staff-{n}", "tpl-help-request", DATA)
        db.session().commit()
    platform.latency_ms = 5  # long enough for the two to meet on the same rows
    counts: list[int] = []

    def sweep():
        with app.app_context():
            counts.append(outbox.deliver(db.session(), client()).sent)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        platform.latency_ms = 0

    assert sum(counts) == 30
    assert len(received(platform)) == 30 and set(received(platform).values()) == {1}
