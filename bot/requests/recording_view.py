"""/recordings/<求助编号>: the recordings of a call-back request, for staff who open their notice.

The notice's link carries a signature (bot.requests.recordings.link) in the
query, so only its holder can listen, for 30 days; gunicorn's logger drops such
queries from every line. A recording not yet downloaded is fetched here, while
WeChat still has it, so a lost download task costs nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, render_template, request
from sqlalchemy import select

from bot import db
from bot.crypto import cipher
from bot.models import HelpRequest, VoiceMessage
from bot.requests import recordings
from bot.requests.speech import CONTENT_TYPES
from bot.wechat.client import client
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)
bp = Blueprint("recordings", __name__)


@bp.get("/recordings/<number>")
def page(number: str):
    """The request's recordings, each with a player and a download link."""
    found, voices = _signed_request(number)
    signature = request.args["signature"]
    for voice in voices:
        _ensure_fetched(voice)
    return render_template(
        "recordings.html", request=found, voices=voices, signature=signature, number=number
    )


@bp.get("/recordings/<number>/<int:voice_id>")
def audio(number: str, voice_id: int):
    """One recording's audio file."""
    _found, voices = _signed_request(number)
    voice = next((v for v in voices if v.id == voice_id), None)
    if voice is None:
        abort(404)
    _ensure_fetched(voice)
    data = recordings.audio(voice, cipher())
    if data is None:
        abort(404)
    kind = CONTENT_TYPES.get(voice.format, "application/octet-stream")
    name = f"{number}-{voice.id}.{voice.format}"
    return Response(
        data,
        mimetype=kind,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def _signed_request(number: str) -> tuple[HelpRequest, list[VoiceMessage]]:
    token = request.args.get("signature", "")
    if not recordings.signed_for(current_app.config["SECRET_KEY"], token, number):
        abort(403)
    session = db.session()
    found = session.scalar(select(HelpRequest).where(HelpRequest.number == number))
    if found is None:
        abort(404)
    return found, recordings.of_request(session, found.id)


def _ensure_fetched(voice: VoiceMessage) -> None:
    if voice.state != "waiting":
        return
    try:
        recordings.fetch(db.session(), client(), cipher(), voice.id)
    except WeChatError as exc:  # transient: the page says to come back
        log.warning("voice %s not downloaded yet: %s", voice.id, exc.errcode)
