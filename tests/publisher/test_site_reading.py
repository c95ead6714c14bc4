"""The built site as a reader meets it: links that lead somewhere, station facts, titles, layout.

There is no browser here, so layout is read from the stylesheet the pages link to: the
rules that decide where a line may break and where each column's edges fall.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from publisher.site import build
from publisher.site_render import SITE_TITLE, StationFacts
from publisher.story import SHANGHAI, load_all

SITE_URL = "https://vets.example.cn/column"
NOW = datetime(2025, 9, 1, 8, 0, tzinfo=SHANGHAI)
JIUDU = StationFacts(
    "九都镇退役军人服务站", "0834-5550107", "布拖县九都镇政府院内", "工作日 9:00-17:00"
)
STATIONS = {"513429-107": JIUDU, "513429-105": "四开镇退役军人服务站"}


class Page(HTMLParser):
    """A page's title, links (a, link, img) and the text of each element with a class."""

    def __init__(self, html: str):
        super().__init__()
        self.title, self.hrefs, self.classes = "", [], {}
        self._stack: list[tuple[str, str | None]] = []
        self._texts: dict[int, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "link", "img"):
                self.hrefs.append(attrs[name])
        if tag not in ("img", "meta", "link", "br"):
            self._stack.append((tag, attrs.get("class")))
            self._texts[len(self._stack)] = []

    def handle_endtag(self, tag):
        if not self._stack:
            return
        depth = len(self._stack)
        name, cls = self._stack.pop()
        text = "".join(self._texts.pop(depth, []))
        if name == "title":
            self.title = text
        if cls:
            self.classes.setdefault(cls, []).append(text)
        if self._stack:
            self._texts[depth - 1].append(text)

    def handle_data(self, data):
        if self._stack:
            self._texts[len(self._stack)].append(data)


def children_text(html: str, cls: str) -> list[str]:
    """The text of each direct child element of the first element with this class."""
    block = re.search(rf'<(\w+) class="{cls}">(.*?)</\1>', html, re.S)
    assert block, cls
    inner = block.group(2)
    parts, depth, current = [], 0, []
    for token in re.split(r"(<[^>]+>)", inner):
        if token.startswith("</"):
            depth -= 1
            if depth == 0:
                parts.append(re.sub(r"<[^>]+>", "", "".join(current)).strip())
                current = []
                continue
        elif token.startswith("<"):
            depth += 1
        if depth > 0:
            current.append(token)
    return parts


@pytest.fixture
def site(make_story, content_dir, tmp_path) -> Path:
    """A small built site: two stations (one with its facts), two tags, a table in a story."""
    table = "| 村 | 退役军人 |\n| --- | --- |\n| 好谷村 | 12 |\n| 拉果村 | 9 |\n"
    make_story("one", station="513429-107", tags=["布拖县", "九都镇"], publish_at="2025-08-01")
    make_story("two", station="513429-105", tags=["布拖县"], publish_at="2025-08-08", body=table)
    make_story("three", station=None, tags=None, publish_at="2025-08-15")
    out = tmp_path / "site"
    build(load_all(content_dir).stories, out, SITE_URL, NOW, stations=STATIONS)
    return out


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def resolves(site: Path, page: str, href: str) -> bool:
    """Whether a link on page (relative to the site) reaches a file of the site."""
    url = urljoin(f"{SITE_URL}/{page}", href)
    if not url.startswith(SITE_URL + "/"):
        return True  # another site: not ours to check
    rel = unquote(urlsplit(url).path.removeprefix(urlsplit(SITE_URL).path + "/"))
    target = site / rel
    return (target / "index.html").is_file() if rel.endswith("/") or not rel else target.is_file()


def test_every_link_on_every_page_reaches_a_page_or_file_of_the_site(site):
    pages = [p.relative_to(site).as_posix() for p in site.rglob("*.html")]
    assert "tags/布拖县/index.html" in pages and "stations/513429-107/index.html" in pages
    checked = 0
    for page in pages:
        for href in Page(read(site, page)).hrefs:
            if href.startswith(("tel:", "mailto:")):
                continue
            assert resolves(site, page, href), f"{page}: {href}"
            checked += 1
    assert checked > 50
    # The feed's own stylesheet too, which makes it readable when opened in a browser.
    feed = read(site, "feed.xml")
    sheet = re.search(r'<\?xml-stylesheet type="text/css" href="([^"]+)"\?>', feed)
    assert sheet and resolves(site, "feed.xml", sheet.group(1))


def test_a_station_page_says_how_to_reach_the_station(site):
    html = read(site, "stations/513429-107/index.html")
    page = Page(html)
    assert "九都镇退役军人服务站" in html
    assert "tel:08345550107" in page.hrefs and "0834-5550107" in html
    assert "布拖县九都镇政府院内" in html and "工作日 9:00-17:00" in html
    # A station the directory knows only by name shows no empty labels.
    sikai = read(site, "stations/513429-105/index.html")
    assert "四开镇退役军人服务站" in sikai and "电话" not in sikai


