"""登记 end to end: a veteran registers over the webhook, typed or spoken."""

from __future__ import annotations

import json
import logging
import time
from datetime import date

import pytest
from sqlalchemy import select, text

from bot import store
from bot.crypto import cipher, mask_id
from bot.models import Consent, Follower, HelpRequest, Station, Veteran
from bot.records import files
from bot.records.consent import TEXT_VERSIONS
from bot.records.identity import check_char, parse_id_number
from tests.fixtures import factories

OPENID = "o-jike-amu"
ID = factories.id_number(born=date(1985, 3, 12), seq=123)
PHONE = "13912345678"


@pytest.fixture
def butuo(session):
    return factories.butuo()


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def register(wechat, openid=OPENID, id_number=ID, village="好谷", phone=PHONE):
    """Answer every question; return all the replies."""
    return wechat.converse(
        openid,
        "登记",
        "同意",
        "吉克阿木",
        id_number,
        phone,
        "九都",
        village,
        "2003",
        "2008",
        "彝族",
        "确认",
    )


def test_full_registration_by_text(wechat, session, butuo):
    replies = register(wechat)

    asked = [last_line(r) for r in replies]
    assert "同意" in asked[0]
    wanted = ["姓名", "身份证号", "手机号", "乡镇", "村", "入伍年份", "退役年份", "民族", "确认"]
    for reply, word in zip(asked[1:-1], wanted, strict=True):
        assert word in reply
    summary = replies[-2]
    assert "吉克阿木" in summary and "513429********123" in summary and "139****5678" in summary
    assert ID not in summary and PHONE not in summary
    assert "九都镇 好谷村" in summary and "7 民族：彝族" in summary
    assert "（男，1985年出生）" in summary  # the year the file keeps, no month or day
    village = butuo.villages["好谷村"]
    assert f"{village.code}-0001" in replies[-1]

    veteran = files.by_openid(session, OPENID)
    assert veteran.file_no == f"{village.code}-0001"
    assert (veteran.name, veteran.gender, veteran.birth_year) == ("吉克阿木", "男", 1985)
    assert (veteran.phone, veteran.enlist_year, veteran.discharge_year) == (PHONE, 2003, 2008)
    assert veteran.ethnicity == "彝族"
    assert veteran.station_id == village.id
    consent = session.scalar(select(Consent).where(Consent.openid == OPENID))
    assert consent.purpose == "registration"
    assert consent.text_version == TEXT_VERSIONS["registration"]
    assert session.get(Follower, OPENID) is not None


def test_full_registration_by_voice(wechat, session, butuo):
    spoken = [
        "登记。",
        "同意。",
        "吉克阿木。",
        ID[:-1] + ID[-1].lower(),
        "幺三九 一二三四 五六七八",
        "九都镇。",
        "好谷村。",
        "二零零三年。",
        "2008年。",
        "彝族。",
        "确认。",
    ]
    replies = [wechat.send_voice(OPENID, words) for words in spoken]

    assert "统一编号" in replies[-1]
    veteran = files.by_openid(session, OPENID)
    assert veteran.phone == PHONE and veteran.enlist_year == 2003
    assert cipher().decrypt(veteran.id_cipher) == ID


def test_without_consent_nothing_is_stored(wechat, session, butuo):
    consent_text = wechat.send_text(OPENID, "登记")
    assert "加密" in consent_text and "身份证号" in consent_text

    declined = wechat.send_text(OPENID, "不同意")
    after = wechat.send_text(OPENID, "吉克阿木")

    assert "没有保存" in declined
    assert "请回复您的姓名" not in after and "登记" in after  # the menu, not the next question
    assert session.scalars(select(Consent)).all() == []
    assert session.get(Follower, OPENID) is None


@pytest.mark.parametrize(
    ("bad", "explains"),
    [
        (ID[:-1] + ("0" if ID[-1] != "0" else "1"), "校验位"),
        (ID[:-1], "18位"),
        (factories.id_number(born=date(2090, 1, 1)), "出生日期"),
        ("51342919850230123" + check_char("51342919850230123"), "出生日期"),
        (factories.id_number(born=date(2015, 1, 1)), "16岁"),
    ],
)
def test_bad_id_number_is_explained_and_asked_again(wechat, butuo, bad, explains):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木")

    reply = wechat.send_text(OPENID, bad)

    assert explains in reply
    assert "身份证号" in last_line(reply)
    assert "手机号" in last_line(wechat.send_text(OPENID, ID))


