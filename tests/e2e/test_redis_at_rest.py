"""What rests in Redis (dialog state, the replies kept for WeChat's retries) names nobody."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot import store
from bot.crypto import mask_id, mask_phone
from bot.models import HelpRequest
from bot.records import files
from tests.fixtures import factories

OPENID = "o-at-rest"
NAME = "吉克阿木"
ID = factories.id_number(born=date(1985, 3, 12), seq=123)
PHONE = "13912345678"


@pytest.fixture
def butuo(session):
    return factories.butuo()


def everything_in_redis() -> bytes:
    """Every value of every key, of whatever type, read as stored (DUMP may compress)."""
    r = store.client()
    parts: list[str] = []
    for key in r.scan_iter():
        kind = r.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            parts.append(r.get(key))
        elif kind == "list":
            parts += r.lrange(key, 0, -1)
        elif kind == "hash":
            for field, value in r.hgetall(key).items():
                parts += [field, value]
        elif kind == "set":
            parts += r.smembers(key)
        elif kind == "zset":
            parts += r.zrange(key, 0, -1)
        parts.append(key)
    return "\n".join(p.decode() if isinstance(p, bytes) else str(p) for p in parts).encode()


def assert_absent(stored: bytes, *secrets: str) -> None:
    for secret in secrets:
        assert secret.encode() not in stored, f"{secret!r} rests in Redis in the clear"


def test_registration_summary_leaves_no_name_id_or_phone_in_redis(wechat, butuo):
    replies = wechat.converse(
        OPENID, "登记", "同意", NAME, ID, PHONE, "九都", "好谷", "2003", "2008", "彝族"
    )
    summary = replies[-1]
    assert NAME in summary and mask_id(ID) in summary and mask_phone(PHONE) in summary

    assert_absent(everything_in_redis(), NAME, ID, PHONE, mask_id(ID), mask_phone(PHONE))
    # The state still carries the dialog on: the answers given are saved.
    done = wechat.send_text(OPENID, "确认")
    assert "登记成功" in done


def test_registration_done_leaves_no_file_number_in_redis(wechat, session, butuo):
    wechat.converse(OPENID, "登记", "同意", NAME, ID, PHONE, "九都", "好谷", "2003", "2008", "彝族")
    done = wechat.send_text(OPENID, "确认")

    file_no = files.by_openid(session, OPENID).file_no
    assert file_no in done
    assert_absent(everything_in_redis(), NAME, ID, PHONE, file_no)


def test_my_requests_leave_no_name_or_request_number_in_redis(wechat, session, butuo):
    factories.VeteranFactory(station=butuo.villages["好谷村"], openid=OPENID, name=NAME)
    wechat.converse(OPENID, "求助", "2", "家里房子漏雨，想申请帮扶")
    (filed,) = session.scalars(select(HelpRequest).where(HelpRequest.openid == OPENID)).all()

    listing = wechat.send_text(OPENID, "我的求助")

    assert filed.number in listing
    assert_absent(everything_in_redis(), NAME, filed.number, "家里房子漏雨")


def test_a_retried_message_gets_the_same_reply_from_the_sealed_copy(wechat, butuo):
    wechat.converse(OPENID, "登记", "同意")
    xml = wechat.xml(OPENID, "text", Content=NAME, MsgId="880001")

    first = wechat.reply(wechat.post(xml))["Content"]
    again = wechat.reply(wechat.post(xml))["Content"]

    assert again == first and "身份证号" in first.splitlines()[-1]
    assert_absent(everything_in_redis(), NAME)


def test_a_dialog_saved_in_the_clear_before_the_upgrade_carries_on(wechat, butuo):
    # A follower halfway through 登记 while the new version is deployed.
    store.client().set(f"dialog:{OPENID}", '{"dialog": "registration", "step": "name"}', ex=600)

    assert "身份证号" in wechat.send_text(OPENID, NAME).splitlines()[-1]


def test_a_reply_kept_in_the_clear_before_the_upgrade_still_answers_its_retry(wechat, butuo):
    xml = wechat.xml(OPENID, "text", Content="联系服务站", MsgId="880002")
    first = wechat.post(xml).get_data(as_text=True)
    key = f"dedup:m:{OPENID}|880002"
    store.client().set(key, first.replace("乡镇", "乡镇（旧）"), ex=600)

    assert "乡镇（旧）" in wechat.reply(wechat.post(xml))["Content"]
