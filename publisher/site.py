"""The column's static website: build it whole, or rebuild only what some stories touch.

Layout under out_dir: `index.html` and `page/<n>/` (newest first), `<slug>/`
(the story with its images), `tags/<tag>/`, `stations/<code>/`, `feed.xml`,
`sitemap.xml`, `static/site.css`, and `.site-manifest.json`, which remembers
what the last build wrote so an incremental build knows old neighbours, old
tags and which files to remove. Files are rewritten only when their content
changes, so a web cache or rsync sees only real changes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import astuple, dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path

from publisher import site_lists
from publisher.site_files import remove_files, write_if_changed
from publisher.site_images import COVER_THUMB, Assets, variant
from publisher.site_render import Stations, card, path_segment, station_facts, story_page
from publisher.story import Story

MANIFEST = ".site-manifest.json"
# Below this many pages a process pool costs more to start than it saves.
POOL_THRESHOLD = 64


@dataclass
class BuildReport:
    """What a build did: files written or removed (relative to out_dir), and counts."""

    full: bool
    stories: int = 0  # stories on the site after the build
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0  # files rendered again but identical, so left alone
    skipped: list[str] = field(default_factory=list)  # `image: reason`, left off the pages


def story_url(site_url: str, slug: str) -> str:
    """The public address of a story's page."""
    return f"{site_url.rstrip('/')}/{slug}/"


def render_story_page(
    story: Story,
    site_url: str,
    *,
    stations: Stations | None = None,
    assets_dir: Path | None = None,
) -> str:
    """The story's page as the site shows it, without neighbours; links use site_url.

    Its images are named as on the site, relative to the page; pass assets_dir
    to have them written there too (e.g. beside a preview file).
    """
    site_url = site_url.rstrip("/")
    html, _ = story_page(
        story, site_url, site_url + "/", Assets(assets_dir), stations=station_facts(stations)
    )
    return html


def render_group_page(
    stories: list[Story],
    kind: str,
    key: str,
    site_url: str,
    *,
    stations: Stations | None = None,
    assets_dir: Callable[[str], Path] | None = None,
) -> str | None:
    """A tag's ("tags") or station's ("stations") page as the site shows it; None if empty.

    key is the page's folder name; every given story counts, due or not (a
    preview). Links use site_url; assets_dir(slug) is where a story's thumbnail goes.
    """
    site_url, facts = site_url.rstrip("/"), station_facts(stations)
    newest = sorted(stories, key=lambda s: (s.publish_at, s.slug), reverse=True)
    groups, names = (site_lists.by_tag if kind == "tags" else site_lists.by_station)(newest)
    if key not in groups:
        return None
    cards = []
    for story in groups[key]:
        assets = Assets(assets_dir(story.slug) if assets_dir else None)
        cards.append(card(story, variant(story.cover, COVER_THUMB, assets), facts))
    return site_lists.render_group(kind, names[key], cards, site_url, site_url + "/", facts)


def render_feed_and_subscribe(
    stories: list[Story], site_url: str, *, stations: Stations | None = None
) -> tuple[str, str]:
    """The feed and the 订阅 page of these stories (every one, due or not), links from site_url."""
    site_url, facts = site_url.rstrip("/"), station_facts(stations)
    newest = sorted(stories, key=lambda s: (s.publish_at, s.slug), reverse=True)
    cards = [card(story, None, facts) for story in newest]
    feed = site_lists.render_feed(newest, site_url)
    return feed, site_lists.render_subscribe(cards, site_url, site_url + "/")


