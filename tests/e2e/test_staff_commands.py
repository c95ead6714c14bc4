"""Staff commands over WeChat: 走访/电话 <统一编号> <情况>, 待走访 and 慰问名单, area-scoped."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import clock
from bot.care import contacts
from bot.crypto import cipher
from bot.models import Contact
from tests.fixtures import factories

VILLAGE_STAFF = "o-staff-haogu"
TOWNSHIP_STAFF = "o-staff-jiudu"
COUNTY_STAFF = "o-staff-butuo"


@pytest.fixture
def butuo(session):
    d = factories.butuo()
    factories.StaffFactory(station=d.villages["好谷村"], name="吉克阿依", openid=VILLAGE_STAFF)
    factories.StaffFactory(station=d.jiudu, name="吉克伍呷", openid=TOWNSHIP_STAFF)
    factories.StaffFactory(station=d.county, name="阿说拉哈", openid=COUNTY_STAFF)
    return d


@pytest.fixture
def haogu(butuo):
    """Three files at 好谷村: an ordinary one, one in hardship, one with a disability."""
    village = butuo.villages["好谷村"]
    return [
        factories.VeteranFactory(station=village, seq=1, name="沙马拉且"),
        factories.VeteranFactory(station=village, seq=2, name="阿苦日体", hardship=True),
        factories.VeteranFactory(station=village, seq=3, name="吉木子石", disability=True),
    ]


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def logged(session) -> list[Contact]:
    session.expire_all()
    return list(session.scalars(select(Contact).order_by(Contact.id)))


def test_a_visit_typed_by_village_staff_is_recorded_and_confirmed(wechat, session, haogu):
    ordinary = haogu[0]

    reply = wechat.send_text(VILLAGE_STAFF, f"走访 {ordinary.file_no} 身体不错，家里缺劳力")

    assert "沙马拉且" in reply and ordinary.file_no in reply
    assert "走访" in reply and clock.today().isoformat() in reply
    assert "好谷村本月还有 2 人未联系，其中 2 人需走访" in reply
    assert "走访 统一编号" in last_line(reply)
    (contact,) = logged(session)
    assert (contact.kind, contact.veteran_id, contact.source) == ("visit", ordinary.id, "wechat")
    assert contact.staff.openid == VILLAGE_STAFF
    assert contact.contacted_on == clock.today()
    # The note is kept, but only encrypted, and never echoed into the chat.
    assert "缺劳力" not in contact.note_cipher and "缺劳力" not in reply
    assert cipher().decrypt(contact.note_cipher) == "身体不错，家里缺劳力"


def test_a_spoken_call_with_the_dash_said_aloud_is_recorded(wechat, session, haogu):
    ordinary = haogu[0]
    spoken = ordinary.file_no.replace("-", "杠")

    reply = wechat.send_voice(VILLAGE_STAFF, f"电话，{spoken}，说腿有点疼。")

    assert "已记录：电话 沙马拉且" in reply
    (contact,) = logged(session)
    assert contact.kind == "phone"
    assert cipher().decrypt(contact.note_cipher) == "说腿有点疼"


@pytest.mark.parametrize(
    "text",
    [
        "走访\u3000{no}",
        "走访{no}",
        "走访 {no}\u3000",
        "走访：{no}",
        "走访 {full}",
        "走访 {nodash}",
    ],
)
def test_full_width_spaces_and_numbers_and_a_missing_note_are_accepted(
    wechat, session, haogu, text
):
    no = haogu[0].file_no
    full = no.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    message = text.format(no=no, full=full, nodash=no.replace("-", ""))

    reply = wechat.send_text(VILLAGE_STAFF, message)

    assert f"已记录：走访 沙马拉且（{no}）" in reply and "备注：无" in reply
    (contact,) = logged(session)
    assert contact.note_cipher == ""


def test_a_call_does_not_clear_a_veteran_in_hardship(wechat, session, haogu):
    ordinary, hardship, _disabled = haogu

    called = wechat.send_text(VILLAGE_STAFF, f"电话 {hardship.file_no} 电话里说挺好")

    assert "打电话不算数，本月仍需上门走访" in called
    assert "还有 3 人未联系，其中 2 人需走访" in called
    listed = wechat.send_text(VILLAGE_STAFF, "待走访")
    assert f"阿苦日体 {hardship.file_no} 需走访（困难）" in listed

    visited = wechat.send_text(VILLAGE_STAFF, f"走访 {hardship.file_no}")

    assert "还有 2 人未联系，其中 1 人需走访" in visited
    assert hardship.file_no not in wechat.send_text(VILLAGE_STAFF, "待走访")
    # An ordinary veteran, by contrast, is cleared by a call.
    wechat.send_text(VILLAGE_STAFF, f"电话 {ordinary.file_no}")
    assert ordinary.file_no not in wechat.send_text(VILLAGE_STAFF, "待走访")


def test_the_due_list_puts_visits_first_and_ends_with_the_next_step(wechat, haogu):
    reply = wechat.send_text(VILLAGE_STAFF, "待走访")

    assert "好谷村" in reply and "还有 3 人未联系，其中 2 人需走访" in reply
    lines = reply.splitlines()
    order = [next(i for i, ln in enumerate(lines) if v.file_no in ln) for v in haogu]
    assert order[1] < order[2] < order[0]  # 困难, 伤残, then the ordinary file
    assert "需走访（伤残）" in lines[order[2]] and "需走访" not in lines[order[0]]
    assert "记录" in last_line(reply)


def test_village_staff_cannot_log_a_veteran_of_another_village(wechat, session, butuo, haogu):
    elsewhere = factories.VeteranFactory(station=butuo.villages["九都村"], name="曲比阿果")

    reply = wechat.send_text(VILLAGE_STAFF, f"走访 {elsewhere.file_no} 看望")

    assert "不在您负责的好谷村范围内" in reply and "曲比阿果" not in reply
    assert "格式" in last_line(reply)
    assert logged(session) == []


def test_township_staff_log_their_villages_but_not_another_township(wechat, session, butuo):
    jiudu_village = factories.VeteranFactory(station=butuo.villages["九都村"], name="曲比阿果")
    sikai_village = factories.VeteranFactory(
        station=butuo.sikai_villages["交莫村"], name="海来木呷"
    )

    accepted = wechat.send_text(TOWNSHIP_STAFF, f"走访 {jiudu_village.file_no}")
    refused = wechat.send_text(TOWNSHIP_STAFF, f"走访 {sikai_village.file_no}")

    assert "已记录：走访 曲比阿果" in accepted and "九都镇本月" in accepted
    assert "不在您负责的九都镇范围内" in refused and "海来木呷" not in refused
    assert [c.veteran_id for c in logged(session)] == [jiudu_village.id]
    county = wechat.send_text(COUNTY_STAFF, f"电话 {sikai_village.file_no}")
    assert "已记录：电话 海来木呷" in county


def test_an_unknown_number_is_explained_with_the_format(wechat, session, haogu):
    reply = wechat.send_text(VILLAGE_STAFF, "走访 513429104201-9999 看望")

    assert "没有找到统一编号为 513429104201-9999 的档案" in reply
    assert "走访 统一编号 情况" in reply and "电话 统一编号 情况" in reply
    assert "重发" in last_line(reply)
    assert logged(session) == []


def test_a_command_without_a_number_gets_the_format(wechat, haogu):
    reply = wechat.send_text(VILLAGE_STAFF, "走访")

    assert "走访 统一编号 情况" in reply and "重发" in last_line(reply)


@pytest.mark.parametrize("text", ["走访 {no} 看望", "电话 {no}", "待走访", "慰问名单"])
def test_the_words_are_no_command_for_a_veteran(wechat, session, haogu, text):
    veteran = haogu[0]

    reply = wechat.send_text(veteran.openid, text.format(no=veteran.file_no))

    assert reply == wechat.send_text(veteran.openid, "你好")  # the ordinary menu
    assert logged(session) == []


def test_condolence_list_over_wechat_names_martyrs_families_and_hardship(wechat, butuo, haogu):
    martyr = factories.VeteranFactory(station=butuo.villages["好谷村"], seq=9, category="烈属")
    factories.VeteranFactory(station=butuo.villages["九都村"], hardship=True, name="别村困难")

    reply = wechat.send_text(VILLAGE_STAFF, "慰问名单")

    on, occasion = contacts.next_occasion(clock.today())
    assert f"{occasion.name}（{on.isoformat()}）慰问名单，共 2 户" in reply
    assert f"{martyr.file_no} 烈属" in reply and f"{haogu[1].file_no} 困难" in reply
    assert reply.index(martyr.file_no) < reply.index(haogu[1].file_no)
    assert haogu[2].file_no not in reply  # disability alone is not on the list
    assert "别村困难" not in reply
    assert "记录" in last_line(reply)


@pytest.mark.parametrize(("words", "unit"), [("待走访", "人"), ("慰问名单", "户")])
def test_a_long_list_fits_one_reply_and_says_how_many_are_left_out(wechat, butuo, words, unit):
    # Long Yi names and hardship notes: thirty such rows are well over 2,048 bytes.
    village = butuo.villages["好谷村"]
    rows = [
        factories.VeteranFactory(
            station=village, seq=i + 1, name=f"阿苏拉则吉克伍各{i:02d}", hardship=True
        )
        for i in range(40)
    ]

    reply = wechat.send_text(VILLAGE_STAFF, words)  # the driver refuses over 2,048 bytes

    shown = sum(v.file_no in reply for v in rows)
    assert 10 < shown < len(rows)
    assert f"还有 {len(rows) - shown} {unit}未列出" in reply
    assert "记录" in last_line(reply)


def test_the_same_visit_sent_twice_is_kept_once_and_said(wechat, session, haogu):
    ordinary = haogu[0]
    wechat.send_text(VILLAGE_STAFF, f"走访 {ordinary.file_no}")

    again = wechat.send_text(VILLAGE_STAFF, f"走访 {ordinary.file_no} 再记一次")

    assert "今天已经记过：走访（吉克阿依）" in again and "不重复记录" in again
    assert len(logged(session)) == 1


def test_a_colleagues_visit_the_same_day_is_kept_with_the_earlier_one_said(wechat, session, haogu):
    ordinary = haogu[0]
    wechat.send_text(VILLAGE_STAFF, f"电话 {ordinary.file_no}")

    reply = wechat.send_text(TOWNSHIP_STAFF, f"走访 {ordinary.file_no}")

    assert "已记录" in reply and "今天之前已记过 电话（吉克阿依）" in reply
    assert [c.kind for c in logged(session)] == ["phone", "visit"]


def test_the_format_example_is_a_real_number_of_the_area(wechat, haogu):
    reply = wechat.send_text(VILLAGE_STAFF, "走访")

    assert min(v.file_no for v in haogu) in reply
