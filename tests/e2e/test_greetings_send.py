"""Greetings through the emulator: one mass text per county tag, exactly once, whatever happens."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from celery.exceptions import Retry
from sqlalchemy import update

from bot import clock, db
from bot.care import greetings_send
from bot.commands.greetings import greetings_group
from bot.models import Campaign, PublishState
from bot.records import tagging
from bot.wechat.client import client
from publisher.story import SHANGHAI
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures import wiring
from tests.fixtures.factories import CountyFactory, TownshipFactory, VeteranFactory, VillageFactory

SENDALL = "cgi-bin/message/mass/sendall"
ARMY_DAY = date(2027, 8, 1)
COUNTIES = {"布拖县": "0834-8421234", "昭觉县": "0834-8321110", "美姑县": "0834-8431001"}


def liangshan(session, counties: dict[str, str], per_county: int = 2) -> dict[str, list[str]]:
    """Counties with registered veterans, tagged on the platform; county -> openids."""
    wechat = client()
    followers = {}
    for i, (county, phone) in enumerate(counties.items()):
        centre = CountyFactory(code=f"5134{30 + i}", name=f"{county}退役军人服务中心", phone=phone)
        village = VillageFactory(parent=TownshipFactory(parent=centre))
        vets = [VeteranFactory(station=village) for _ in range(per_county)]
        for vet in vets:
            tagging.tag_veteran(session, wechat, vet.id)
        followers[county] = [v.openid for v in vets]
    return followers


@pytest.fixture
def emulated(platform):
    """The platform with no earlier mass sends, no latency, no lost answers."""
    platform.reset_publishing()
    platform.latency_ms = 0
    platform.lost_answers.clear()
    yield platform
    platform.reset_publishing()
    platform.lost_answers.clear()


@pytest.fixture
def veterans(app, session, emulated, committed_db):
    """Three counties' veterans; committed, since each county is sent from its own thread."""
    return liangshan(session, COUNTIES)


def sends_per_tag(platform) -> Counter:
    return Counter(platform.tags[m["tag_id"]] for m in platform.mass_sends)


def campaigns(session) -> dict[str, Campaign]:
    session.expire_all()
    return {c.tag_name: c for c in session.query(Campaign).all()}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


def test_one_text_per_county_tag_with_its_phone_and_never_to_all(session, veterans, emulated):
    outcomes, notes = greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    assert notes == []
    assert {o.state for o in outcomes} == {"sent"}
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    for send in emulated.mass_sends:
        county = emulated.tags[send["tag_id"]].removesuffix("退役军人")
        assert send["msgtype"] == "text"
        assert "建军节" in send["content"] and COUNTIES[county] in send["content"]
        others = [p for c, p in COUNTIES.items() if c != county]
        assert not any(p in send["content"] for p in others)
        assert send["clientmsgid"] == f"greet-army-day-2027-{send['tag_id']}"
    # The all-veterans tag exists but gets nothing: one message per veteran.
    assert "退役军人" in emulated.tags.values()
    for openids in veterans.values():
        for openid in openids:
            assert [m["kind"] for m in emulated.messages_to(openid)] == ["mass"]
    rows = campaigns(session)
    assert {r.state for r in rows.values()} == {"sent"}
    assert all(r.msg_id for r in rows.values())


def test_muli_veterans_get_their_greeting_with_their_centres_phone(session, emulated, committed_db):
    # 木里藏族自治县退役军人 is 33 bytes, over WeChat's 30: the tag is 木里县退役军人.
    followers = liangshan(session, {"木里藏族自治县": "0834-6521000"})

    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)

    (send,) = emulated.mass_sends
    assert emulated.tags[send["tag_id"]] == "木里县退役军人"
    assert "0834-6521000" in send["content"]
    assert sorted(send["sent"]) == sorted(followers["木里藏族自治县"])


def test_without_county_tags_the_greeting_goes_to_the_veterans_tag(app, session, emulated):
    wechat = client()
    wechat.tag_users(wechat.ensure_tag("退役军人"), ["o-vet-a", "o-vet-b"])
    greetings_send.send_occasion(*wiring.care(), "spring-festival", date(2027, 2, 6))
    (send,) = emulated.mass_sends
    assert emulated.tags[send["tag_id"]] == "退役军人"
    assert "春节" in send["content"] and "服务站" in send["content"]
    assert sorted(send["sent"]) == ["o-vet-a", "o-vet-b"]


def test_a_second_run_sends_nothing_more(session, veterans, emulated):
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    calls = emulated.calls.count(SENDALL)
    outcomes, _ = greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, reopen=True)
    assert {o.state for o in outcomes} == {"sent"}
    assert emulated.calls.count(SENDALL) == calls == len(COUNTIES)
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}