def build(
    stories: list[Story],
    out_dir: Path,
    site_url: str,
    now: datetime,
    *,
    changed: set[str] | None = None,
    stations: Stations | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Write the site of the stories due at now; with changed, only what those touch."""
    out_dir, site_url, stations = Path(out_dir), site_url.rstrip("/"), station_facts(stations)
    due = sorted((s for s in stories if s.publish_at <= now), key=lambda s: (s.publish_at, s.slug))
    order = [s.slug for s in due]
    fingerprint = _fingerprint(site_url, stations)
    old = _read_manifest(out_dir)
    full = changed is None or old is None or old["fingerprint"] != fingerprint
    if full:
        touched = pages = set(order)
    else:
        # A story that became due, or left, since the last build counts as
        # changed even when the caller did not say so.
        touched = set(changed) | (set(order) ^ set(old["order"]))
        pages = _with_neighbours(touched, order) | _with_neighbours(touched, old["order"])
    report = BuildReport(full=full, stories=len(due))

    entries = {} if full else {k: v for k, v in old["stories"].items() if k not in touched}
    jobs = _jobs(due, pages, out_dir, site_url, stations)
    skipped = set()
    for slug, entry, written, unchanged, left_out in _run(jobs, workers):
        entries[slug] = entry
        report.written += written
        report.unchanged += unchanged
        skipped |= left_out
    report.skipped = sorted(skipped)

    wanted = site_lists.Wanted(everything=True)
    if not full:
        wanted = _wanted_lists(touched, entries, old)
    lists = site_lists.write_lists(due, entries, out_dir, site_url, stations, wanted)
    report.written += lists.written
    report.unchanged += lists.unchanged

    owned = {f for e in entries.values() for f in e["files"]} | set(lists.files) | {MANIFEST}
    report.removed = remove_files(out_dir, _previous_files(old, None if full else touched) - owned)
    if _write_manifest(out_dir, fingerprint, order, entries, lists.files):
        report.written.append(MANIFEST)
    report.written.sort()
    return report


def _with_neighbours(slugs: set[str], order: list[str]) -> set[str]:
    position = {slug: i for i, slug in enumerate(order)}
    around = set()
    for slug in slugs & position.keys():
        i = position[slug]
        around.update(order[max(0, i - 1) : i + 2])
    return around


def _jobs(due: list[Story], pages: set[str], out_dir, site_url, stations) -> list[tuple]:
    """One job per page to render, each with its neighbours' slugs and titles."""
    jobs = []
    for i, story in enumerate(due):
        if story.slug not in pages:
            continue
        before = (due[i - 1].slug, due[i - 1].title) if i > 0 else None
        after = (due[i + 1].slug, due[i + 1].title) if i + 1 < len(due) else None
        jobs.append((story, before, after, out_dir, site_url, stations))
    return jobs


def _run(jobs: list[tuple], workers: int | None) -> list:
    """Render story pages, across processes when there are many (or when asked to)."""
    if workers is None:
        workers = (os.cpu_count() or 1) if len(jobs) >= POOL_THRESHOLD else 1
    # A daemonic process (a worker of some pool) may not start children of its own.
    if workers < 2 or not jobs or multiprocessing.current_process().daemon:
        return [_story_job(job) for job in jobs]
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, len(jobs) // (workers * 4))
            return list(pool.map(_story_job, jobs, chunksize=chunk))
    except (OSError, BrokenProcessPool):
        # No processes to be had (limits, a killed child): pages are written
        # only when changed, so doing them all again here is harmless.
        return [_story_job(job) for job in jobs]


def _story_job(job: tuple) -> tuple[str, dict, list[str], int, set[str]]:
    story, before, after, out_dir, site_url, stations = job
    assets = Assets(out_dir / story.slug)
    html, thumb = story_page(
        story, site_url, "../", assets, previous=before, following=after, stations=stations
    )
    written = [p.relative_to(out_dir).as_posix() for p in assets.written]
    page = f"{story.slug}/index.html"
    fresh = write_if_changed(out_dir / page, html)
    if fresh:
        written.append(page)
    entry = {
        "tags": list(story.tags),
        "station": story.station,
        "thumb": [thumb.name, thumb.width, thumb.height] if thumb else None,
        "files": sorted({page, *(f"{story.slug}/{name}" for name in assets.used)}),
    }
    return story.slug, entry, written, 0 if fresh else 1, assets.skipped


def _wanted_lists(touched: set[str], entries: dict, old: dict) -> site_lists.Wanted:
    """The tag and station pages that list, or listed, a touched story."""
    wanted = site_lists.Wanted()
    for slug in touched:
        for entry in (entries.get(slug), old["stories"].get(slug)):
            if entry:
                wanted.tags.update(path_segment(t) for t in entry["tags"])
                if entry["station"]:
                    wanted.stations.add(path_segment(entry["station"]))
    return wanted


def _previous_files(old: dict | None, touched: set[str] | None) -> set[str]:
    """What the last build wrote that this one may replace (all of it, for a full build)."""
    if old is None:
        return set()  # never delete what this code did not write
    stories = old["stories"].items()
    return {f for k, e in stories if touched is None or k in touched for f in e["files"]} | set(
        old["lists"]
    )


def _fingerprint(site_url: str, stations: dict) -> str:
    """What every page depends on; when it changes, an incremental build becomes full."""
    h = hashlib.blake2b(digest_size=12)
    directory = sorted((code, astuple(facts)) for code, facts in stations.items())
    h.update(json.dumps([site_url, directory], ensure_ascii=False).encode())
    package = resources.files("publisher")
    for name in ("templates/site", "static"):
        for item in sorted(package.joinpath(name).iterdir(), key=lambda p: p.name):
            h.update(item.name.encode() + item.read_bytes())
    for module in ("site.py", "site_render.py", "site_lists.py", "site_images.py", "site_files.py"):
        h.update(package.joinpath(module).read_bytes())
    return h.hexdigest()


def _read_manifest(out_dir: Path) -> dict | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    keys = ("fingerprint", "order", "stories", "lists")
    return data if isinstance(data, dict) and all(k in data for k in keys) else None


def _write_manifest(out_dir, fingerprint, order, entries, list_files) -> bool:
    data = {
        "fingerprint": fingerprint,
        "order": order,
        "stories": {slug: entries[slug] for slug in order},
        "lists": sorted(list_files),
    }
    return write_if_changed(out_dir / MANIFEST, json.dumps(data, ensure_ascii=False, indent=0))
