"""Writes 风采录 story folders (index.md, a cover and a body photo) for publishing tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

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


def write_story(
    content_dir: str | Path,
    slug: str,
    publish_at: datetime,
    *,
    title: str | None = None,
    mode: str = "publish",
    cover_ok: bool = True,
    body_color: tuple = (40, 90, 160),
) -> Path:
    """A story folder under content_dir/articles with a PNG cover and one body image."""
    folder = Path(content_dir) / "articles" / slug
    folder.mkdir(parents=True, exist_ok=True)
    if cover_ok:
        Image.new("RGB", (90, 50), (200, 60, 40)).save(folder / "cover.png")
    else:
        (folder / "cover.png").write_bytes(b"not an image at all")
    Image.new("RGB", (60, 40), body_color).save(folder / "photo.png")
    (folder / "index.md").write_text(
        "---\n"
        f"title: {title or '九都镇服务站的一天'}\n"
        "author: 凉山州退役军人事务局\n"
        "digest: 九都镇退役军人服务站的日常\n"
        f"publish_at: {publish_at.strftime('%Y-%m-%d %H:%M:%S%z')}\n"
        "cover: cover.png\n"
        "station: 513429-107\n"
        "wechat:\n"
        f"  mode: {mode}\n"
        "  open_comment: true\n"
        "---\n"
        "九都镇服务站每天早上八点开门。\n\n"
        "![服务站](photo.png)\n\n"
        "站长说：**“有事就来找我们”**。\n",
        encoding="utf-8",
    )
    return folder


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