def test_two_sends_at_once_send_each_tag_once(app, session, veterans, emulated):
    emulated.latency_ms = 50  # both runs are inside the API call together
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    assert session.query(Campaign).count() == len(COUNTIES)


def test_two_beats_firing_together_send_once(app, session, veterans, emulated):
    emulated.latency_ms = 30
    barrier = threading.Barrier(2)
    results = []

    def beat():
        with app.app_context():
            barrier.wait()
            results.append(greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 5)))

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    assert None in results or all(o.busy or o.state == "sent" for r in results for o in r)


def test_the_beat_waits_for_greeting_time_and_the_day(session, veterans, emulated):
    assert greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 8, 59)) == []
    assert greetings_send.send_due(*wiring.care(), at(date(2027, 8, 2), 9, 30)) == []
    assert emulated.mass_sends == []
    assert len(greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 0))) == len(COUNTIES)
    again = greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 5))
    assert {o.state for o in again} == {"sent"}
    assert len(emulated.mass_sends) == len(COUNTIES)


def test_45011_is_recorded_then_retried_once(app, session, veterans, emulated):
    emulated.inject(SENDALL, 45011)
    outcomes = greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 0))
    failed = [o for o in outcomes if o.state == "failed"]
    assert len(failed) == 1 and failed[0].transient and "45011" in failed[0].reason
    assert len(emulated.mass_sends) == len(COUNTIES) - 1
    # The report shows the bureau what happened.
    report = app.test_cli_runner().invoke(greetings_group, ["report", "--year", "2027"])
    assert "失败待重试" in report.output and "45011" in report.output
    # Too soon for the backoff: nothing.
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    assert len(emulated.mass_sends) == len(COUNTIES) - 1
    later = datetime.now(UTC) + timedelta(minutes=2)
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, now=later)
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, now=later)
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    row = campaigns(session)[failed[0].tag_name]
    assert row.state == "sent" and row.attempts == 2 and row.reason is None


def test_the_task_retries_a_transient_failure(app, session, veterans, emulated):
    celery = celery_init_app(app)
    task = celery.tasks["tasks.greetings.send_occasion"]
    emulated.inject(SENDALL, 45011)
    with pytest.raises(Retry):
        task.apply(args=["army-day", "2027-08-01"], throw=True)
    assert len(emulated.mass_sends) == len(COUNTIES) - 1
    assert "greetings-due" in BEAT_SCHEDULE


def test_the_daily_api_quota_stops_the_tag_for_the_day_until_sent_by_hand(
    app, session, veterans, emulated
):
    emulated.inject(SENDALL, 45009)
    outcomes = greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 0))
    (stopped,) = [o for o in outcomes if o.state != "sent"]
    assert stopped.state == "refused" and not stopped.transient
    assert "45009" in stopped.reason and "明天" in stopped.reason
    # Neither beat nor the task spends more calls on it today.
    greetings_send.send_due(*wiring.care(), at(ARMY_DAY, 9, 30))
    celery = celery_init_app(app)
    task = celery.tasks["tasks.greetings.send_occasion"]
    task.apply(args=["army-day", "2027-08-01"], throw=True)
    assert len(emulated.mass_sends) == len(COUNTIES) - 1
    # The next day the bureau sends it by hand.
    runner = app.test_cli_runner()
    result = runner.invoke(greetings_group, ["send", "army-day", "--date", "2027-08-01", "--force"])
    assert result.exit_code == 0, result.output
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}


def test_a_lost_answer_is_retried_with_the_same_clientmsgid(session, veterans, emulated):
    emulated.lost_answers[SENDALL] = 1  # the first send goes out, its answer never arrives
    outcomes, _ = greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    failed = [o for o in outcomes if o.state == "failed"]
    assert len(failed) == 1 and "超时" in failed[0].reason
    assert len(emulated.mass_sends) == len(COUNTIES)  # it did go out
    emulated.age_mass_sends(61)  # the retry comes a minute later: 45065, not 45066
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, reopen=True)
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    row = campaigns(session)[failed[0].tag_name]
    first = next(m for m in emulated.mass_sends if m["clientmsgid"] == row.clientmsgid)
    assert row.state == "sent" and row.msg_id == str(first["msg_id"])  # from 45065's answer


