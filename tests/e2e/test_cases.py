"""The case workflow end to end over the signed webhook: a request is taken, worked, answered
and rated, or climbs to the township when nobody takes it; the veteran hears of each step."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import clock, db
from bot.models import CaseEvent, HelpRequest, OutboxMessage, Staff
from bot.requests import escalation
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures import factories, wiring
from tests.fixtures.templates import shown

VETERAN = "o-case-veteran"
VILLAGE_STAFF = "o-staff-haogu"
TOWNSHIP_STAFF = "o-staff-jiudu"
OTHER_VILLAGE_STAFF = "o-staff-jiudu-village"


@pytest.fixture
def butuo(session):
    d = factories.butuo()
    factories.StaffFactory(station=d.villages["好谷村"], name="吉克阿依", openid=VILLAGE_STAFF)
    factories.StaffFactory(station=d.jiudu, name="吉克伍呷", openid=TOWNSHIP_STAFF)
    factories.StaffFactory(station=d.villages["九都村"], name="阿库", openid=OTHER_VILLAGE_STAFF)
    return d


@pytest.fixture
def veteran(butuo):
    return factories.VeteranFactory(
        station=butuo.villages["好谷村"], openid=VETERAN, name="沙马拉且"
    )


def file_request(wechat, session, text="家里房子漏雨，想申请帮扶") -> HelpRequest:
    wechat.converse(VETERAN, "求助", "帮扶解困")
    wechat.send_text(VETERAN, text)
    session.expire_all()
    return session.scalars(select(HelpRequest).order_by(HelpRequest.id.desc())).first()


def deliver(session) -> None:
    """What the worker does after each commit: send every due outbox row."""
    outbox.deliver(session, client())


def received(platform, openid) -> list[dict]:
    return platform.messages_to(openid)


def timeline(session, request) -> list[tuple[str, str, str]]:
    session.expire_all()
    rows = session.scalars(
        select(CaseEvent).where(CaseEvent.request_id == request.id).order_by(CaseEvent.id)
    )
    return [(e.action, e.from_status, e.to_status) for e in rows]


def test_a_case_is_taken_asked_answered_resolved_and_rated(wechat, session, veteran, platform):
    request = file_request(wechat, session)
    deliver(session)
    (notice,) = received(platform, VILLAGE_STAFF)
    # The staff's notice names the case; its text is behind the link, on the case page.
    said = shown(notice)
    assert (said["求助编号"], said["求助类别"], said["服务站"]) == (
        request.number,
        "帮扶解困",
        "好谷村",
    )
    assert "漏雨" not in str(notice)
    assert notice["url"].endswith(f"/console/requests/{request.number}")

    taken = wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
    assert f"已签收 {request.number}" in taken and "家里房子漏雨" in taken
    deliver(session)
    (told,) = received(platform, VETERAN)
    assert told["kind"] == "text" and "好谷村服务站签收" in told["content"]

    wechat.send_text(VILLAGE_STAFF, f"备注 {request.number} 户主常年在外打工")
    asked = wechat.send_text(VILLAGE_STAFF, f"补充 {request.number} 请问您家住几组？")
    assert "已请求助人补充" in asked
    deliver(session)
    question = received(platform, VETERAN)[-1]
    assert "请问您家住几组？" in question["content"]
    assert all("打工" not in m["content"] for m in received(platform, VETERAN))  # 备注 stays inside
    session.expire_all()
    assert session.get(HelpRequest, request.id).status == "待补充"

    confirmed = wechat.send_text(VETERAN, "三组，靠河边那家")
    assert "已收到您的补充" in confirmed and request.number in confirmed
    deliver(session)
    # The staff hear again of the same case: the answer is on its page.
    notices = received(platform, VILLAGE_STAFF)
    assert [shown(m)["求助编号"] for m in notices] == [request.number] * 2

    done = wechat.send_text(VILLAGE_STAFF, f"办结 {request.number} 危房改造补助已批，下月到账")
    assert "已办结" in done
    deliver(session)
    answer = received(platform, VETERAN)[-1]
    assert answer["kind"] == "msgmenu" and "下月到账" in answer["content"]
    assert answer["choices"] == ["满意", "基本满意", "不满意"]

    thanks = wechat.send_text(VETERAN, "满意")  # one tap on the menu sends its words
    assert "谢谢您的评价（满意）" in thanks
    session.expire_all()
    assert (session.get(HelpRequest, request.id).status, request.rating) == ("已评价", "满意")
    assert timeline(session, request) == [
        ("提交", "已提交", "已提交"),
        ("签收", "已提交", "已签收"),
        ("备注", "已签收", "办理中"),
        ("补充", "办理中", "待补充"),
        ("答复", "待补充", "办理中"),
        ("办结", "办理中", "已办结"),
        ("评价", "已办结", "已评价"),
    ]
    mine = wechat.send_text(VETERAN, "我的求助")
    assert f"{request.number} 帮扶解困：已评价" in mine and "下月到账" in mine


def test_dissatisfied_reopens_and_escalates_to_the_township(wechat, session, veteran, platform):
    request = file_request(wechat, session)
    wechat.send_text(VILLAGE_STAFF, f"办结 {request.number} 不符合条件")  # takes it first

    reply = wechat.send_voice(VETERAN, "3")

    assert "重新办理" in reply and "督办" in reply
    session.expire_all()
    case = session.get(HelpRequest, request.id)
    assert (case.status, case.rating, case.escalated_to.name) == (
        "办理中",
        "不满意",
        "九都镇退役军人服务站",
    )
    deliver(session)
    # The township heard of the new case, then of its 督办.
    notices = received(platform, TOWNSHIP_STAFF)
    assert [shown(m)["求助编号"] for m in notices] == [request.number] * 2
    assert any("已转到九都镇服务站督办" in m["content"] for m in received(platform, VETERAN))


def test_an_untaken_case_climbs_once_after_the_deadline(wechat, session, veteran, platform):
    request = file_request(wechat, session)
    desks = wiring.cases()

    assert escalation.check_due(desks) == 0  # within its 24 hours
    with clock.travel(timedelta(hours=25)):
        assert escalation.check_due(desks) == 1
        assert escalation.check_due(desks) == 0  # a second beat run sends nothing more
        todo = wechat.send_text(TOWNSHIP_STAFF, "待办")
        deliver(session)

    assert f"{request.number} 已提交（超期）" in todo and "超期 1 件" in todo
    session.expire_all()
    case = session.get(HelpRequest, request.id)
    assert case.station.name == "好谷村退役军人服务站"  # the village stays responsible
    assert case.escalated_to.name == "九都镇退役军人服务站"
    # The township was told of the new case when it was filed, and of its 督办 once.
    notices = received(platform, TOWNSHIP_STAFF)
    assert [shown(m)["求助编号"] for m in notices] == [request.number] * 2
    assert any(
        "已转到九都镇服务站督办" in m.get("content", "") for m in received(platform, VETERAN)
    )


def test_an_unbound_township_worker_hears_of_no_escalation(
    wechat, session, veteran, platform, butuo
):
    file_request(wechat, session)
    deliver(session)
    before = len(received(platform, TOWNSHIP_STAFF))
    member = session.scalars(select(Staff).where(Staff.openid == TOWNSHIP_STAFF)).one()
    member.unbound_at = clock.utcnow()
    session.commit()

    with clock.travel(timedelta(hours=25)):
        escalation.check_due(wiring.cases())
        deliver(session)

    assert len(received(platform, TOWNSHIP_STAFF)) == before


def test_two_beat_runs_at_once_escalate_a_case_once(app, committed_db, platform):
    with app.app_context():
        d = factories.butuo()
        factories.StaffFactory(station=d.jiudu, openid=TOWNSHIP_STAFF)
        with clock.travel(timedelta(hours=-30)):
            desk = wiring.cases()()
            from bot.requests import workflow

            workflow.open_case(
                desk,
                openid=VETERAN,
                station=d.villages["好谷村"],
                category="其他",
                description="想问政策",
            )
            desk.session.commit()
    results, start = [], threading.Barrier(2)

    def beat():
        with app.app_context():
            start.wait()
            results.append(escalation.check_due(wiring.cases()))
            db.session().remove() if hasattr(db.session(), "remove") else None

    runs = [threading.Thread(target=beat) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert sorted(results) == [0, 1]
    with app.app_context():
        session = db.session()
        events = session.scalars(select(CaseEvent).where(CaseEvent.action == "督办")).all()
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "case")).all()
        assert len(events) == 1
        assert sorted((r.openid, r.template_id) for r in rows) == [
            (VETERAN, "tpl-case-progress"),  # never wrote to the account: no window, a template
            (TOWNSHIP_STAFF, "tpl-help-request"),
        ]


def test_staff_act_only_on_their_area(wechat, session, veteran, platform):
    request = file_request(wechat, session)

    refused = wechat.send_text(OTHER_VILLAGE_STAFF, f"签收 {request.number}")
    assert "不在九都村负责的范围内" in refused and "漏雨" not in refused
    assert wechat.send_text(TOWNSHIP_STAFF, f"签收 {request.number}").startswith("已签收")
    session.expire_all()
    assert session.get(HelpRequest, request.id).status == "已签收"
    again = wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
    assert "现在是“已签收”，不能签收" in again


def test_transfer_moves_the_case_and_its_scope(wechat, session, veteran, platform):
    request = file_request(wechat, session)

    moved = wechat.send_text(VILLAGE_STAFF, f"转办 {request.number} 九都村")

    assert "已把" in moved and "九都村退役军人服务站" in moved
    deliver(session)
    (notice,) = received(platform, OTHER_VILLAGE_STAFF)
    assert (shown(notice)["求助编号"], shown(notice)["服务站"]) == (request.number, "九都村")
    assert "已转到九都村服务站办理" in received(platform, VETERAN)[-1]["content"]
    assert "不在好谷村负责的范围内" in wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
    assert wechat.send_text(OTHER_VILLAGE_STAFF, f"签收 {request.number}").startswith("已签收")


def test_the_veteran_hears_by_template_once_the_48_hour_window_closed(
    wechat, session, veteran, platform
):
    request = file_request(wechat, session)

    with clock.travel(timedelta(hours=49)):
        wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
        deliver(session)

    (told,) = received(platform, VETERAN)
    assert told["kind"] == "template" and told["template_id"] == "tpl-case-progress"
    said = shown(told)
    assert (said["求助编号"], said["办理状态"], said["服务站"]) == (
        request.number,
        "已签收",
        "好谷村服务站",
    )
    assert told["url"].endswith(f"/console/requests/{request.number}")


def test_a_window_wechat_says_is_shut_falls_back_to_the_template(
    wechat, session, veteran, platform
):
    request = file_request(wechat, session)
    platform.inbound.clear()  # WeChat knows better than our note of the last message

    wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
    deliver(session)

    (told,) = received(platform, VETERAN)
    assert told["kind"] == "template" and shown(told)["求助编号"] == request.number


def test_a_fallback_template_the_account_lacks_shows_in_health(
    wechat, client, session, veteran, platform
):
    request = file_request(wechat, session)
    platform.inbound.clear()  # the window shut: the fallback template is tried
    del platform.templates["tpl-case-progress"]  # deleted in the MP console

    wechat.send_text(VILLAGE_STAFF, f"签收 {request.number}")
    deliver(session)

    assert received(platform, VETERAN) == []
    health = client.get("/healthz").json
    assert "40037" in health["templates"]["WECHAT_TEMPLATE_CASE_PROGRESS"]


def test_with_nobody_bound_up_the_line_the_promise_is_honest(wechat, session):
    d = factories.butuo()
    factories.VeteranFactory(station=d.villages["好谷村"], openid=VETERAN)

    reply = wechat.converse(VETERAN, "求助", "其他", "想问问优待证")[-1]

    assert "已通知" not in reply
    assert "还没有工作人员" in reply and "布拖县服务中心会在工作台看到" in reply
    assert d.villages["好谷村"].phone in reply
    session.expire_all()
    (request,) = session.scalars(select(HelpRequest)).all()
    assert request.status == "已提交" and request.accept_due_at is not None  # waits, then climbs


def test_staff_help_lists_commands_with_a_real_number(wechat, session, veteran):
    request = file_request(wechat, session)

    for said in ("帮助", "今天天气怎么样"):
        reply = wechat.send_text(VILLAGE_STAFF, said)
        assert f"签收 {request.number}" in reply and "待办" in reply
        assert f"走访 {veteran.file_no}" in reply
    # Full-width letters and digits, as some keyboards type them.
    fullwidth = request.number.translate(str.maketrans("QZ0123456789", "ＱＺ０１２３４５６７８９"))
    assert wechat.send_text(VILLAGE_STAFF, f"签收　{fullwidth}").startswith("已签收")
    # For a veteran, 帮助 is still the menu.
    assert "登记" in wechat.send_text(VETERAN, "帮助")


def test_todo_is_capped_by_bytes_and_says_how_many_more(wechat, session, veteran):
    for n in range(60):
        factories.HelpRequestFactory(
            number=f"QZ{900000 + n}",
            station=veteran.station,
            description="漏雨" * 30,
            accept_due_at=clock.utcnow() + timedelta(hours=n),
        )

    reply = wechat.send_text(VILLAGE_STAFF, "待办")

    assert len(reply.encode()) <= 2048
    assert "待办求助 60 件" in reply and "请到工作台查看" in reply
    assert reply.index("QZ900000") < reply.index("QZ900001")  # the nearest deadline first


def test_my_info_is_masked_and_deletion_opens_a_case_then_erases(
    wechat, session, veteran, platform
):
    info = wechat.send_text(VETERAN, "我的信息")
    assert veteran.file_no in info and "沙马拉且" in info and veteran.phone not in info
    assert "********" in info

    wechat.send_text(VETERAN, "删除我的信息")
    opened = wechat.send_text(VETERAN, "确认删除")

    assert "已提交删除申请" in opened
    session.expire_all()
    case = session.scalars(select(HelpRequest).where(HelpRequest.kind == "删除")).one()
    from bot.crypto import cipher
    from bot.requests import rights

    desk = wiring.cases()()
    rights.erase_veteran(desk, veteran, actor="测试员")
    desk.session.commit()
    deliver(session)
    session.expire_all()
    assert (veteran.name, veteran.openid, veteran.id_cipher) == ("（已删除）", None, "")
    assert case.status == "已办结"
    assert "已按您的要求删除" in received(platform, VETERAN)[-1]["content"]
    assert "还没有登记" in wechat.send_text(VETERAN, "我的信息")
    assert cipher  # the tombstone keeps the number
    assert (
        session.scalar(select(HelpRequest.description).where(HelpRequest.id == case.id))
        == "（已删除）"
    )
