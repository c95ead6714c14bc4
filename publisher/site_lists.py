"""The site's pages about many stories: index, tag and station pages, feed, subscribe, sitemap, CSS.

The render_* functions are also how a preview shows these pages (bot/column/preview.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import quote

from publisher.site_files import write_if_changed
from publisher.site_images import Variant
from publisher.site_render import (
    SITE_TITLE,
    Card,
    Link,
    StationFacts,
    card,
    iso_time,
    path_segment,
    render,
    station_name,
)
from publisher.story import Story

PER_PAGE = 10
FEED_ENTRIES = 20
EPOCH = "2025-08-01T00:00:00+08:00"  # the column's first day: the feed's date while it is empty


@dataclass
class Wanted:
    """Which tag and station pages to render (by folder name); index, feed and sitemap always."""

    everything: bool = False
    tags: set[str] = field(default_factory=set)
    stations: set[str] = field(default_factory=set)


@dataclass
class Lists:
    """Every list file the site now has, and those this build wrote or found unchanged."""

    files: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: int = 0


def write_lists(due, entries, out_dir, site_url, stations, wanted: Wanted) -> Lists:
    """Write the index pages, the wanted tag and station pages, feed, sitemap and CSS."""
    out = Lists()

    def emit(rel: str, text: str | None) -> None:
        out.files.append(rel)
        if text is None:
            return  # not wanted this time: it stays as the last build wrote it
        if write_if_changed(out_dir / rel, text):
            out.written.append(rel)
        else:
            out.unchanged += 1

    newest = due[::-1]
    cards = [card(s, _thumb(entries[s.slug]["thumb"]), stations) for s in newest]
    by_slug = {c.slug: c for c in cards}
    common = {"site_url": site_url, "og_type": "website"}
    pages = [cards[i : i + PER_PAGE] for i in range(0, len(cards), PER_PAGE)] or [[]]
    for n, chunk in enumerate(pages, start=1):
        root = "./" if n == 1 else "../../"
        path = "" if n == 1 else f"page/{n}/"
        emit(
            f"{path}index.html",
            render(
                "list.html",
                **common,
                root=root,
                cards=chunk,
                heading=None,
                kind="index",
                canonical=f"{site_url}/{path}",
                og_title=site_title_for(n),
                og_image=_image_url(site_url, chunk),
                newer=_page_href(root, n - 1) if n > 1 else None,
                older=_page_href(root, n + 1) if n < len(pages) else None,
                page=n,
                pages=len(pages),
            ),
        )

    for kind, groups, names in (("tags", *by_tag(newest)), ("stations", *by_station(newest))):
        chosen = wanted.tags if kind == "tags" else wanted.stations
        for key, members in sorted(groups.items()):
            rel = f"{kind}/{key}/index.html"
            if not (wanted.everything or key in chosen):
                emit(rel, None)
                continue
            chunk = [by_slug[s.slug] for s in members]
            emit(rel, render_group(kind, names[key], chunk, site_url, "../../", stations))

    emit("feed.xml", render_feed(newest, site_url))
    emit("subscribe/index.html", render_subscribe(cards, site_url, "../"))
    lists = [rel.removesuffix("index.html") for rel in out.files if rel.endswith("index.html")]
    urls = [(f"{site_url}/{quote(rel)}", None) for rel in lists]
    urls[1:1] = [(f"{site_url}/{s.slug}/", iso_time(s)) for s in newest]
    emit("sitemap.xml", render("sitemap.xml", urls=urls))
    for item in sorted(resources.files("publisher").joinpath("static").iterdir(), key=str):
        if item.name.endswith(".css"):
            emit(f"static/{item.name}", item.read_text(encoding="utf-8"))
    return out


def render_group(
    kind: str,
    name: str,
    cards: list[Card],
    site_url: str,
    root: str,
    stations: dict[str, StationFacts],
) -> str:
    """A tag's page (kind "tags") or a station's ("stations", with its phone, address, hours)."""
    station = stations.get(name) if kind == "stations" else None
    label = station_name(stations, name) if kind == "stations" else name
    return render(
        "list.html",
        site_url=site_url,
        og_type="website",
        root=root,
        cards=cards,
        heading=Link(label, ""),
        station=station,
        kind=kind,
        canonical=f"{site_url}/{kind}/{quote(path_segment(name))}/",
        og_title=label,
        og_image=_image_url(site_url, cards),
        newer=None,
        older=None,
    )


def render_feed(newest: list[Story], site_url: str) -> str:
    """The Atom feed of the newest stories."""
    recent = newest[:FEED_ENTRIES]
    updated = iso_time(recent[0]) if recent else EPOCH
    return render("feed.xml", site_url=site_url, stories=recent, updated=updated)


def render_subscribe(cards: list[Card], site_url: str, root: str) -> str:
    """The page 订阅 opens: how to follow the column, in WeChat or a feed reader."""
    return render(
        "subscribe.html",
        site_url=site_url,
        og_type="website",
        root=root,
        cards=cards[:FEED_ENTRIES],
        canonical=f"{site_url}/subscribe/",
        og_title=f"订阅 · {SITE_TITLE}",
        og_image=None,
        feed_url=f"{site_url}/feed.xml",
    )


def site_title_for(page: int) -> str:
    """The index page's title: the column's name, with the page number after the first."""
    return SITE_TITLE if page == 1 else f"{SITE_TITLE}（第 {page} 页）"


def _page_href(root: str, n: int) -> str:
    return root if n == 1 else f"{root}page/{n}/"


def _thumb(saved: list | None) -> Variant | None:
    """The thumbnail the manifest remembers; None for a story without a usable cover."""
    return Variant(*saved) if saved else None


def _image_url(site_url: str, chunk) -> str | None:
    first = next((c for c in chunk if c.thumb), None)
    return f"{site_url}/{first.slug}/{quote(first.thumb.name)}" if first else None


def by_tag(newest: list[Story]):
    """Stories by tag folder, newest first, and each folder's tag as written."""
    groups: dict[str, list[Story]] = {}
    names: dict[str, str] = {}
    for story in newest:
        for tag in dict.fromkeys(story.tags):
            key = path_segment(tag)
            names.setdefault(key, tag)
            members = groups.setdefault(key, [])
            if not members or members[-1].slug != story.slug:  # two tags, one folder
                members.append(story)
    return groups, names


def by_station(newest: list[Story]):
    """Stories by station folder, newest first, and each folder's station code."""
    groups: dict[str, list[Story]] = {}
    names: dict[str, str] = {}
    for story in newest:
        if story.station:
            key = path_segment(story.station)
            names.setdefault(key, story.station)
            groups.setdefault(key, []).append(story)
    return groups, names
