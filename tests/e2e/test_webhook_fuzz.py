"""Whatever the query and body hold, /wechat answers 200, 400, 403 or 413: never 500."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.wechat.transport import sign
from tests.conftest import TOKEN

ANSWERS = {200, 400, 403, 413}
# Text a URL can carry: anything but lone surrogates, which no client can encode.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
QUERY_KEYS = ("signature", "msg_signature", "timestamp", "nonce", "encrypt_type", "echostr")
TAGS = (
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Content",
    "Event",
    "EventKey",
    "Location_X",
    "Location_Y",
    "Latitude",
    "Longitude",
    "Recognition",
    "PublishEventInfo",
    "Encrypt",
)
VALUES = st.one_of(
    TEXT,
    st.sampled_from(["text", "event", "location", "voice", "LOCATION", "subscribe", "CLICK"]),
    st.sampled_from(["inf", "NaN", "-0", "1e309", "27.8", "102.2", "0", "9" * 30]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _element(tag: str, value) -> str:
    inner = value if isinstance(value, str) else "".join(_element(t, v) for t, v in value)
    return f"<{tag}>{inner}</{tag}>"


FIELD = st.tuples(
    st.sampled_from(TAGS),
    st.one_of(VALUES.map(escape), st.lists(st.tuples(st.sampled_from(TAGS), VALUES.map(escape)))),
)
# A real message's head, so the fuzzed fields behind it reach the dialogs too.
HEAD = [("ToUserName", "gh_test"), ("FromUserName", "o-fuzz"), ("CreateTime", "1790000000")]
XML_BODIES = st.tuples(st.sampled_from([[], HEAD]), st.lists(FIELD, max_size=12)).map(
    lambda parts: (
        "<xml>" + "".join(_element(t, v) for t, v in parts[0] + parts[1]) + "</xml>"
    ).encode()
)
BODIES = st.one_of(XML_BODIES, st.binary(max_size=200), TEXT.map(str.encode))


@st.composite
def queries(draw) -> dict:
    """A query: random values, or mostly well signed so the body gets parsed."""
    args = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), TEXT, max_size=6))
    if draw(st.booleans()):
        ts = str(int(time.time()))
        nonce = draw(TEXT)
        args.update(timestamp=ts, nonce=nonce, signature=sign(TOKEN, ts, nonce))
    return args


@FUZZ
@given(args=queries(), body=BODIES)
def test_any_post_is_answered_without_an_error(client, args, body):
    response = client.post("/wechat", query_string=args, data=body)
    assert response.status_code in ANSWERS


@FUZZ
@given(args=queries())
def test_any_handshake_is_answered_without_an_error(client, args):
    assert client.get("/wechat", query_string=args).status_code in ANSWERS
