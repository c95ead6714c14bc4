"""/preview/: an editor opens a story before its date and sees what readers will see."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from bot.column.publish_state import DbStateStore
from publisher.ports import ChannelState
from tests.fixtures.ledgers import load_sample
from tests.fixtures.stories import copy_shipped_content


@pytest.fixture
def app_settings(app_settings):
    """SANDBOX mode (no real AppID/secret), where previews are served."""
    return {**app_settings, "WECHAT_APP_ID": "", "WECHAT_APP_SECRET": ""}


@pytest.fixture
def articles(app) -> Path:
    """The shipped sample stories, copied into the test's CONTENT_DIR."""
    return copy_shipped_content(Path(app.config["CONTENT_DIR"])) / "articles"


def srcs(html: str) -> list[str]:
    return re.findall(r'<img[^>]* src="([^"]+)"', html)


def fetch(client, url: str) -> tuple[int, str]:
    """Status and type of a file response, closing the file it streams."""
    with client.get(url) as response:
        return response.status_code, response.mimetype


def test_the_site_preview_shows_the_story_page_with_its_images(client, articles):
    page = client.get("/preview/jiudu-station", follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "海拔两千八百米的“家门口”服务站" in html
    assert 'href="http://www.mva.gov.cn/"' in html  # the site keeps live links
    images = srcs(html)
    assert len(images) >= 2  # the cover and the station photo
    for src in images:
        assert fetch(client, f"/preview/jiudu-station/{src}") == (200, "image/jpeg"), src


def test_the_wechat_preview_is_the_article_in_a_phone_frame(client, articles):
    page = client.get("/preview/jiudu-station/wechat")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="phone"' in html and "max-width:375px" in html
    assert "<h1>海拔两千八百米的“家门口”服务站</h1>" in html
    assert "正文 " in html and " / 20,000 字符" in html
    assert "<strong>“五有”</strong>" in html and "**" not in html
    assert "退役军人事务部网站<sup" in html and "参考链接" in html
    assert 'href="http://www.mva.gov.cn/"' not in html  # WeChat would strip it
    images = srcs(html)
    assert images == [
        "/preview/jiudu-station/cover.jpg",
        "/preview/jiudu-station/station.jpg",
    ]
    for src in images:
        assert fetch(client, src) == (200, "image/jpeg")


def test_images_show_when_the_content_folder_is_given_relative_to_the_working_folder(
    make_app, articles, monkeypatch
):
    # As `make run` starts it: CONTENT_DIR=content, from the checkout.
    monkeypatch.chdir(articles.parent.parent)
    client = make_app(CONTENT_DIR="content").test_client()
    for page in ("/preview/jiudu-station/wechat", "/preview/jiudu-station/"):
        html = client.get(page).get_data(as_text=True)
        images = srcs(html)
        assert len(images) >= 2, page
        for src in images:
            url = src if src.startswith("/") else f"/preview/jiudu-station/{src}"
            assert fetch(client, url) == (200, "image/jpeg"), (page, src)


def test_the_index_lists_every_story_with_both_previews(client, articles):
    html = client.get("/preview/").get_data(as_text=True)
    for slug in ("jiudu-station", "fire-season-patrol", "one-file-per-veteran"):
        assert f'href="/preview/{slug}/wechat"' in html and f'href="/preview/{slug}/"' in html


def test_the_index_reads_on_a_phone_with_each_storys_state_and_faults(client, session, articles):
    (articles / "fire-season-patrol" / "cover.jpg").write_bytes(b"not a picture")
    store = DbStateStore(session)
    url = "https://mp.weixin.qq.com/s/jiudu"
    store.save(ChannelState("jiudu-station", "wechat", state="published", article_url=url))
    store.save(ChannelState("jiudu-station", "site", state="failed", reason="磁盘已满"))

    html = client.get("/preview/").get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width' in html and "<style>" in html
    stories = {
        slug: re.search(rf'<section class="story" id="{slug}">(.*?)</section>', html, re.S)[1]
        for slug in ("jiudu-station", "fire-season-patrol", "one-file-per-veteran")
    }
    channels = {
        slug: re.findall(r'<li>(微信|网站) <span class="state[^"]*">([^<]+)</span>', part)
        for slug, part in stories.items()
    }
    assert channels["jiudu-station"] == [("微信", "已发布"), ("网站", "失败")]
    assert url in stories["jiudu-station"] and "磁盘已满" in stories["jiudu-station"]
    assert channels["one-file-per-veteran"] == [("微信", "待发布"), ("网站", "待发布")]
    assert "cover：cover.jpg：不是可读的图片" in stories["fire-season-patrol"]
    assert "检查通过" in stories["one-file-per-veteran"]
    assert "检查通过" not in stories["fire-season-patrol"]


def test_every_link_of_the_site_preview_leads_somewhere(client, session, articles):
    load_sample(session)
    seen, queue, pages = set(), ["/preview/jiudu-station/"], 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        with client.get(url) as response:
            assert response.status_code == 200, url
            if response.mimetype != "text/html" or url.endswith("/wechat"):
                continue
            pages += 1
            for href in re.findall(r'(?:href|src)="([^"]+)"', response.get_data(as_text=True)):
                target = urlsplit(urljoin(f"http://localhost{url}", href))
                if target.netloc == "localhost" and target.path.startswith("/preview/"):
                    queue.append(unquote(target.path))
    # The story, its tags and station, 订阅, and the other stories they list.
    assert {"/preview/tags/九都镇/", "/preview/stations/513429-107/"} <= seen
    assert {"/preview/feed.xml", "/preview/subscribe/", "/preview/static/site.css"} <= seen
    assert pages >= 8


def test_a_station_page_in_the_preview_shows_how_to_reach_the_station(client, session, articles):
    load_sample(session)
    html = client.get("/preview/stations/513429-107/").get_data(as_text=True)
    assert "九都镇退役军人服务站" in html and 'href="tel:08345550107"' in html
    assert "布拖县九都镇政府便民服务中心" in html and "周一至周五 8:30-12:00" in html
    assert html.count('<article class="card">') == 3  # every sample story, due or not
    assert client.get("/preview/stations/513429-999/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/preview/jiudu-station/index.md",
        "/preview/jiudu-station/..%2Fsecret.png",
        "/preview/jiudu-station/../secret.png",
        "/preview/jiudu-station/%2E%2E/%2E%2E/secret.png",
        "/preview/..%2Farticles/",
        "/preview/nope/",
        "/preview/nope/wechat",
    ],
)
def test_nothing_outside_a_story_folder_is_served(client, articles, path):
    # A picture just outside the story folder, and one outside the content folder.
    (articles / "secret.png").write_bytes((articles / "jiudu-station" / "cover.jpg").read_bytes())
    (articles.parent / "secret.png").write_bytes(b"secret")
    assert client.get(path).status_code == 404


