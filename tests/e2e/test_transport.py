"""The webhook's transport rules, played the way WeChat plays them."""

from __future__ import annotations

import io
import time

import pytest

from bot.models import Follower
from bot.wechat.transport import sign
from tests.conftest import TOKEN


def signed_args(**extra) -> dict:
    args = {"timestamp": str(int(time.time())), "nonce": "abc123"}
    args["signature"] = sign(TOKEN, args["timestamp"], args["nonce"])
    args.update(extra)
    return args


def test_handshake_echoes_when_signed(client):
    response = client.get("/wechat", query_string=signed_args(echostr="hello-4242"))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello-4242"


@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_signature_is_forbidden(client, method):
    args = signed_args(echostr="x", signature="0" * 40)
    response = getattr(client, method)("/wechat", query_string=args, data=b"<xml/>")
    assert response.status_code == 403


# Each worked out when the test runs: the suite takes longer than the window.
STALE = {
    "the epoch": lambda: "1",
    "year 2100": lambda: "4102444800",
    "yesterday": lambda: str(int(time.time()) - 86400),
    "six minutes ahead": lambda: str(int(time.time()) + 360),
    "not a number": lambda: "soon",
    "unicode digits": lambda: "١٧٠٠٠٠٠٠٠٠",
}


@pytest.mark.parametrize("timestamp", STALE.values(), ids=STALE.keys())
def test_a_signature_over_a_stale_timestamp_is_forbidden(wechat, session, timestamp):
    timestamp = timestamp()
    # In plaintext mode the signature does not cover the body: a logged URL
    # must not let anyone post as a follower later.
    xml = wechat.xml("o-replayed", "event", Event="subscribe")
    response = wechat.post(xml, wechat.query(xml, timestamp=timestamp))
    assert response.status_code == 403
    assert session.get(Follower, "o-replayed") is None
    assert client_get(wechat, timestamp).status_code == 403


def client_get(wechat, timestamp):
    args = {"timestamp": timestamp, "nonce": "n1", "echostr": "e"}
    args["signature"] = sign(TOKEN, timestamp, "n1")
    return wechat.client.get("/wechat", query_string=args)


def test_a_signature_a_minute_old_is_accepted(wechat):
    xml = wechat.xml("o-late", "event", Event="subscribe")
    response = wechat.post(xml, wechat.query(xml, timestamp=str(int(time.time()) - 60)))
    assert "欢迎" in wechat.reply(response)["Content"]


def test_the_window_is_a_setting(make_app):
    client = make_app(WEBHOOK_MAX_CLOCK_SKEW_SECONDS="3600").test_client()
    args = {"timestamp": str(int(time.time()) - 1800), "nonce": "n1", "echostr": "e"}
    args["signature"] = sign(TOKEN, args["timestamp"], "n1")
    assert client.get("/wechat", query_string=args).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_non_ascii_signature_is_forbidden_not_an_error(client, method):
    args = signed_args(signature="签名" * 20, echostr="e")
    assert getattr(client, method)("/wechat", query_string=args).status_code == 403


def test_a_non_ascii_msg_signature_is_forbidden_not_an_error(safe_wechat):
    xml = safe_wechat.xml("o-safe", "text", Content="菜单")
    assert safe_wechat.post(xml, msg_signature="签名" * 20).status_code == 403


def test_forged_message_changes_nothing(wechat, session):
    xml = wechat.xml("o-forger", "event", Event="subscribe")
    response = wechat.post(xml, signed_args(signature="f" * 40))
    assert response.status_code == 403
    assert session.get(Follower, "o-forger") is None


def test_unmatched_text_gets_the_menu_never_silence(wechat):
    reply = wechat.send_text("o-newcomer", "今天天气怎么样")
    assert "登记" in reply and "求助" in reply and "找服务站" in reply
    assert reply.splitlines()[-1].endswith("：")


