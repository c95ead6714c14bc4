"""The website's HTML and XML: one story's page, lists of stories, the feed, the sitemap.

Links between pages are relative (`root` is "../" and the like), so the built
folder works copied to any web server; canonical, Open Graph, feed and sitemap
URLs are absolute, from SITE_URL, because readers outside the site follow them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from publisher.markdown import parser
from publisher.site_images import COVER_THUMB, PAGE_WIDTH, Assets, Variant, variant
from publisher.story import SHANGHAI, Story

SITE_TITLE = "凉山退役军人服务站风采录"
SITE_DESCRIPTION = "凉山州退役军人服务站的故事：一站一故事，每周一篇。"


@dataclass(frozen=True)
class Link:
    """A labelled link to another page of the site."""

    label: str
    href: str


@dataclass(frozen=True)
class StationFacts:
    """What a reader wants from a station's page: its name and how to reach it."""

    name: str
    phone: str = ""
    address: str = ""
    hours: str = ""

    @property
    def dial(self) -> str:
        """The phone as a tel: link wants it: digits (and a leading +) only."""
        return re.sub(r"[^0-9+]", "", self.phone)


Stations = Mapping[str, "StationFacts | str"]


def station_facts(stations: Stations | None) -> dict[str, StationFacts]:
    """The directory by code, each entry as StationFacts (a bare name is accepted too)."""
    return {
        code: facts if isinstance(facts, StationFacts) else StationFacts(str(facts))
        for code, facts in (stations or {}).items()
    }


def station_name(stations: Mapping[str, StationFacts], code: str) -> str:
    """A station's name, or its code when the directory does not know it."""
    facts = stations.get(code)
    return facts.name if facts else code


@dataclass(frozen=True)
class Card:
    """A story as the index, tag and station pages list it."""

    slug: str
    title: str
    digest: str
    date: str
    iso: str
    station: str
    thumb: Variant | None


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The site's Jinja environment (one per process), escaping HTML and XML."""
    env = Environment(
        loader=PackageLoader("publisher", "templates/site"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(site_title=SITE_TITLE, site_description=SITE_DESCRIPTION)
    return env


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = parser()
    # A frame around each table: the table spans the text's width, and a wider one
    # scrolls inside the frame instead of widening the page.
    md.add_render_rule("table_open", lambda *args: '<div class="table"><table>\n')
    md.add_render_rule("table_close", lambda *args: "</table></div>\n")
    return md


def render(template: str, **context) -> str:
    """Render one of templates/site/ with the given context."""
    return environment().get_template(template).render(**context)


def chinese_date(story: Story) -> str:
    """The story's date as readers in Liangshan write it: 2025年8月1日."""
    d = story.publish_at.astimezone(SHANGHAI)
    return f"{d.year}年{d.month}月{d.day}日"


def iso_time(story: Story) -> str:
    """publish_at in RFC 3339, as Atom and sitemaps want it."""
    return story.publish_at.isoformat(timespec="seconds")


def path_segment(name: str) -> str:
    """A tag or station code as one safe folder name (no slashes, no leading dot)."""
    segment = re.sub(r"[\s/\\?#%:*\"<>|]+", "-", name.strip()).strip("-").lstrip(".")
    return segment or "-"


def tag_href(root: str, tag: str) -> str:
    """The link to a tag's page."""
    return f"{root}tags/{quote(path_segment(tag))}/"


def station_href(root: str, code: str) -> str:
    """The link to a station's page."""
    return f"{root}stations/{quote(path_segment(code))}/"


def body_html(story: Story, assets: Assets) -> Markup:
    """The story's Markdown as HTML; local images are resized beside the page."""
    md = _markdown()
    tokens = md.parse(story.body)
    folder = story.folder.resolve()
    for token in tokens:
        if token.children:
            token.children = [
                child
                for child in token.children
                if child.type != "image" or _local_image(child, folder, assets)
            ]
    return Markup(md.renderer.render(tokens, md.options, {}))


def _local_image(token, folder: Path, assets: Assets) -> bool:
    """Point the image at its copy beside the page; False when it must be left out."""
    src = str(token.attrs.get("src", ""))
    if not src or re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", src, re.I):
        return True  # external or absolute: a live link, kept as the author wrote it
    source = (folder / src).resolve()
    # Only pictures inside the story's own folder are published beside it.
    if not source.is_relative_to(folder) or not source.is_file():
        return True
    img = variant(source, PAGE_WIDTH, assets)
    if img is None:
        return False  # not a picture that decodes: the build report names it
    token.attrs["src"] = img.name
    if img.width:
        token.attrs.update(width=str(img.width), height=str(img.height))
    token.attrs["loading"] = "lazy"
    return True


def story_page(
    story: Story,
    site_url: str,
    root: str,
    assets: Assets,
    *,
    previous: tuple[str, str] | None = None,
    following: tuple[str, str] | None = None,
    stations: Mapping[str, StationFacts] | None = None,
) -> tuple[str, Variant | None]:
    """One story's full page, and its cover thumbnail for the lists (None: no usable cover)."""
    cover = variant(story.cover, PAGE_WIDTH, assets)
    thumb = variant(story.cover, COVER_THUMB, assets)
    page_url = f"{site_url}/{story.slug}/"
    station = None
    if story.station:
        station = Link(
            station_name(stations or {}, story.station), station_href(root, story.station)
        )
    html = render(
        "story.html",
        story=story,
        root=root,
        canonical=page_url,
        og_type="article",
        og_title=story.title,
        og_image=page_url + quote(cover.name) if cover else None,
        description=story.digest,
        date=chinese_date(story),
        iso=iso_time(story),
        cover=cover,
        body=body_html(story, assets),
        station=station,
        tags=[Link(t, tag_href(root, t)) for t in story.tags],
        previous=previous and Link(previous[1], f"{root}{previous[0]}/"),
        following=following and Link(following[1], f"{root}{following[0]}/"),
    )
    return html, thumb


def card(story: Story, thumb: Variant | None, stations: Mapping[str, StationFacts]) -> Card:
    """The story's card for lists."""
    station = station_name(stations, story.station) if story.station else ""
    return Card(
        story.slug,
        story.title,
        story.digest,
        chinese_date(story),
        iso_time(story),
        station or "",
        thumb,
    )