def test_lower_case_x_is_accepted(wechat, session, butuo):
    with_x = next(
        factories.id_number(seq=s)
        for s in range(1, 999, 2)
        if factories.id_number(seq=s)[-1] == "X"
    )
    replies = register(wechat, id_number=with_x.lower())
    assert "统一编号" in replies[-1]
    assert cipher().decrypt(files.by_openid(session, OPENID).id_cipher) == with_x


@pytest.mark.parametrize("bad", ["1391234567", "23912345678", "电话不知道", "139123456789"])
def test_bad_mobile_is_explained_and_asked_again(wechat, butuo, bad):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID)

    reply = wechat.send_text(OPENID, bad)

    assert "11位" in reply and "手机号" in last_line(reply)
    assert "乡镇" in last_line(wechat.send_text(OPENID, "+86 139-1234-5678"))


@pytest.mark.parametrize(
    ("enlist", "discharge", "explains", "asked"),
    [
        ("two thousand", None, "4位数", "入伍年份"),
        ("1850", None, "比您的出生年份（1985年）还早", "入伍年份"),
        ("98年", None, "不满16岁", "入伍年份"),
        ("1995", None, "不满16岁", "入伍年份"),
        (str(date.today().year + 1), None, "还没到", "入伍年份"),
        ("2003", "2001", "不能早于入伍年份（2003年）", "退役年份"),
        ("2003", str(date.today().year + 2), "还没到", "退役年份"),
    ],
)
def test_bad_years_are_explained_and_asked_again(wechat, butuo, enlist, discharge, explains, asked):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE, "九都", "好谷")
    answers = [enlist] if discharge is None else [enlist, discharge]

    reply = wechat.converse(OPENID, *answers)[-1]

    assert explains in reply and asked in last_line(reply)


@pytest.mark.parametrize("township", ["1", "九都镇", "九都", "一"])
@pytest.mark.parametrize(
    ("village", "expected"),
    [("1", "好谷村"), ("好谷村", "好谷村"), ("阿布", "阿布村"), ("11", "依撒村")],
)
def test_station_chosen_by_number_or_name(wechat, session, butuo, township, village, expected):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)

    village_list = wechat.send_text(OPENID, township)
    assert "1 好谷村" in village_list and "11 依撒村" in village_list
    assert "入伍年份" in last_line(wechat.send_text(OPENID, village))
    wechat.converse(OPENID, "2003", "2008", "彝族", "确认")

    assert files.by_openid(session, OPENID).station.name.startswith(expected)


def test_township_list_numbers_both_townships_and_unknown_names_are_re_asked(wechat, butuo):
    replies = wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)
    assert "1 九都镇" in replies[-1] and "2 四开镇" in replies[-1]

    unknown = wechat.send_text(OPENID, "北京")
    assert "没找到" in unknown and "乡镇" in last_line(unknown)
    by_name = wechat.send_text(OPENID, "四开镇")
    assert "1 交莫村" in by_name and "村" in last_line(by_name)


def test_a_village_named_at_the_township_question_is_taken(wechat, session, butuo):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)

    reply = wechat.send_text(OPENID, "好谷村")

    assert "入伍年份" in last_line(reply)


def test_shared_location_offers_the_nearest_village(wechat, session, butuo):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)
    lara = butuo.villages["拉达村"]

    offer = wechat.send_location(OPENID, lara.lat + 0.001, lara.lon - 0.001, "九都镇")
    assert "拉达村" in offer and "公里" in offer and "是" in last_line(offer)
    wechat.converse(OPENID, "是", "2003", "2008", "彝族", "确认")

    assert files.by_openid(session, OPENID).station_id == lara.id


def test_refusing_the_nearest_village_asks_the_township(wechat, butuo):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)
    wechat.send_location(OPENID, 27.6, 102.92)

    reply = wechat.send_text(OPENID, "不是")

    assert "乡镇" in last_line(reply)


def test_cancel_mid_dialog_then_a_fresh_message(wechat, session, butuo):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID)

    cancelled = wechat.send_text(OPENID, "取消")
    fresh = wechat.send_text(OPENID, "13912345678")

    assert "已取消" in cancelled
    assert "乡镇" not in fresh and "请回复您要办的事" in fresh
    assert store.client().get(f"dialog:{OPENID}") is None
    assert files.by_openid(session, OPENID) is None