def test_a_repeat_within_a_minute_waits_a_minute_and_then_takes_the_first_send_and_its_counts(
    app, session, veterans, emulated, wechat
):
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    # Play a worker killed after sendall and before it saved the msg_id …
    row = campaigns(session)["布拖县退役军人"]
    first = next(m for m in emulated.mass_sends if m["clientmsgid"] == row.clientmsgid)
    session.execute(
        update(Campaign).where(Campaign.id == row.id).values(state="sending", msg_id=None)
    )
    session.commit()
    # … and WeChat reporting the send finished while nobody knows its msg_id.
    finish = emulated.mass_finish(first["msg_id"])
    assert wechat.send("o-mass-system", "event", Event="MASSSENDJOBFINISH", **finish) is None

    # The task resumes it at once: WeChat says "retry later" (45066), which is no failure
    # of the send, and the task's retry waits at least a minute.
    celery = celery_init_app(app)
    task = celery.tasks["tasks.greetings.send_occasion"]
    with pytest.raises(Retry) as retried:
        task.apply(args=["army-day", "2027-08-01"], throw=True)
    assert retried.value.when >= 60
    row = campaigns(session)["布拖县退役军人"]
    assert row.state == "failed" and "45066" in row.reason
    # Nor does beat try again within the minute.
    soon = datetime.now(UTC) + timedelta(seconds=50)
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, now=soon)
    assert emulated.calls.count(SENDALL) == len(COUNTIES) + 1

    emulated.age_mass_sends(61)
    later = datetime.now(UTC) + timedelta(minutes=2)
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, now=later)
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}
    row = campaigns(session)["布拖县退役军人"]
    # 45065 named the first send, and the event that came before it is on the campaign.
    assert row.msg_id == str(first["msg_id"])
    assert row.state == "finished" and (row.total_count, row.sent_count) == (2, 2)


def test_a_worker_killed_while_sending_is_resumed_without_a_second_send(
    session, veterans, emulated
):
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    # Play a worker that saved "sending", made the call, and died before saving "sent".
    row = campaigns(session)["布拖县退役军人"]
    session.execute(
        update(Campaign).where(Campaign.id == row.id).values(state="sending", msg_id=None)
    )
    session.commit()
    calls = emulated.calls.count(SENDALL)
    emulated.age_mass_sends(61)  # resumed a minute later
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    assert emulated.calls.count(SENDALL) == calls + 1  # resent with the same clientmsgid …
    assert sends_per_tag(emulated) == {f"{c}退役军人": 1 for c in COUNTIES}  # … and dropped
    row = campaigns(session)["布拖县退役军人"]
    assert row.state == "sent" and row.msg_id


def test_beyond_the_monthly_quota_the_greeting_is_refused(make_app, veterans, emulated):
    strict = make_app(MASS_QUOTA_PER_MONTH="2")
    with strict.app_context():
        # October 2025: 国庆 10-01 and 中秋 10-06 take the two sends; 重阳 10-29 is third.
        outcomes, _ = greetings_send.send_occasion(
            *wiring.care(), "double-ninth", date(2025, 10, 29)
        )
        assert {o.state for o in outcomes} == {"refused"}
        assert all("群发额度不足" in o.reason and "国庆节、中秋" in o.reason for o in outcomes)
        assert emulated.mass_sends == []
        greetings_send.send_occasion(*wiring.care(), "national-day", date(2025, 10, 1))
        assert len(emulated.mass_sends) == len(COUNTIES)


def test_a_failed_column_story_leaves_its_place_in_the_quota_to_a_greeting(
    make_app, veterans, emulated, tmp_path, make_story
):
    strict = make_app(MASS_QUOTA_PER_MONTH="1", GREETING_OCCASIONS="national-day")
    eight = datetime(2025, 10, 1, 8, tzinfo=SHANGHAI)
    make_story("oct-1", publish_at=eight, wechat={"mode": "mass"})
    with strict.app_context():
        # Queued for 08:00, the story comes first and takes October's one send.
        outcomes, _ = greetings_send.send_occasion(
            *wiring.care(), "national-day", date(2025, 10, 1)
        )
        assert {o.state for o in outcomes} == {"refused"}
        assert all("专栏《oct-1》" in o.reason for o in outcomes)
        # Its WeChat channel failed: it sent nothing, so the greeting may go.
        session = db.session()
        session.add(
            PublishState(
                slug="oct-1",
                channel="wechat",
                state="failed",
                mode="mass",
                publish_at=datetime(2025, 10, 1, 0, 0),
            )
        )
        session.commit()
        outcomes, _ = greetings_send.send_occasion(
            *wiring.care(), "national-day", date(2025, 10, 1), reopen=True
        )
        assert {o.state for o in outcomes} == {"sent"}
        assert len(emulated.mass_sends) == len(COUNTIES)


