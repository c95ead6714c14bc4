"""Previews of a story as readers will see it: the WeChat article in a phone frame, the site page.

`veteranbot content preview SLUG` writes both to instance/preview/<slug>/;
in SANDBOX mode the web app also serves them at /preview/<slug>/ (site) and
/preview/<slug>/wechat. Stories are previewed before their date, so the pages
are not served with a real account, where the web app faces the internet.

/preview/ is laid out as the site is (/column/), so every link of a previewed
page leads somewhere: its tag and station pages, the feed and 订阅 list every
story that loads, due or not. /preview/ itself is the editors' list: each
story's check faults and the state of its two channels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, abort, current_app, render_template, send_file, url_for
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.security import safe_join

from bot import db
from bot.column.directory import station_codes, station_facts
from bot.column.publish_state import STATE_NAMES, states
from publisher.check import CONTENT_LIMIT, check_story
from publisher.ports import ChannelState
from publisher.site import render_feed_and_subscribe, render_group_page, render_story_page
from publisher.site_render import StationFacts
from publisher.story import Fault, Story, articles_dir, load_all, load_story
from publisher.wechat_html import render_wechat

bp = Blueprint("preview", __name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp"}
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def init_app(app: Flask) -> None:
    """Serve /preview/ in SANDBOX mode only: unpublished stories stay off a public server."""
    if app.config["SANDBOX"]:
        app.register_blueprint(bp)


def wechat_page(story: Story, image_url: Callable[[Path], str], site_href: str) -> str:
    """The WeChat version in a phone frame, with the check's faults above it."""
    body = render_wechat(story, image_url)
    return render_template(
        "preview/wechat.html",
        story=story,
        body=Markup(body),
        length=len(body),
        limit=CONTENT_LIMIT,
        faults=check_story(story, _codes()),
        cover=image_url(story.cover),
        site_href=site_href,
    )


def site_page(story: Story, site_url: str, assets_dir: Path) -> str:
    """The site's page for the story, its images written to assets_dir."""
    return render_story_page(story, site_url, stations=_stations(), assets_dir=assets_dir)


def write_previews(story: Story) -> tuple[Path, Path]:
    """Write instance/preview/<slug>/wechat.html and site.html; return their paths."""
    root = Path(current_app.config["INSTANCE_DIR"]) / "preview"
    out = root / story.slug
    out.mkdir(parents=True, exist_ok=True)
    _copy_site_css(root)

    def relative(path: Path) -> str:
        return quote(Path(os.path.relpath(path.resolve(), out.resolve())).as_posix())

    wechat, site = out / "wechat.html", out / "site.html"
    wechat.write_text(wechat_page(story, relative, "site.html"), encoding="utf-8")
    site.write_text(site_page(story, root.resolve().as_uri(), out), encoding="utf-8")
    return wechat, site


@dataclass(frozen=True)
class Row:
    """One story on the editors' list: its faults and each channel's state."""

    story: Story
    faults: list[Fault]
    channels: list[tuple[str, str, str]]  # (channel label, state name, reason or URL)


@bp.get("/preview/")
def index():
    """Every story that loads, newest first, with its faults and channel states; then the rest."""
    loaded = load_all(current_app.config["CONTENT_DIR"])
    codes, saved = _codes(), _states()
    rows = [
        Row(story, check_story(story, codes), _channels(story.slug, saved))
        for story in reversed(loaded.stories)
    ]
    unchecked = not codes and any(story.station for story in loaded.stories)
    return render_template(
        "preview/index.html",
        rows=rows,
        faults=loaded.faults,
        unchecked=unchecked,
        stations=_stations(),
    )


@bp.get("/preview/static/<name>")
def stylesheet(name: str):
    """The site's stylesheets, which the site preview links to."""
    css = resources.files("publisher") / "static" / name
    if not name.endswith(".css") or "/" in name or not css.is_file():
        abort(404)
    return current_app.response_class(css.read_bytes(), mimetype="text/css")


@bp.get("/preview/tags/<key>/")
def tag(key: str):
    """A tag's page, listing every story with the tag, due or not."""
    return _group("tags", key)


@bp.get("/preview/stations/<key>/")
def station(key: str):
    """A station's page: its phone, address and hours, and every story about it."""
    return _group("stations", key)