@pytest.mark.parametrize(("said", "year"), [("03年", 2003), ("零三年", 2003), ("二零零三", 2003)])
def test_a_two_digit_year_is_taken_when_one_century_fits(wechat, session, butuo, said, year):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE, "九都", "好谷")
    assert "退役年份" in last_line(wechat.send_text(OPENID, said))
    wechat.converse(OPENID, "2008", "彝族", "确认")
    assert files.by_openid(session, OPENID).enlist_year == year


@pytest.mark.parametrize(
    ("answers", "ethnicity"),
    [
        (["1"], "彝族"),
        (["汉族"], "汉族"),
        (["藏"], "藏族"),
        (["4", "回族"], "回族"),
        (["回族"], "回族"),
    ],
)
def test_ethnicity_is_asked_with_the_common_answers(wechat, session, butuo, answers, ethnicity):
    asked = wechat.converse(
        OPENID, "登记", "同意", "吉克阿木", ID, PHONE, "九都", "好谷", "2003", "2008"
    )
    assert "1 彝族" in asked[-1] and "2 汉族" in asked[-1] and "3 藏族" in asked[-1]
    replies = wechat.converse(OPENID, *answers)
    assert "确认" in last_line(replies[-1])
    wechat.send_text(OPENID, "确认")
    assert files.by_openid(session, OPENID).ethnicity == ethnicity


def summary_of(wechat) -> str:
    return wechat.converse(
        OPENID, "登记", "同意", "吉克阿木", ID, PHONE, "九都", "好谷", "2003", "2008", "彝族"
    )[-1]


@pytest.mark.parametrize("pick", ["3", "改手机号", "手机号错了", "３"])
def test_one_answer_is_fixed_and_the_summary_comes_back(wechat, session, butuo, pick):
    assert "3 手机号" in summary_of(wechat)

    assert "手机号" in last_line(wechat.send_text(OPENID, pick))
    again = wechat.send_text(OPENID, "13800001111")

    assert "请核对" in again and "138****1111" in again and "吉克阿木" in again
    wechat.send_text(OPENID, "确认")
    veteran = files.by_openid(session, OPENID)
    assert (veteran.phone, veteran.enlist_year) == ("13800001111", 2003)


def test_fixing_the_station_asks_the_place_then_the_summary(wechat, session, butuo):
    summary_of(wechat)
    wechat.converse(OPENID, "4", "四开")
    again = wechat.send_text(OPENID, "交莫")
    assert "交莫村" in again and "请核对" in again
    wechat.send_text(OPENID, "确认")
    assert files.by_openid(session, OPENID).station_id == butuo.sikai_villages["交莫村"].id


def test_a_fixed_enlistment_after_discharge_asks_the_discharge_again(wechat, butuo):
    summary_of(wechat)
    wechat.send_text(OPENID, "5")
    reply = wechat.send_text(OPENID, "2010")
    assert "不能早于入伍年份（2010年）" in reply and "退役年份" in last_line(reply)
    assert "请核对" in wechat.send_text(OPENID, "2012")


def test_an_unclear_answer_at_the_summary_says_the_instruction_once(wechat, butuo):
    summary_of(wechat)
    reply = wechat.send_text(OPENID, "好的吧")
    assert reply.count("确认") == 1 and "没看懂" in reply


def test_redo_starts_again_from_the_name(wechat, session, butuo):
    summary = wechat.converse(
        OPENID, "登记", "同意", "吉克阿木", ID, PHONE, "九都", "好谷", "2003", "2008", "彝族"
    )[-1]
    assert "确认" in last_line(summary)

    again = wechat.send_text(OPENID, "重填")
    assert "姓名" in last_line(again)
    wechat.converse(OPENID, "吉克阿牛", ID, PHONE, "九都", "好谷", "2004", "2009", "彝族", "确认")

    veteran = files.by_openid(session, OPENID)
    assert (veteran.name, veteran.enlist_year) == ("吉克阿牛", 2004)


def test_registering_again_updates_the_file_and_keeps_its_number(wechat, session, butuo):
    first = register(wechat)[-1]
    number = files.by_openid(session, OPENID).file_no

    again = register(wechat, village="阿布", phone="13800001111")

    assert number in again[0]  # the consent text says a file exists
    assert number in again[-1] and "编号不变" in again[-1]
    assert number in first
    session.expire_all()
    rows = session.scalars(select(Veteran)).all()
    assert len(rows) == 1
    assert rows[0].file_no == number and rows[0].phone == "13800001111"
    assert rows[0].station_id == butuo.villages["阿布村"].id


