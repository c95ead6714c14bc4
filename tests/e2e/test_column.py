"""The 风采录 website as readers reach it: `veteranbot site build`, then /column/ over HTTP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from bot.commands.site import site
from publisher.story import SHANGHAI
from tests.fixtures.factories import CountyFactory, TownshipFactory

SITE_URL = "https://vets.example.cn/column"


@pytest.fixture(autouse=True)
def _site_settings(app_settings, tmp_path):
    """Every app in this module builds and serves its site in tmp_path."""
    app_settings.update(SITE_DIR=str(tmp_path / "site"), SITE_URL=SITE_URL)


@dataclass
class Answer:
    """A response, read and closed (a served file stays open until its response closes)."""

    status: int
    mimetype: str
    text: str
    data: bytes
    location: str | None


def fetch(client, path: str) -> Answer:
    with client.get(path) as response:
        data = response.get_data()
        return Answer(
            response.status_code,
            response.mimetype,
            data.decode("utf-8", "replace"),
            data,
            response.headers.get("Location"),
        )


@pytest.fixture
def built(app, session, make_story):
    """Two stories out and one scheduled, stations in the database, the site built by the CLI."""
    now = datetime.now(SHANGHAI)
    for slug, title, days in (
        ("jiudu-morning", "九都镇服务站的早晨", -8),
        ("jiudu-harvest", "九都镇的秋收", -1),
        ("next-week", "下周的故事", 6),
    ):
        make_story(slug, title=title, publish_at=now + timedelta(days=days), tags=["老兵故事"])
    TownshipFactory(parent=CountyFactory(code="513429"), code="513429-107")
    result = app.test_cli_runner().invoke(site, ["build"])
    assert result.exit_code == 0, result.output
    return result


def test_site_build_says_what_it_did(built, app):
    assert "2 篇故事已刊出（共 3 篇）" in built.output
    assert "用时" in built.output and app.config["SITE_DIR"] in built.output


def test_column_serves_the_index_and_story_pages(built, client):
    index = fetch(client, "/column/")
    assert index.status == 200 and index.mimetype == "text/html"
    text = index.text
    assert text.index("九都镇的秋收") < text.index("九都镇服务站的早晨")
    assert "下周的故事" not in text

    page = fetch(client, "/column/jiudu-morning/").text
    assert "<h1>九都镇服务站的早晨</h1>" in page
    assert "九都镇退役军人服务站" in page  # the station's name, from the database
    assert f'<meta property="og:url" content="{SITE_URL}/jiudu-morning/">' in page
    assert fetch(client, "/column/next-week/").status == 404


def test_column_serves_assets_feed_and_station_pages(built, client):
    css = fetch(client, "/column/static/site.css")
    assert css.status == 200 and css.mimetype == "text/css"
    feed = ET.fromstring(fetch(client, "/column/feed.xml").data)
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 2
    station = fetch(client, "/column/stations/513429-107/").text
    assert "九都镇的秋收" in station and "九都镇服务站的早晨" in station
    # What a reader wants from a station, from the directory `site build` read.
    assert "九都镇政府一楼" in station and "周一至周五 9:00-17:00" in station
    assert re.search(r'<a href="tel:083484\d{5}">0834-84\d{5}</a>', station)
    assert fetch(client, "/column/tags/%E8%80%81%E5%85%B5%E6%95%85%E4%BA%8B/").status == 200
    cover = fetch(client, "/column/jiudu-morning/" + _cover_name(client))
    assert cover.status == 200 and cover.mimetype == "image/jpeg"


def test_every_link_of_the_served_site_answers_without_a_redirect(built, client):
    seen, queue = set(), ["/column/"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = fetch(client, path)
        assert answer.status == 200, path  # not a redirect to a 404, nor a 404
        if answer.mimetype != "text/html":
            continue
        for href in re.findall(r'(?:href|src)="([^"]+)"', answer.text):
            target = urlsplit(urljoin(f"http://localhost{path}", href))
            if target.netloc == "localhost":
                queue.append(target.path)
    assert {"/column/subscribe/", "/column/feed.xml", "/column/stations/513429-107/"} <= seen
    assert any(p.startswith("/column/tags/") for p in seen)
    # The feed, opened in a browser, brings its stylesheet.
    feed = fetch(client, "/column/feed.xml").text
    sheet = re.search(r'<\?xml-stylesheet type="text/css" href="([^"]+)"', feed)[1]
    assert fetch(client, urljoin("/column/feed.xml", sheet)).mimetype == "text/css"


def test_folders_without_a_slash_redirect_so_relative_links_work(built, client):
    answer = fetch(client, "/column/jiudu-morning")
    assert answer.status == 308 and answer.location.endswith("/column/jiudu-morning/")
    assert fetch(client, "/column").status in (301, 308)


@pytest.mark.parametrize(
    "path",
    [
        "/column/.site-manifest.json",
        "/column/../instance/secret.key",
        "/column/%2e%2e/instance/secret.key",
        "/column/jiudu-morning/../../instance/secret.key",
        "/column/no-such-story/",
        "/column/no-such-file.html",
    ],
)
def test_column_answers_404_outside_the_site(built, client, path):
    assert fetch(client, path).status == 404


def test_column_is_404_before_any_build(client):
    assert fetch(client, "/column/").status == 404


def _cover_name(client) -> str:
    page = fetch(client, "/column/jiudu-morning/").text
    start = page.index('src="cover-') + len('src="')
    return page[start : page.index('"', start)]


def test_site_build_leaves_out_a_cover_that_is_not_a_picture_and_says_so(app, client, make_story):
    now = datetime.now(SHANGHAI)
    make_story("jiudu-morning", title="九都镇服务站的早晨", publish_at=now - timedelta(days=8))
    folder = make_story(
        "disguised", title="伪装的封面", publish_at=now - timedelta(days=1), body="没有插图。\n"
    )
    cover = folder / "cover.jpg"
    cover.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')

    result = app.test_cli_runner().invoke(site, ["build"])

    assert result.exit_code == 0, result.output
    assert "2 篇故事已刊出（共 2 篇）" in result.output
    assert f"{cover}: 不是可读的图片，网站上未放出" in result.output
    page = fetch(client, "/column/disguised/")
    assert page.status == 200 and "伪装的封面" in page.text and "<img" not in page.text
    site_dir = Path(app.config["SITE_DIR"])
    assert not any(b"<script>" in p.read_bytes() for p in site_dir.rglob("*") if p.is_file())
