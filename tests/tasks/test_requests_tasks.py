"""The SLA check task, called as beat calls it, against the real database, Redis and emulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import clock
from bot.models import CaseEvent, HelpRequest
from bot.requests import workflow
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures import factories, wiring


def test_beat_escalates_a_late_case_once(app, session):
    check = celery_init_app(app).tasks["tasks.requests.check_sla"]
    d = factories.butuo()
    factories.StaffFactory(station=d.jiudu)
    with clock.travel(timedelta(hours=-25)):
        desk = wiring.cases()()
        request, _ = workflow.open_case(
            desk,
            openid="o-late",
            station=d.villages["好谷村"],
            category="其他",
            description="问政策",
        )
        desk.session.commit()

    assert check() == 1
    assert check() == 0
    session.expire_all()
    escalations = session.scalars(select(CaseEvent).where(CaseEvent.action == "督办")).all()
    assert len(escalations) == 1
    assert session.get(HelpRequest, request.id).accept_escalated_at is not None
    assert BEAT_SCHEDULE["cases-check-sla"]["task"] == "tasks.requests.check_sla"