def test_registering_claims_a_ledger_file(wechat, session, butuo):
    ledger = files.FileFields(
        name="吉克阿木", id_number=parse_id_number(ID), station=butuo.villages["拉达村"]
    )
    paper, _ = files.save(session, cipher(), ledger, source="ledger")
    session.commit()

    done = register(wechat)[-1]

    assert paper.file_no in done and "建过档案" in done
    session.expire_all()
    rows = session.scalars(select(Veteran)).all()
    assert len(rows) == 1 and rows[0].openid == OPENID and rows[0].file_no == paper.file_no


def test_a_different_id_on_an_account_with_a_file_is_stopped_and_offers_a_correction(
    wechat, session, butuo
):
    register(wechat)
    veteran = files.by_openid(session, OPENID)
    other = factories.id_number(born=date(1984, 5, 6), seq=321)

    stopped = wechat.converse(OPENID, "登记", "同意", "吉克阿木", other)[-1]

    assert veteran.file_no in stopped and mask_id(ID) in stopped and ID not in stopped
    assert "回复“1”" in stopped
    done = wechat.send_text(OPENID, "1")
    assert "QZ" in done
    request = session.scalars(select(HelpRequest)).one()
    assert request.category == "档案更正" and request.station_id == veteran.station_id
    session.expire_all()
    assert len(session.scalars(select(Veteran)).all()) == 1
    assert files.find(session, cipher(), other) is None


def test_an_id_bound_to_another_wechat_account_is_refused_at_once(wechat, session, butuo):
    register(wechat)
    number = files.by_openid(session, OPENID).file_no
    someone = "o-someone-else"

    attempt = wechat.converse(someone, "登记", "同意", "吉克阿木", ID)[-1]

    assert "另一个微信号" in attempt and number not in attempt
    assert "好谷" not in attempt  # nothing says where that file's owner lives
    assert "乡镇" in last_line(attempt)
    own_station = wechat.converse(someone, "四开", "交莫")[-1]
    assert butuo.sikai_villages["交莫村"].phone in own_station
    session.expire_all()
    veteran = session.scalars(select(Veteran)).one()
    assert (veteran.openid, veteran.phone) == (OPENID, PHONE)
    assert files.by_openid(session, "o-someone-else") is None


def test_id_number_never_rests_in_plaintext(wechat, session, butuo):
    wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)
    r = store.client()
    stored = {key: r.dump(key) or b"" for key in r.keys("*")}
    assert all(
        ID.encode() not in value and PHONE.encode() not in value for value in stored.values()
    )
    dialog = json.loads(cipher().decrypt(r.get(f"dialog:{OPENID}")))
    assert cipher().decrypt(dialog["id"]) == ID

    wechat.converse(OPENID, "九都", "好谷", "2003", "2008", "彝族", "确认")

    row = session.execute(text("SELECT * FROM veterans")).mappings().one()
    assert all(ID not in str(value) for value in row.values())
    assert cipher().decrypt(row["id_cipher"]) == ID
    assert row["id_hash"] == cipher().lookup_hash(ID)


def test_logs_hold_no_id_phone_or_message_text(wechat, butuo, caplog):
    caplog.set_level(logging.DEBUG)

    register(wechat)

    assert "registration saved" in caplog.text
    for secret in (ID, PHONE, "吉克阿木"):
        assert secret not in caplog.text


def test_registered_follower_is_tagged_by_the_worker(wechat, session, butuo, platform, worker):
    register(wechat)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tagged = {
            name for tag, name in platform.tags.items() if OPENID in platform.tagged.get(tag, ())
        }
        if tagged == {"退役军人", "布拖县退役军人"}:
            break
        time.sleep(0.1)
    assert tagged == {"退役军人", "布拖县退役军人"}


def test_registration_without_a_directory_says_so_and_keeps_nothing(wechat, session):
    replies = wechat.converse(OPENID, "登记", "同意", "吉克阿木", ID, PHONE)

    assert "还没有录入" in replies[-1]
    assert session.scalars(select(Station)).all() == []
    assert store.client().get(f"dialog:{OPENID}") is None
