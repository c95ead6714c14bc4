"""The column's website: pages, lists, feed, sitemap, images and incremental builds."""

from __future__ import annotations

import filecmp
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from publisher.site import MANIFEST, build, render_story_page, story_url
from publisher.story import SHANGHAI, load_all

SITE_URL = "https://vets.example.cn/column"
START = datetime(2025, 8, 1, 8, 0, tzinfo=SHANGHAI)
NOW = START + timedelta(days=7 * 11, hours=1)  # stories 0..11 are out, 12 is not yet
STATIONS = {"513429-107": "九都镇退役军人服务站", "513429-105": "四开镇退役军人服务站"}
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def content(tmp_path) -> Path:
    return tmp_path / "content"


@pytest.fixture
def make_story(make_story):
    """Story n of a weekly column from START: a 1600×900 cover, a link and a photo in the body."""

    def make(
        n: int,
        *,
        title: str | None = None,
        tags: tuple[str, ...] = ("老兵故事",),
        station: str | None = "513429-107",
        colour: tuple[int, int, int] = (168, 40, 30),
        when: datetime | None = None,
    ) -> Path:
        return make_story(
            f"story-{n:02d}",
            title=title or f"第{n}篇：服务站的一天",
            author=f"记者{n}",
            digest=f"第{n}篇的摘要：九都镇服务站的日常",
            publish_at=when or START + timedelta(days=7 * n),
            tags=list(tags),
            station=station,
            body=(
                f"第{n}篇正文。站长说：**“有事就来找我们”**。\n\n![站里的合影](photo.png)\n\n"
                "详见[州政府网站](https://www.lsz.gov.cn/)。\n"
            ),
            cover_size=(1600, 900),
            cover_colour=colour,
            photo_size=(300, 200),
            photo_colour=(40, 90, 160),
        )

    return make


@pytest.fixture
def column(make_story, content):
    """Thirteen weekly stories: two tags, two stations; the last one is not due at NOW."""
    for n in range(13):
        make_story(
            n,
            tags=("老兵故事", "就业帮扶") if n % 2 else ("老兵故事",),
            station="513429-105" if n % 3 == 0 else "513429-107",
        )

    def stories():
        loaded = load_all(content)
        assert not loaded.faults
        return loaded.stories

    return stories


