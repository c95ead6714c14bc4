"""Temporary media on the emulated platform: the voice messages followers send, and media/get.

WeChat gives each voice message a MediaId and keeps its audio for 3 days; `media/get`
returns the file itself, and for an id the account never received, or one past its
3 days, the JSON refusal 40007 "invalid media_id" (service docs, api_getmedia). The
emulator answers only for ids it issued, so a test or the chat page first asks it for
one (`issue`, or POST /_sandbox/voice) as a phone would upload the recording.
"""

from __future__ import annotations

import json
import secrets
import time

from flask import Flask, Response, jsonify, request

from bot.sandbox.platform import PlatformState

TEMPORARY_SECONDS = 3 * 24 * 3600
# AMR-NB, WeChat's voice format: the file magic, then 20 ms frames. 0x3C heads a
# 12.2 kbit/s frame of 32 bytes; zeros after it decode to a faint hiss.
AMR_MAGIC = b"#!AMR\n"
AMR_FRAME = bytes([0x3C]) + bytes(31)
CONTENT_TYPES = {"amr": "audio/amr", "speex": "audio/speex"}


def sample_voice(seconds: float = 2.0) -> bytes:
    """A short AMR recording, as a follower's voice message would be."""
    return AMR_MAGIC + AMR_FRAME * int(seconds * 50)


def issue(state: PlatformState, audio: bytes | None = None, fmt: str = "amr") -> str:
    """Take a voice recording in, as WeChat does when a follower sends one; its MediaId."""
    media_id = secrets.token_urlsafe(48)  # WeChat's are 64 characters
    with state.lock:
        state.media[media_id] = {
            "audio": sample_voice() if audio is None else audio,
            "format": fmt,
            "at": time.time(),
        }
    return media_id


def register(app: Flask, state: PlatformState) -> None:
    """Add media/get and the sandbox's voice upload to the emulator's app."""

    @app.route("/cgi-bin/media/get")
    def media_get():
        media_id = request.args.get("media_id", "")
        with state.lock:
            item = state.media.get(media_id)
        if item is None or time.time() - item["at"] > TEMPORARY_SECONDS:
            # WeChat answers its refusals here as text, not application/json.
            body = json.dumps({"errcode": 40007, "errmsg": "invalid media_id"})
            return Response(body, mimetype="text/plain")
        return Response(
            item["audio"],
            mimetype=CONTENT_TYPES.get(item["format"], "application/octet-stream"),
            headers={"Content-Disposition": f'attachment; filename="{media_id}.{item["format"]}"'},
        )

    @app.post("/_sandbox/voice")
    def sandbox_voice():
        """For the chat page and tests: a new recording's MediaId (body: its audio, or none)."""
        audio = request.get_data() or None
        return jsonify(media_id=issue(state, audio), format="amr")
