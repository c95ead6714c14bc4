"""Template messages as WeChat takes them today: category templates, typed keys, loud failures."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.config import SANDBOX_TEMPLATES
from bot.gunicorn_conf import scrub
from bot.models import OutboxMessage
from bot.sandbox.templates import EXAMPLES, refusal
from bot.wechat.client import client
from bot.wechat.errors import WeChatError
from bot.wechat.templates import ROLES, spec
from tasks import celery_init_app
from tests.conftest import APP_ID, TOKEN
from tests.e2e.test_safe_mode import run_with_a_real_account
from tests.fixtures import factories
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.publishing import EDITORS, editor_notices, publishing_settings
from tests.fixtures.templates import HELP_DATA, shown

OPENID = "o-asker"


@pytest.fixture
def app_settings(app_settings, tmp_path):
    # The editors' channel is where an unusable template is reported.
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def staff(session):
    d = factories.butuo()
    factories.VeteranFactory(station=d.villages["好谷村"], openid=OPENID)
    return factories.StaffFactory(station=d.villages["好谷村"], openid="o-haogu-staff")


def file_request(application) -> None:
    """A veteran files a help request through the webhook of application."""
    WeChatDriver(application.test_client(), TOKEN, APP_ID).converse(
        OPENID, "求助", "就业创业", "想找一份在县城的工作"
    )


def sweep(application) -> int:
    """Beat's minute: deliver what is due, then report unusable templates."""
    with application.app_context():
        return celery_init_app(application).tasks["tasks.outbox.sweep"]()


def health(application) -> dict:
    answer = application.test_client().get("/healthz")
    assert answer.status_code == 200
    return answer.json


# -- the emulator is as strict as WeChat ---------------------------------------------------


def payload(**changes) -> dict:
    data = {key: dict(value) for key, value in HELP_DATA.items()}
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = {"value": value}
    return data


@pytest.mark.parametrize(
    "data",
    [
        payload(thing3="九" * 21),  # thing: at most 20 characters
        payload(character_string1="求助QZ000042"),  # character_string: ASCII only
        payload(character_string1="Q" * 33),
        payload(phrase2="就业创业服务"),  # phrase: at most 5 汉字
        payload(phrase2="jobs"),
        payload(time4="2026-12-01"),  # a date is not a time
        payload(time4=None),  # a key of the template left out
        payload(thing3=""),
        payload(keyword1="QZ000042"),  # a key the template does not have
    ],
)
def test_a_value_that_breaks_its_type_or_a_foreign_key_is_refused_with_47003(app, platform, data):
    with app.app_context(), pytest.raises(WeChatError) as refused:
        client().send_template("o-staff", "tpl-help-request", data, client_msg_id="help:1:1")

    assert refused.value.errcode == 47003 and not refused.value.transient
    assert platform.messages_to("o-staff") == []


def test_a_template_the_account_does_not_have_is_40037(app, platform):
    with app.app_context(), pytest.raises(WeChatError) as refused:
        client().send_template("o-staff", "tpl-from-the-old-library", HELP_DATA)

    assert refused.value.errcode == 40037


def test_first_remark_and_colours_are_dropped_not_shown(app, platform):
    data = payload(first="新的求助", remark="请尽快处理")
    data["thing3"]["color"] = "#FF0000"

    with app.app_context():
        client().send_template("o-staff", "tpl-help-request", data)

    (message,) = platform.messages_to("o-staff")
    assert sorted(message["dropped"]) == ["first", "remark", "thing3.color"]
    assert list(message["data"]) == list(HELP_DATA)


# -- the bot sends what a category template takes ------------------------------------------


def test_the_help_request_notice_reaches_staff_through_the_category_template(
    app, platform, staff, session
):
    file_request(app)
    assert sweep(app) == 1

    (message,) = platform.messages_to(staff.openid)
    said = shown(message)
    assert message["title"] == "新求助提醒" and message["dropped"] == []
    assert said["求助编号"].startswith("QZ") and said["求助类别"] == "就业创业"
    assert said["服务站"] == "好谷村"
    # Sent with the outbox row's key, so a repeat after a lost answer is dropped.
    row = session.scalar(select(OutboxMessage))
    assert message["client_msg_id"] == row.key
    assert health(app)["templates"] == "ok"