class _Meta(HTMLParser):
    """Collects <meta property> and <a href> and <img src> from a page."""

    def __init__(self, html: str):
        super().__init__()
        self.og, self.links, self.images = {}, [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and attrs.get("property", "").startswith("og:"):
            self.og[attrs["property"]] = attrs["content"]
        elif tag == "a":
            self.links.append(attrs["href"])
        elif tag == "img":
            self.images.append(attrs)


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def titles(html: str) -> list[str]:
    return re.findall(r"<h2><a href=\"[^\"]*\">([^<]+)</a></h2>", html)


def tree(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_story_url_is_the_slug_under_site_url():
    assert story_url(SITE_URL, "jiudu") == "https://vets.example.cn/column/jiudu/"
    assert story_url(SITE_URL + "/", "jiudu") == "https://vets.example.cn/column/jiudu/"


def test_index_is_paginated_newest_first_with_covers_and_no_future_story(column, tmp_path):
    site = tmp_path / "site"
    report = build(column(), site, SITE_URL, NOW, stations=STATIONS)

    assert report.full and report.stories == 12
    first, second = read(site, "index.html"), read(site, "page/2/index.html")
    assert titles(first) == [f"第{n}篇：服务站的一天" for n in range(11, 1, -1)]
    assert titles(second) == ["第1篇：服务站的一天", "第0篇：服务站的一天"]
    assert not (site / "page/3").exists()
    assert "./page/2/" in _Meta(first).links and "../../" in _Meta(second).links
    thumbs = _Meta(first).images
    assert len(thumbs) == 10
    with Image.open(site / thumbs[0]["src"]) as img:
        assert img.size == (480, 270)
    # The story due next week appears nowhere yet.
    assert not (site / "story-12").exists()
    everything = "".join(p.read_text("utf-8") for p in site.rglob("*.*ml"))
    assert "第12篇" not in everything and "story-12" not in everything


def test_story_page_has_its_facts_cover_body_and_neighbours(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW, stations=STATIONS)
    html = read(site, "story-04/index.html")
    page = _Meta(html)

    assert "<h1>第4篇：服务站的一天</h1>" in html
    assert "记者4" in html and "2025年8月29日" in html
    assert "九都镇退役军人服务站" in html and "../stations/513429-107/" in page.links
    assert "<strong>“有事就来找我们”</strong>" in html
    # External links stay live on the site; local pictures sit beside the page.
    assert "https://www.lsz.gov.cn/" in page.links
    cover, photo = page.images
    with Image.open(site / "story-04" / cover["src"]) as img:
        assert img.size == (960, 540) == (int(cover["width"]), int(cover["height"]))
    with Image.open(site / "story-04" / photo["src"]) as img:
        assert img.size == (300, 200)
    assert "../story-03/" in page.links and "../story-05/" in page.links
    assert "../tags/%E8%80%81%E5%85%B5%E6%95%85%E4%BA%8B/" in page.links
    # The newest story has no next one; the first none before it.
    assert 'rel="next"' not in read(site, "story-11/index.html")
    assert 'rel="prev"' not in read(site, "story-00/index.html")


def test_open_graph_tags_describe_the_story_with_absolute_urls(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW)
    og = _Meta(read(site, "story-04/index.html")).og

    assert og["og:title"] == "第4篇：服务站的一天"
    assert og["og:description"] == "第4篇的摘要：九都镇服务站的日常"
    assert og["og:url"] == f"{SITE_URL}/story-04/"
    assert og["og:image"].startswith(f"{SITE_URL}/story-04/cover-")
    assert (site / og["og:image"].removeprefix(SITE_URL + "/")).is_file()


def test_tag_and_station_pages_list_only_their_stories(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW, stations=STATIONS)

    tag = read(site, "tags/就业帮扶/index.html")
    assert "就业帮扶" in tag
    assert titles(tag) == [f"第{n}篇：服务站的一天" for n in (11, 9, 7, 5, 3, 1)]
    assert len(titles(read(site, "tags/老兵故事/index.html"))) == 12
    sikai = read(site, "stations/513429-105/index.html")
    assert "四开镇退役军人服务站" in sikai
    assert titles(sikai) == [f"第{n}篇：服务站的一天" for n in (9, 6, 3, 0)]


def test_feed_is_atom_with_the_newest_stories(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW)
    feed = ET.parse(site / "feed.xml").getroot()

    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}title").text == "凉山退役军人服务站风采录"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 12
    newest = entries[0]
    assert newest.find(f"{ATOM}title").text == "第11篇：服务站的一天"
    assert newest.find(f"{ATOM}link").get("href") == f"{SITE_URL}/story-11/"
    published = datetime.fromisoformat(newest.find(f"{ATOM}published").text)
    assert published == START + timedelta(days=77)
    assert feed.find(f"{ATOM}updated").text == newest.find(f"{ATOM}updated").text
    assert newest.find(f"{ATOM}author/{ATOM}name").text == "记者11"
    self_link = [x for x in feed.findall(f"{ATOM}link") if x.get("rel") == "self"]
    assert self_link[0].get("href") == f"{SITE_URL}/feed.xml"


def test_sitemap_lists_every_page(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW, stations=STATIONS)
    urls = {
        u.find(f"{SITEMAP}loc").text: u.find(f"{SITEMAP}lastmod")
        for u in ET.parse(site / "sitemap.xml").getroot()
    }

    assert f"{SITE_URL}/" in urls and f"{SITE_URL}/page/2/" in urls
    assert urls[f"{SITE_URL}/story-00/"].text.startswith("2025-08-01T08:00:00")
    assert f"{SITE_URL}/tags/%E5%B0%B1%E4%B8%9A%E5%B8%AE%E6%89%B6/" in urls
    assert f"{SITE_URL}/stations/513429-105/" in urls
    assert f"{SITE_URL}/story-12/" not in urls
    assert len(urls) == 12 + 2 + 2 + 2 + 1  # stories, index pages, tags, stations, subscribe


def test_titles_are_escaped(make_story, content, tmp_path):
    make_story(0, title="<script>alert(1)</script>")
    build(load_all(content).stories, tmp_path / "site", SITE_URL, NOW)
    html = read(tmp_path / "site", "story-00/index.html")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_second_build_rewrites_nothing_and_a_new_cover_replaces_the_old(
    column, make_story, tmp_path
):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW)
    again = build(column(), site, SITE_URL, NOW)
    assert again.written == [] and again.removed == []

    old_covers = {p.name for p in (site / "story-04").glob("cover-*")}
    make_story(4, colour=(10, 120, 40))
    report = build(column(), site, SITE_URL, NOW)
    new_covers = {p.name for p in (site / "story-04").glob("cover-*")}
    assert new_covers.isdisjoint(old_covers) and len(new_covers) == 2
    assert sorted(report.removed) == sorted(f"story-04/{n}" for n in old_covers)
    assert not any(w.endswith((".jpg", ".png")) for w in report.written if "story-04" not in w)