BAD_BODIES = {
    "not xml": b"hello, this is not xml",
    "json": b'{"ToUserName": "gh"}',
    "no xml root": b"<root><a>1</a></root>",
    "xxe": b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<xml><ToUserName>a</ToUserName><FromUserName>&x;</FromUserName>"
    b"<CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    "entity bomb": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<xml><Content>&lol2;</Content></xml>",
    "missing MsgType": b"<xml><ToUserName>a</ToUserName><FromUserName>o</FromUserName>"
    b"<CreateTime>1</CreateTime></xml>",
    "missing sender": b"<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime>"
    b"<MsgType>text</MsgType><Content>hi</Content></xml>",
    "empty": b"",
    "utf-16 hiding a dtd": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>'
    "<xml><ToUserName>a</ToUserName><FromUserName>&a;</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType></xml>".encode("utf-16"),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_refused_with_400(client, body):
    response = client.post("/wechat", query_string=signed_args(), data=body)
    assert response.status_code == 400


def message(*fields: str, msg_type: str = "text", create_time: str = "1790000000") -> bytes:
    head = (
        "<xml><ToUserName>gh_test</ToUserName><FromUserName>o-odd</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType>{msg_type}</MsgType>"
    )
    return (head + "".join(fields) + "</xml>").encode()


MALFORMED = {
    "letters for MsgId": message("<Content>hi</Content><MsgId>abc</MsgId>"),
    "a 5000-digit MsgId": message("<Content>hi</Content><MsgId>" + "9" * 5000 + "</MsgId>"),
    "no MsgId": message("<Content>hi</Content>"),
    "duplicated Content": message("<Content>a</Content><Content>b</Content><MsgId>1</MsgId>"),
    "nested Content": message("<Content><b>a</b></Content><MsgId>1</MsgId>"),
    "duplicated sender": message("<FromUserName>o-other</FromUserName><MsgId>1</MsgId>"),
    "no coordinates": message("<Label>x</Label><MsgId>1</MsgId>", msg_type="location"),
    "inf latitude": message(
        "<Location_X>inf</Location_X><Location_Y>102</Location_Y><MsgId>1</MsgId>",
        msg_type="location",
    ),
    "NaN longitude": message(
        "<Location_X>27</Location_X><Location_Y>NaN</Location_Y><MsgId>1</MsgId>",
        msg_type="location",
    ),
    "latitude past the pole": message(
        "<Location_X>91</Location_X><Location_Y>102</Location_Y><MsgId>1</MsgId>",
        msg_type="location",
    ),
    "LOCATION event without longitude": message(
        "<Event>LOCATION</Event><Latitude>27.8</Latitude>", msg_type="event"
    ),
    "letters for CreateTime": message("<MsgId>1</MsgId>", create_time="now"),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_fields_are_refused_with_400(client, body, caplog):
    response = client.post("/wechat", query_string=signed_args(), data=body)
    assert response.status_code == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_location_is_still_understood(wechat):
    assert wechat.send_location("o-where", 27.89, 102.26, "西昌") is not None


def test_oversized_body_is_refused_with_413(client):
    body = b"<xml><Content>" + b"a" * (65 * 1024) + b"</Content></xml>"
    response = client.post("/wechat", query_string=signed_args(), data=body)
    assert response.status_code == 413


def test_oversized_chunked_body_is_refused_with_413(client):
    # No Content-Length: werkzeug used to stop at 64 KiB and parse the rest as a body.
    body = b"<xml><Content>" + b"a" * (65 * 1024) + b"</Content></xml>"
    response = client.post(
        "/wechat",
        query_string=signed_args(),
        input_stream=io.BytesIO(body),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # as gunicorn says
    )
    assert response.status_code == 413


def test_voice_is_understood_through_its_recognition(wechat):
    assert wechat.send_voice("o-voice", "菜单。") == wechat.send_text("o-voice", "菜单")


@pytest.mark.parametrize("msg_type", ["image", "video", "link"])
def test_other_message_types_get_a_helpful_answer(wechat, msg_type):
    reply = wechat.send("o-pics", msg_type, PicUrl="http://x/p.jpg", MediaId="m")
    assert "打字" in reply or "语音" in reply


def test_follow_welcomes_and_unfollow_stops_pushes(wechat, session):
    welcome = wechat.send_event("o-follower", "subscribe")
    assert "欢迎" in welcome and "登记" in welcome
    assert session.get(Follower, "o-follower").subscribed
    assert wechat.send_event("o-follower", "unsubscribe") is None
    session.expire_all()
    assert not session.get(Follower, "o-follower").subscribed


def test_follow_through_a_qr_code_is_welcomed_too(wechat, session):
    welcome = wechat.send_event("o-scanner", "subscribe", EventKey="qrscene_county-513429")
    assert "欢迎" in welcome and session.get(Follower, "o-scanner").subscribed


def test_location_event_is_recorded_and_answered_with_success(wechat, session):
    assert (
        wechat.send_event(
            "o-here", "LOCATION", Latitude="27.71", Longitude="102.81", Precision="30"
        )
        is None
    )
    row = session.get(Follower, "o-here")
    assert (row.last_lat, row.last_lon) == (27.71, 102.81)
