"""Voice messages without words (WeChat is withdrawing speech recognition): a call-back.

The emulator issues a MediaId for each recording, as WeChat does when a phone
sends one, and answers media/get for it (40007 for any other id).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from bot.models import HelpRequest, VoiceMessage
from bot.models.requests import CALLBACK
from bot.sandbox import media
from bot.wechat import outbox
from bot.wechat.client import client as wechat_client
from tests.fixtures import factories

OPENID = "o-voice"
OFFER = "需要服务站给您回电话吗？回复 1"


@pytest.fixture
def butuo(session):
    d = factories.butuo()
    village = d.villages["好谷村"]
    factories.StaffFactory(station=village, openid="o-staff-village")
    factories.StaffFactory(station=d.jiudu, openid="o-staff-township")
    return d


@pytest.fixture
def veteran(butuo):
    return factories.VeteranFactory(station=butuo.villages["好谷村"], openid=OPENID)


def speak(wechat, platform, openid=OPENID, audio: bytes | None = None) -> tuple[str, str]:
    """Send a voice message WeChat could not recognise; (its MediaId, the reply)."""
    media_id = media.issue(platform, audio)
    reply = wechat.send(openid, "voice", MediaId=media_id, Format="amr", Recognition="")
    return media_id, reply


def last_line(reply: str) -> str:
    return reply.strip().splitlines()[-1]


def requests_of(session, openid=OPENID) -> list[HelpRequest]:
    session.expire_all()
    return session.scalars(select(HelpRequest).where(HelpRequest.openid == openid)).all()


def test_a_voice_without_words_offers_a_call_back_in_one_step(wechat, session, platform, veteran):
    media_id, reply = speak(wechat, platform)

    assert last_line(reply) == OFFER
    assert "再说一遍" not in reply  # no longer a dead end
    (voice,) = session.scalars(select(VoiceMessage)).all()
    assert (voice.openid, voice.media_id, voice.state) == (OPENID, media_id, "waiting")


def test_1_files_a_call_back_to_the_veterans_station_with_the_recording(
    app, client, wechat, session, platform, veteran, caplog
):
    caplog.set_level(logging.DEBUG)
    recording = media.sample_voice(seconds=3)
    speak(wechat, platform, audio=recording)

    done = wechat.send_text(OPENID, "1")

    (request,) = requests_of(session)
    assert (request.category, request.station_id) == (CALLBACK, veteran.station_id)
    assert request.number in done and "回电话" in done
    # The staff's notices wait in the outbox, like every help request's, with the link.
    with app.app_context():
        outbox.deliver(session, wechat_client())
    notices = [m for m in platform.outbox if m["kind"] == "template"]
    assert {m["touser"] for m in notices} == {"o-staff-village", "o-staff-township"}
    link = urlsplit(notices[0]["url"])
    assert link.path == f"/recordings/{request.number}" and "signature=" in link.query
    # Staff open it: the page lists the recording, and it plays what the veteran said.
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and request.number in page.get_data(as_text=True)
    audio = client.get(f"{link.path}/{_voice_id(session)}?{link.query}")
    assert audio.status_code == 200 and audio.data == recording
    # Signed links never reach the logs.
    token = link.query.split("signature=", 1)[1]
    assert token not in caplog.text


def _voice_id(session) -> int:
    session.expire_all()
    return session.scalars(select(VoiceMessage.id)).one()


def test_the_recording_needs_the_signature(app, client, wechat, session, platform, veteran):
    speak(wechat, platform)
    wechat.send_text(OPENID, "1")
    (request,) = requests_of(session)

    assert client.get(f"/recordings/{request.number}").status_code == 403
    assert client.get(f"/recordings/{request.number}?signature=forged").status_code == 403
    with app.app_context():
        outbox.deliver(session, wechat_client())
    good = urlsplit(platform.outbox[-1]["url"])
    other = factories.HelpRequestFactory(openid="o-other", station=veteran.station)
    assert client.get(f"/recordings/{other.number}?{good.query}").status_code == 403


def test_an_unregistered_sender_names_the_township_and_gives_a_phone(
    wechat, session, platform, butuo
):
    speak(wechat, platform)

    where = wechat.send_text(OPENID, "1")
    assert "乡镇" in last_line(where)
    wechat.send_text(OPENID, "九都")
    ask_phone = wechat.send_text(OPENID, "日火村")
    assert "手机号" in last_line(ask_phone)
    done = wechat.send_voice(OPENID, "幺三九零零零零幺幺幺幺")

    (request,) = requests_of(session)
    assert request.category == CALLBACK and request.number in done
    assert request.station_id == butuo.villages["日火村"].id
    assert request.contact_phone == "13900001111"
    session.expire_all()
    assert [v.help_request_id for v in session.scalars(select(VoiceMessage))] == [request.id]


def test_two_voices_before_the_answer_are_both_attached(wechat, session, platform, veteran):
    speak(wechat, platform)
    _, again = speak(wechat, platform)
    assert last_line(again) == OFFER

    wechat.send_text(OPENID, "1")

    (request,) = requests_of(session)
    session.expire_all()
    attached = session.scalars(
        select(VoiceMessage).where(VoiceMessage.help_request_id == request.id)
    )
    assert len(attached.all()) == 2


def test_anything_but_1_goes_on_with_the_dialog_the_voice_interrupted(
    wechat, session, platform, butuo
):
    wechat.send_text(OPENID, "登记")
    asked_name = wechat.send_text(OPENID, "同意")
    _, offer = speak(wechat, platform)
    assert last_line(offer) == OFFER

    after = wechat.send_text(OPENID, "沙马拉且")

    assert "姓名" in last_line(asked_name)
    assert "身份证" in last_line(after)  # the registration's next question
    assert requests_of(session) == []


def test_a_retried_voice_message_is_noted_once(wechat, session, platform, veteran):
    media_id = media.issue(platform)
    xml = wechat.xml(OPENID, "voice", MediaId=media_id, Format="amr", Recognition="")
    first = wechat.reply(wechat.post(xml))["Content"]
    second = wechat.reply(wechat.post(xml))["Content"]

    assert first == second
    assert len(session.scalars(select(VoiceMessage)).all()) == 1


def test_a_voice_in_the_middle_of_a_call_back_joins_the_same_request(
    wechat, session, platform, butuo
):
    speak(wechat, platform)
    wechat.send_text(OPENID, "1")  # unregistered: asked where
    speak(wechat, platform)  # says something again, unheard
    wechat.converse(OPENID, "1", "九都", "日火村", "13900001111")

    (request,) = requests_of(session)
    session.expire_all()
    voices = session.scalars(select(VoiceMessage)).all()
    assert [v.help_request_id for v in voices] == [request.id, request.id]