def test_incremental_edit_touches_only_what_the_story_touches(column, make_story, tmp_path):
    site, full = tmp_path / "site", tmp_path / "full"
    build(column(), site, SITE_URL, NOW, stations=STATIONS)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}

    make_story(4, title="第4篇：修订后的标题", station="513429-107")
    report = build(column(), site, SITE_URL, NOW, changed={"story-04"}, stations=STATIONS)

    assert not report.full
    assert set(report.written) - {MANIFEST} == {
        "story-04/index.html",
        "story-03/index.html",  # its next link
        "story-05/index.html",  # its previous link
        "index.html",  # story 4 is on the first page
        "tags/老兵故事/index.html",
        "stations/513429-107/index.html",
        "feed.xml",
        "subscribe/index.html",  # its list of recent stories
    }
    untouched = [p for p in before if p.relative_to(site).as_posix() not in report.written]
    assert all(p.stat().st_mtime_ns == before[p] for p in untouched)
    build(column(), full, SITE_URL, NOW, stations=STATIONS)
    assert tree(site) == tree(full)


def test_incremental_build_publishes_a_story_that_became_due(column, tmp_path):
    site, full = tmp_path / "site", tmp_path / "full"
    build(column(), site, SITE_URL, NOW)
    later = NOW + timedelta(days=7)

    report = build(column(), site, SITE_URL, later, changed={"story-12"})

    assert "story-12/index.html" in report.written
    assert "story-11/index.html" in report.written  # it gains a next link
    assert "story-10/index.html" not in report.written
    assert titles(read(site, "index.html"))[0] == "第12篇：服务站的一天"
    build(column(), full, SITE_URL, later)
    assert tree(site) == tree(full)


def test_incremental_build_also_catches_due_stories_it_was_not_told_about(column, tmp_path):
    site, full = tmp_path / "site", tmp_path / "full"
    build(column(), site, SITE_URL, NOW)
    later = NOW + timedelta(days=7)
    build(column(), site, SITE_URL, later, changed=set())
    build(column(), full, SITE_URL, later)
    assert tree(site) == tree(full)


def test_a_story_moved_to_the_future_leaves_the_site(column, make_story, tmp_path):
    site, full = tmp_path / "site", tmp_path / "full"
    build(column(), site, SITE_URL, NOW, stations=STATIONS)
    make_story(
        3, when=NOW + timedelta(days=30), station="513429-105", tags=("老兵故事", "就业帮扶")
    )

    report = build(column(), site, SITE_URL, NOW, changed={"story-03"}, stations=STATIONS)

    assert "story-03/index.html" in report.removed
    assert not (site / "story-03").exists()
    assert "story-03" not in read(site, "tags/就业帮扶/index.html")
    build(column(), full, SITE_URL, NOW, stations=STATIONS)
    assert tree(site) == tree(full)


