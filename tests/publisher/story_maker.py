"""Settings, moments and read-backs for publishing tests; stories come from `make_story`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from bot.models import PublishState
from publisher.story import SHANGHAI

EDITORS = ("o-editor-1", "o-editor-2")
EDITOR_TEMPLATE = "tpl-editor-notice"


def publishing_settings(tmp_path: Path, **changes) -> dict:
    """The settings a publishing test adds: content, site, editors and their template."""
    return {
        "CONTENT_DIR": str(tmp_path / "content"),
        "SITE_DIR": str(tmp_path / "site"),
        "SITE_URL": "https://vets.example.cn/column",
        "EDITOR_OPENIDS": ",".join(EDITORS),
        "WECHAT_TEMPLATE_EDITOR_NOTICE": EDITOR_TEMPLATE,
        # Greetings share the mass quota; keep them out unless a test brings them in.
        "GREETING_OCCASIONS": "none",
        **changes,
    }


def ago(**delta) -> datetime:
    """A moment in the past, in Beijing time."""
    return datetime.now(SHANGHAI) - timedelta(**delta)


def ahead(**delta) -> datetime:
    """A moment in the future, in Beijing time."""
    return datetime.now(SHANGHAI) + timedelta(**delta)


def channel_state(session, slug: str, channel: str = "wechat") -> PublishState:
    """A story's saved state on one channel, read afresh."""
    session.expire_all()
    return session.query(PublishState).filter_by(slug=slug, channel=channel).one()


def editor_notices(platform) -> list[dict]:
    """Every editor notice the platform delivered, oldest first."""
    return [
        m
        for openid in EDITORS
        for m in platform.messages_to(openid)
        if m["kind"] == "template" and m["template_id"] == EDITOR_TEMPLATE
    ]
