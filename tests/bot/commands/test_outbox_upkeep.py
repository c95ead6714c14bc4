"""`veteranbot outbox retry` and `prune`, and beat's nightly prune: keeping the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import clock
from bot.commands.outbox import outbox_command
from bot.models import OutboxMessage
from bot.wechat import outbox
from bot.wechat.client import client
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures.templates import HELP_DATA

TEMPLATE_SEND = "cgi-bin/message/template/send"
DATA = HELP_DATA


def write(session, *keys: str) -> None:
    for key in keys:
        outbox.add(session, key, f"o-{key}", "tpl-help-request", DATA)
    session.commit()


def states(session) -> dict[str, str]:
    session.expire_all()
    return dict(session.execute(select(OutboxMessage.key, OutboxMessage.state)).all())


def test_retry_resends_a_failed_notice_once_its_cause_is_fixed(app, session, platform):
    write(session, "help:1:1")
    platform.inject(TEMPLATE_SEND, 43004)  # the first staff member had unfollowed
    outbox.deliver(session, client())
    write(session, "help:1:2")
    outbox.deliver(session, client())
    assert states(session) == {"help:1:1": "failed", "help:1:2": "sent"}

    cli = app.test_cli_runner()
    done = cli.invoke(outbox_command, ["retry", "help:1:1"])
    again = cli.invoke(outbox_command, ["retry", "help:1:2", "help:9:9"])
    outbox.deliver(session, client())  # the next sweep

    assert done.exit_code == 0 and "help:1:1：已重新排队" in done.output
    assert again.exit_code == 1  # a sent row and an unknown key are left alone, and said so
    assert "help:1:2：没有这条失败的消息" in again.output
    assert states(session) == {"help:1:1": "sent", "help:1:2": "sent"}
    assert sorted(m["touser"] for m in platform.outbox) == ["o-help:1:1", "o-help:1:2"]
    assert row_reason(session, "help:1:1") is None


def row_reason(session, key):
    return session.scalar(select(OutboxMessage.reason).where(OutboxMessage.key == key))


def test_prune_deletes_only_sent_rows_past_the_kept_days(app, session, platform):
    write(session, "help:1:1", "help:2:1")
    outbox.deliver(session, client())
    write(session, "help:3:1")
    platform.inject(TEMPLATE_SEND, 47003)  # the third fails for good
    outbox.deliver(session, client())
    write(session, "help:4:1")  # pending
    table = OutboxMessage.__table__
    session.execute(  # the first was sent 91 days ago, the rest just now
        table.update()
        .where(table.c.key.in_(["help:1:1", "help:3:1", "help:4:1"]))
        .values(sent_at=clock.utcnow() - timedelta(days=91))
    )
    session.commit()

    done = app.test_cli_runner().invoke(outbox_command, ["prune"])

    assert done.exit_code == 0 and "删除了 1 条 90 天前已发送的消息" in done.output
    assert states(session) == {"help:2:1": "sent", "help:3:1": "failed", "help:4:1": "pending"}


def test_beat_prunes_every_night_by_the_setting(app, make_app, session):
    write(session, "help:1:1")
    outbox.deliver(session, client())
    table = OutboxMessage.__table__
    session.execute(table.update().values(sent_at=clock.utcnow() - timedelta(days=20)))
    session.commit()
    prune = celery_init_app(app).tasks["tasks.outbox.prune"]

    assert BEAT_SCHEDULE["outbox-prune"]["task"] == "tasks.outbox.prune"
    assert prune() == 0  # 20 days is within the default 90
    application = make_app(OUTBOX_KEEP_DAYS="14")
    with application.app_context():
        assert celery_init_app(application).tasks["tasks.outbox.prune"]() == 1
    assert states(session) == {}