def test_every_page_title_carries_the_site_name(site):
    for rel in (
        "index.html",
        "tags/布拖县/index.html",
        "stations/513429-107/index.html",
        "one/index.html",
        "subscribe/index.html",
    ):
        assert SITE_TITLE in Page(read(site, rel)).title, rel
    assert Page(read(site, "tags/九都镇/index.html")).title == f"九都镇 · {SITE_TITLE}"
    assert Page(read(site, "stations/513429-107/index.html")).title == (
        f"九都镇退役军人服务站 · {SITE_TITLE}"
    )


def test_subscribe_opens_a_readable_page_with_the_feed_address(site):
    assert re.findall(r'<a href="([^"]+)">订阅</a>', read(site, "index.html")) == ["./subscribe/"]
    html = read(site, "subscribe/index.html")
    assert "关注本公众号" in html and f"{SITE_URL}/feed.xml" in html
    assert "../one/" in Page(html).hrefs  # the recent stories, to read straight away
    # The feed itself stays valid Atom.
    assert ET.fromstring(read(site, "feed.xml").encode()).tag.endswith("feed")


def test_a_byline_line_never_starts_with_a_separator(site):
    html = read(site, "one/index.html")
    parts = children_text(html, "byline")
    assert parts == ["州退役军人事务局 ·", "九都镇退役军人服务站 ·", "2025年8月1日"]
    # Each part is kept whole, so lines break only between parts: after a "·", never before.
    assert "white-space: nowrap" in rules(phone_css(), ".byline > *")
    assert not any(p.startswith("·") for p in parts)
    assert not [s for s in selectors(phone_css()) if ".byline" in s and "::before" in s]


def test_the_footer_never_splits_subscribe(site):
    # One part per span or link, each kept whole: 订阅 can only move to the next line as a word.
    footer = re.search(r'<footer class="colophon">\s*<p>(.*?)</p>', read(site, "index.html"), re.S)
    items = re.findall(r"<(span|a)\b[^>]*>([^<]*)</\1>", footer.group(1))
    assert [text for _, text in items][-1] == "订阅"
    assert re.sub(r"<(span|a)\b[^>]*>[^<]*</\1>", "", footer.group(1)).strip() == ""
    assert "white-space: nowrap" in rules(phone_css(), ".colophon a")
    assert "white-space: nowrap" in rules(phone_css(), ".colophon span")


def test_a_table_spans_the_text_and_scrolls_inside_its_frame(site):
    html = read(site, "two/index.html")
    assert re.search(r'<div class="table"><table>.*?</table></div>', html, re.S)
    table = rules(phone_css(), ".body table")
    assert "width: 100%" in table and "display: block" not in table
    assert "overflow-x: auto" in rules(phone_css(), ".body .table")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_header_article_and_footer_share_one_column(width):
    css = phone_css() if width == "phone" else desktop_css()
    boxes = {sel: width_of(css, sel) for sel in ("main", ".masthead", ".colophon")}
    assert len(set(boxes.values())) == 1, boxes
    # Nothing inside main narrows or shifts the article: its edges are main's.
    for inner in (".story", ".body", ".neighbours", ".cards"):
        declared = rules(css, inner)
        assert not re.search(r"(max-)?width|margin-(left|right)", declared), (inner, declared)


# -- the stylesheet, as a browser of each width applies it --------------------------------


def _css() -> str:
    text = (resources.files("publisher") / "static" / "site.css").read_text(encoding="utf-8")
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def _split(css: str) -> tuple[str, list[tuple[str, str]]]:
    """The rules outside any @media, and each @media block's condition and body."""
    outside, blocks, i = [], [], 0
    for m in re.finditer(r"@media([^{]+)\{", css):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        outside.append(css[i : m.start()])
        blocks.append((m.group(1).strip(), css[m.end() : j - 1]))
        i = j
    outside.append(css[i:])
    return "".join(outside), blocks


def phone_css() -> list[tuple[list[str], str]]:
    base, _ = _split(_css())
    return _rules(base)


def desktop_css() -> list[tuple[list[str], str]]:
    base, blocks = _split(_css())
    return _rules(base) + [r for cond, body in blocks if "min-width" in cond for r in _rules(body)]


def _rules(text: str) -> list[tuple[list[str], str]]:
    return [
        ([s.strip() for s in sel.split(",")], body.strip())
        for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text)
    ]


def selectors(css) -> list[str]:
    return [s for sels, _ in css for s in sels]


def rules(css, selector: str) -> str:
    """Every declaration for exactly this selector, in cascade order."""
    return "; ".join(body for sels, body in css if selector in sels)


def width_of(css, selector: str) -> tuple[str, str, str]:
    """The box a selector gets: max-width and horizontal padding, custom properties resolved."""
    values: dict[str, str] = {}
    for sels, body in css:
        if selector in sels or ":root" in sels:
            for name, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body):
                values[name] = value.strip()

    def resolve(value: str) -> str:
        return re.sub(r"var\((--[\w-]+)\)", lambda m: resolve(values[m.group(1)]), value)

    padding = resolve(values.get("padding", "0"))
    return (
        resolve(values.get("max-width", "none")),
        resolve(values.get("padding-left", padding.split()[-1])),
        resolve(values.get("margin", "")),
    )