def test_every_sandbox_notice_fills_every_key_of_its_example_template():
    sample = {
        "code": "QZ000042",
        "word": "就业创业",
        "text": "九都镇好谷村退役军人服务站",
        "count": 12,
        "time": datetime(2026, 12, 1, 9, 5),
        "date": datetime(2026, 12, 1).date(),
    }
    for role, (template_id, fields) in SANDBOX_TEMPLATES.items():
        template = spec(role, template_id, fields)
        kinds = ROLES[role].fields
        data = template.data({field: sample[kinds[field]] for field in kinds})

        assert set(data) == set(EXAMPLES[template_id].keys), role
        assert refusal(EXAMPLES[template_id], data) is None, role


# -- an unusable template is loud ----------------------------------------------------------


def test_a_template_refused_with_47003_shows_in_health_and_the_editors_are_told_once(
    make_app, platform, staff, session, caplog
):
    # time5: a key the account's template does not have (it has time4).
    wrong = make_app(
        WECHAT_TEMPLATE_HELP_REQUEST_FIELDS=(
            "number:character_string1,category:phrase2,station:thing3,time:time5"
        )
    )
    file_request(wrong)

    with caplog.at_level(logging.ERROR):
        sweep(wrong)
    sweep(wrong)

    assert platform.messages_to(staff.openid) == []
    session.expire_all()
    assert "47003" in session.scalar(
        select(OutboxMessage.reason).where(OutboxMessage.kind == "help")
    )
    assert any("tpl-help-request" in r.getMessage() for r in caplog.records)
    state = health(wrong)
    assert state["status"] == "degraded"
    assert state["templates"]["WECHAT_TEMPLATE_HELP_REQUEST"].startswith("微信拒收（47003）")
    told = editor_notices(platform)
    assert sorted(m["touser"] for m in told) == sorted(EDITORS)  # once each, though swept twice
    assert shown(told[0])["稿件"] == "模板消息不可用"
    assert shown(told[0])["原因"].startswith("求助通知被微信拒收")

    # Mapped right again: the next notice goes out and the template is healthy.
    right = make_app()
    file_request(right)
    sweep(right)
    assert len(platform.messages_to(staff.openid)) == 1
    assert health(right)["templates"] == "ok"


def test_a_template_id_the_account_lacks_is_reported_as_40037(make_app, platform, staff):
    gone = make_app(WECHAT_TEMPLATE_HELP_REQUEST="tpl-deleted-in-the-console")
    file_request(gone)

    sweep(gone)

    assert "40037" in health(gone)["templates"]["WECHAT_TEMPLATE_HELP_REQUEST"]
    assert shown(editor_notices(platform)[0])["原因"].startswith("求助通知被微信拒收")


def test_an_unset_template_is_degraded_health_and_told_to_the_editors(make_app, platform):
    unset = make_app(WECHAT_TEMPLATE_CARE_REMINDER="")

    sweep(unset)
    sweep(unset)

    state = health(unset)
    assert state["status"] == "degraded"
    assert state["templates"] == {"WECHAT_TEMPLATE_CARE_REMINDER": "未设置模板 id"}
    told = editor_notices(platform)
    assert len(told) == len(EDITORS)
    assert shown(told[0])["原因"].startswith("走访提醒发不出去")


def test_run_with_a_real_account_refuses_to_start_without_a_needed_template(tmp_path):
    result = run_with_a_real_account(
        tmp_path, WECHAT_TEMPLATE_HELP_REQUEST="", WECHAT_TEMPLATE_CARE_REMINDER=""
    )

    assert result.exit_code != 0
    assert "WECHAT_TEMPLATE_HELP_REQUEST" in result.output
    assert "WECHAT_TEMPLATE_CARE_REMINDER" in result.output
    assert "WECHAT_TEMPLATE_EDITOR_NOTICE" not in result.output
    assert "is not free" not in result.output  # it stopped before anything started


# -- the signed link never reaches a log ---------------------------------------------------


def test_a_notice_link_never_reaches_a_log(app, platform, staff, session, caplog):
    with caplog.at_level(logging.DEBUG):
        file_request(app)
        with app.app_context():
            care = celery_init_app(app).tasks["tasks.care.monthly_reminder"]
            care()
    (reminder,) = [m for m in platform.messages_to(staff.openid) if m["url"]]
    token = reminder["url"].split("signature=", 1)[1]

    assert token not in caplog.text
    line = f'Error handling request GET /notice?signature={token} HTTP/1.1"'
    assert token not in scrub(line)
