"""Previews of a story as readers will see it: the WeChat article in a phone frame, the site page.

`veteranbot content preview SLUG` writes both to instance/preview/<slug>/;
in SANDBOX mode the web app also serves them at /preview/<slug>/ (site) and
/preview/<slug>/wechat. Stories are previewed before their date, so the pages
are not served with a real account, where the web app faces the internet.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, abort, current_app, render_template, send_file, url_for
from markupsafe import Markup
from werkzeug.security import safe_join

from publisher.check import CONTENT_LIMIT, check_story
from publisher.site import render_story_page
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
        faults=check_story(story),
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


@bp.get("/preview/")
def index():
    """Every story that loads, with links to both previews, and the faults of the rest."""
    loaded = load_all(current_app.config["CONTENT_DIR"])
    return render_template("preview/index.html", stories=loaded.stories, faults=loaded.faults)


@bp.get("/preview/static/site.css")
def site_css():
    """The site's stylesheet, which the site preview links to."""
    css = resources.files("publisher") / "static" / "site.css"
    if not css.is_file():
        abort(404)
    return current_app.response_class(css.read_bytes(), mimetype="text/css")


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
    css = resources.files("publisher") / "static" / "site.css"
    if css.is_file():
        (root / "static").mkdir(parents=True, exist_ok=True)
        (root / "static" / "site.css").write_bytes(css.read_bytes())


def _stations() -> dict[str, str]:
    """Station names by code, so the site preview names the station as the site will."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from bot import db
    from bot.models import Station

    try:
        return dict(db.session().execute(select(Station.code, Station.name)).all())
    except SQLAlchemyError:  # a preview works before `veteranbot db upgrade`; codes then show
        db.session().rollback()
        return {}
