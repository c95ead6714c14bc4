"""The menu of what the bot does, and the answers for things it cannot take."""

from __future__ import annotations

from flask import render_template

from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn


def show(_turn: Turn | None = None) -> Reply:
    """What the bot can do, ending with the question of which."""
    return Reply(render_template("replies/menu.txt"))


def cancelled() -> Reply:
    """Confirm that the open dialog was left, then show the menu."""
    return Reply(render_template("replies/cancelled.txt"))


def unsupported(msg_type: str) -> Reply:
    """Pictures, videos, links and the like: say what works instead."""
    return Reply(render_template("replies/unsupported.txt", msg_type=msg_type))


def voice_unrecognised() -> Reply:
    """A voice message WeChat could not turn into words."""
    return Reply(render_template("replies/voice_unrecognised.txt"))
