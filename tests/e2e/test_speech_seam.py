"""SPEECH_RECOGNITION_URL: our own recognition service, a tiny real HTTP server here.

The webhook downloads the voice (media/get), posts it there, and uses the words
as if WeChat had recognised them; no words in time means the call-back offer.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from bot.models import VoiceMessage
from bot.sandbox import media

# Starts a server and waits out a timeout: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

OPENID = "o-speaker"
OFFER = "需要服务站给您回电话吗？回复 1"


class Recogniser:
    """What the service heard (each request's type and body) and what it answers."""

    def __init__(self):
        self.heard: list[tuple[str, bytes]] = []
        self.text = "求助"
        self.delay = 0.0


@pytest.fixture(scope="module")
def recogniser():
    service = Recogniser()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            service.heard.append((self.headers["Content-Type"], body))
            time.sleep(service.delay)
            answer = json.dumps({"text": service.text}, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    service.url = f"http://127.0.0.1:{server.server_port}/recognise"
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture
def app_settings(app_settings, recogniser):
    recogniser.heard.clear()
    recogniser.text, recogniser.delay = "求助", 0.0
    app_settings["SPEECH_RECOGNITION_URL"] = recogniser.url
    app_settings["SPEECH_RECOGNITION_SECONDS"] = "1"
    return app_settings


def speak(wechat, platform, recording: bytes) -> str:
    media_id = media.issue(platform, recording)
    return wechat.send(OPENID, "voice", MediaId=media_id, Format="amr", Recognition="")


def test_recognised_words_are_used_as_if_wechat_had_heard_them(
    wechat, session, platform, recogniser
):
    recording = media.sample_voice(seconds=2)

    reply = speak(wechat, platform, recording)

    assert reply == wechat.send_text("o-typist", "求助")
    assert recogniser.heard == [("audio/amr", recording)]
    assert session.scalars(select(VoiceMessage)).all() == []  # understood: nothing to keep


def test_no_words_from_the_service_offers_the_call_back_with_the_audio_kept(
    app, wechat, session, platform, recogniser
):
    recogniser.text = ""
    recording = media.sample_voice(seconds=1)

    reply = speak(wechat, platform, recording)

    assert reply.strip().endswith(OFFER)
    (voice,) = session.scalars(select(VoiceMessage)).all()
    assert voice.state == "fetched"  # downloaded once, for recognition; no second download
    assert platform.calls.count("cgi-bin/media/get") == 1


def test_a_slow_service_costs_the_follower_no_more_than_the_setting(
    wechat, session, platform, recogniser
):
    recogniser.delay = 3.0

    started = time.monotonic()
    reply = speak(wechat, platform, media.sample_voice())
    took = time.monotonic() - started

    assert reply.strip().endswith(OFFER)
    assert took < 2.5  # SPEECH_RECOGNITION_SECONDS=1, well inside WeChat's 5 s