def test_a_removed_tag_page_goes_when_its_last_story_leaves(make_story, content, tmp_path):
    site = tmp_path / "site"
    make_story(0, tags=("老兵故事",))
    make_story(1, tags=("老兵故事", "创业"))
    build(load_all(content).stories, site, SITE_URL, NOW)
    assert (site / "tags/创业/index.html").is_file()

    make_story(1, tags=("老兵故事",))
    build(load_all(content).stories, site, SITE_URL, NOW, changed={"story-01"})
    assert not (site / "tags/创业").exists()


def test_a_small_picture_is_published_as_it_is(column, tmp_path):
    site = tmp_path / "site"
    build(column(), site, SITE_URL, NOW)
    photo = next((site / "story-04").glob("photo-*"))
    assert filecmp.cmp(photo, column()[4].folder / "photo.png", shallow=False)


def test_render_story_page_stands_alone_with_site_url_links(column, tmp_path):
    story = column()[12]  # previews are of stories not yet due
    html = render_story_page(story, SITE_URL, stations=STATIONS, assets_dir=tmp_path / "preview")
    page = _Meta(html)

    assert "<h1>第12篇：服务站的一天</h1>" in html and "四开镇退役军人服务站" in html
    assert f"{SITE_URL}/static/site.css" in html
    assert 'rel="prev"' not in html and 'rel="next"' not in html
    for img in page.images:
        assert (tmp_path / "preview" / img["src"]).is_file()
    assert page.og["og:url"] == f"{SITE_URL}/story-12/"


def test_pages_rendered_across_processes_are_the_same(column, tmp_path):
    build(column(), tmp_path / "one", SITE_URL, NOW, stations=STATIONS, workers=1)
    build(column(), tmp_path / "two", SITE_URL, NOW, stations=STATIONS, workers=2)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def test_images_that_fail_the_check_are_left_out_and_reported(make_story, content, tmp_path):
    make_story(0)
    truncated = make_story(1) / "cover.jpg"
    svg = make_story(2) / "cover.jpg"
    cut_photo = make_story(3) / "photo.png"
    Image.new("RGB", (1600, 900), (40, 90, 160)).save(svg.with_name("big.jpg"), quality=95)
    truncated.write_bytes(svg.with_name("big.jpg").read_bytes()[:3000])
    svg.write_bytes(SVG)
    Image.effect_noise((300, 200), 60).convert("RGB").save(cut_photo)
    cut_photo.write_bytes(cut_photo.read_bytes()[:2000])
    site = tmp_path / "site"

    report = build(load_all(content).stories, site, SITE_URL, NOW, stations=STATIONS)

    assert report.stories == 4
    assert report.skipped == sorted(
        f"{path}: 不是可读的图片，网站上未放出" for path in (truncated, svg, cut_photo)
    )
    # Every picture the site holds opens whole, and every page finds its pictures.
    for path in [*site.rglob("*.jpg"), *site.rglob("*.png")]:
        with Image.open(path) as img:
            img.load()
    for n in range(4):
        page = _Meta(read(site, f"story-{n:02d}/index.html"))
        for img in page.images:
            assert (site / f"story-{n:02d}" / img["src"]).is_file(), (n, img)
    assert len(_Meta(read(site, "story-00/index.html")).images) == 2
    assert len(_Meta(read(site, "story-01/index.html")).images) == 1  # the photo only
    assert len(_Meta(read(site, "story-03/index.html")).images) == 1  # the cover only
    assert b"<script>" not in b"".join(tree(site).values())
    # The lists show no thumbnail for a story without a usable cover.
    assert len(_Meta(read(site, "index.html")).images) == 2