def test_a_story_with_faults_shows_them_instead_of_a_preview(client, articles):
    index = articles / "jiudu-station" / "index.md"
    index.write_text(index.read_text(encoding="utf-8").replace("cover: cover.jpg", "cover: 无.jpg"))
    page = client.get("/preview/jiudu-station/wechat")
    assert page.status_code == 422
    assert "cover: 找不到 无.jpg（应和 index.md 放在同一目录）" in page.get_data(as_text=True)


def test_the_wechat_preview_lists_the_check_faults_above_the_article(client, articles):
    big = articles / "jiudu-station" / "station.jpg"
    big.write_bytes(b"not a picture")
    html = client.get("/preview/jiudu-station/wechat").get_data(as_text=True)
    assert "正文: 图片 station.jpg：不是可读的图片" in html


def test_previews_are_not_served_with_a_real_account(make_app, articles):
    real = make_app(WECHAT_APP_ID="wxreal0000000001", WECHAT_APP_SECRET="real-secret")
    assert real.test_client().get("/preview/jiudu-station/wechat").status_code == 404


def test_a_story_with_an_impossible_date_is_a_page_of_faults_not_an_error(client, articles):
    index = articles / "jiudu-station" / "index.md"
    text = index.read_text(encoding="utf-8")
    index.write_text(re.sub(r"publish_at: .*", "publish_at: 2026-02-30", text), encoding="utf-8")
    for url in ("/preview/jiudu-station/", "/preview/jiudu-station/wechat"):
        page = client.get(url)
        assert page.status_code == 422, url
        assert "publish_at: “2026-02-30”不是日期和时间" in page.get_data(as_text=True)
    listing = client.get("/preview/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert 'href="/preview/fire-season-patrol/"' in html
    assert "jiudu-station/index.md: publish_at: " in html