@bp.get("/preview/feed.xml")
def feed():
    """The feed as the site will have it, with every story that loads."""
    xml, _ = _feed_and_subscribe()
    return current_app.response_class(xml, mimetype="application/atom+xml")


@bp.get("/preview/subscribe/")
def subscribe():
    """The page the site's 订阅 link opens."""
    _, html = _feed_and_subscribe()
    return html


@bp.get("/preview/<slug>/")
def site(slug: str):
    """The story's page as the site will show it."""
    story = _story_or_faults(slug)
    site_url = url_for("preview.index", _external=True).rstrip("/")
    return site_page(story, site_url, _assets_dir(slug))


@bp.get("/preview/<slug>/wechat")
def wechat(slug: str):
    """The story as the WeChat article, in a phone-width frame."""
    story = _story_or_faults(slug)
    folder = story.folder.resolve()

    def image_url(path: Path) -> str:
        return url_for(
            "preview.file", slug=slug, name=path.resolve().relative_to(folder).as_posix()
        )

    return wechat_page(story, image_url, url_for("preview.site", slug=slug))


@bp.get("/preview/<slug>/<path:name>")
def file(slug: str, name: str):
    """An image of the story: a site-sized copy, or the original in the story folder."""
    if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
        abort(404)
    folder = _folder(slug)
    for base in (_assets_dir(slug), folder):
        path = safe_join(str(base), name)  # None when name climbs out of base
        if path and Path(path).resolve().is_relative_to(base.resolve()) and Path(path).is_file():
            return send_file(path)
    abort(404)


def _folder(slug: str) -> Path:
    # Absolute: send_file reads a relative path from the package folder, not the working one.
    folder = articles_dir(current_app.config["CONTENT_DIR"]).resolve() / slug
    if not SLUG.fullmatch(slug) or not (folder / "index.md").is_file():
        abort(404)
    return folder


def _story_or_faults(slug: str) -> Story:
    story, faults = load_story(_folder(slug))
    if story is None:
        abort(_faults_response(slug, faults))
    return story


def _faults_response(slug: str, faults: list[Fault]):
    html = render_template("preview/faults.html", slug=slug, faults=faults)
    return current_app.response_class(html, status=422, mimetype="text/html")


def _assets_dir(slug: str) -> Path:
    path = Path(current_app.config["INSTANCE_DIR"]) / "preview" / slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def _copy_site_css(root: Path) -> None:
    (root / "static").mkdir(parents=True, exist_ok=True)
    for item in (resources.files("publisher") / "static").iterdir():
        if item.name.endswith(".css"):
            (root / "static" / item.name).write_bytes(item.read_bytes())


def _site_url() -> str:
    return url_for("preview.index", _external=True).rstrip("/")


def _group(kind: str, key: str):
    stories = load_all(current_app.config["CONTENT_DIR"]).stories
    html = render_group_page(
        stories, kind, key, _site_url(), stations=_stations(), assets_dir=_assets_dir
    )
    if html is None:
        abort(404)
    return html


def _feed_and_subscribe() -> tuple[str, str]:
    stories = load_all(current_app.config["CONTENT_DIR"]).stories
    return render_feed_and_subscribe(stories, _site_url(), stations=_stations())


def _channels(slug: str, saved: dict[tuple[str, str], ChannelState]) -> list[tuple[str, str, str]]:
    shown = []
    for channel, label in (("wechat", "微信"), ("site", "网站")):
        st = saved.get((slug, channel))
        name = STATE_NAMES.get(st.state, st.state) if st else STATE_NAMES["pending"]
        note = (st.reason or st.article_url or "") if st else ""
        shown.append((label, name, note))
    return shown


def _states() -> dict[tuple[str, str], ChannelState]:
    try:
        return states(db.session())
    except SQLAlchemyError:  # before `veteranbot db upgrade`: nothing published yet
        db.session().rollback()
        return {}


def _codes() -> set[str] | None:
    return station_codes(db.session())


def _stations() -> dict[str, StationFacts]:
    """The directory, so the site preview shows each station as the site will."""
    try:
        return station_facts(db.session())
    except SQLAlchemyError:  # a preview works before `veteranbot db upgrade`; codes then show
        db.session().rollback()
        return {}