def test_masssendjobfinish_through_the_webhook_records_the_counts(
    app, session, veterans, emulated, wechat
):
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    for send in emulated.mass_sends:
        assert (
            wechat.send(
                "o-mass-system",
                "event",
                Event="MASSSENDJOBFINISH",
                **emulated.mass_finish(send["msg_id"]),
            )
            is None
        )
    rows = campaigns(session)
    assert {r.state for r in rows.values()} == {"finished"}
    assert {(r.total_count, r.sent_count, r.error_count) for r in rows.values()} == {(2, 2, 0)}
    report = app.test_cli_runner().invoke(greetings_group, ["report"])
    assert report.output.count("已送达") == len(COUNTIES)
    assert "成功 2 失败 0（send success）" in report.output


def test_masssendjobfinish_with_an_empty_account_is_recorded(
    app, session, veterans, emulated, wechat
):
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    emulated.mass_event_blank_account = True
    for send in emulated.mass_sends:
        xml = wechat.xml(
            "o-mass-system",
            "event",
            Event="MASSSENDJOBFINISH",
            **emulated.mass_finish(send["msg_id"]),
        ).replace("<ToUserName>gh_test</ToUserName>", "<ToUserName></ToUserName>")
        assert "<ToUserName></ToUserName>" in xml
        response = wechat.post(xml)
        assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    rows = campaigns(session)
    assert {r.state for r in rows.values()} == {"finished"}
    assert {r.sent_count for r in rows.values()} == {2}


def test_an_empty_account_is_still_refused_on_ordinary_messages(app, wechat):
    for msg_type, fields in (("text", {"Content": "菜单"}), ("event", {"Event": "subscribe"})):
        xml = wechat.xml("o-vet", msg_type, **fields)
        xml = xml.replace("<ToUserName>gh_test</ToUserName>", "<ToUserName></ToUserName>")
        assert wechat.post(xml).status_code == 400
    # Even MASSSENDJOBFINISH must carry the field, empty or not.
    xml = wechat.xml("o-mass-system", "event", Event="MASSSENDJOBFINISH", MsgID="1000000001")
    xml = xml.replace("<ToUserName>gh_test</ToUserName>", "")
    assert wechat.post(xml).status_code == 400


@pytest.mark.parametrize(
    ("status", "shown"),
    [("send fail", "未送达（send fail）"), ("err(20013)", "涉嫌版权（err(20013)）")],
)
def test_a_mass_send_wechat_did_not_deliver_is_reported_undelivered_with_the_reason(
    app, session, veterans, emulated, wechat, status, shown
):
    emulated.mass_status = status
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY)
    for send in emulated.mass_sends:
        finish = emulated.mass_finish(send["msg_id"])
        wechat.send("o-mass-system", "event", Event="MASSSENDJOBFINISH", **finish)
    for openids in veterans.values():  # nobody got it
        assert all(emulated.messages_to(o) == [] for o in openids)
    rows = campaigns(session)
    assert {r.state for r in rows.values()} == {"undelivered"}
    assert all(r.sent_count == 0 and shown in r.reason for r in rows.values())
    report = app.test_cli_runner().invoke(greetings_group, ["report"])
    assert report.output.count("未送达") >= len(COUNTIES) and "已送达" not in report.output
    assert report.output.count(shown) == len(COUNTIES)
    # Not sent again by beat: within 24 h WeChat would drop the repeat as 45065.
    later = datetime.now(UTC) + timedelta(hours=1)
    greetings_send.send_occasion(*wiring.care(), "army-day", ARMY_DAY, now=later)
    assert len(emulated.mass_sends) == len(COUNTIES)


def test_a_send_for_another_day_asks_for_force_and_sends_nothing(app, veterans, emulated):
    runner = app.test_cli_runner()
    result = runner.invoke(greetings_group, ["send", "army-day", "--date", "2027-08-01"])
    assert result.exit_code == 1
    assert "不是今天" in result.output and "--dry-run" in result.output
    assert "--force" in result.output
    assert emulated.mass_sends == []


def test_a_send_dated_today_needs_no_force(app, veterans, emulated):
    today = clock.today().isoformat()
    result = app.test_cli_runner().invoke(greetings_group, ["send", "army-day", "--date", today])
    assert result.exit_code == 0, result.output
    assert len(emulated.mass_sends) == len(COUNTIES)


def test_the_send_command_sends_and_says_so(app, veterans, emulated):
    runner = app.test_cli_runner()
    args = ["send", "army-day", "--date", "2027-08-01", "--force"]
    result = runner.invoke(greetings_group, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("已发送") == len(COUNTIES)
    again = runner.invoke(greetings_group, args)
    assert again.exit_code == 0 and len(emulated.mass_sends) == len(COUNTIES)
