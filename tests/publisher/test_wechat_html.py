"""The WeChat article body: what survives WeChat's editor, as readers will see it.

The fixture story's HTML is kept in snapshots/; after an intended change to the
renderer or the theme, refresh it with

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/publisher/test_wechat_html.py

and review the diff of tests/publisher/snapshots/ before committing.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from publisher.story import load_story
from publisher.wechat_html import render_wechat

SNAPSHOTS = Path(__file__).parent / "snapshots"
FIXTURE_BODY = """\
九都镇在布拖县的大山深处，平均海拔两千八百米，
冬天来得早、走得晚。

## 一张表看九都

| 项目 | 情况 |
| :-- | --: |
| 村级服务站 | 11 个 |
| 服务对象 | 54 名 |

> 底数要清，需求要明，**帮扶要准**，服务要暖。

按照**“五有”**的要求，见[退役军人事务部](http://www.mva.gov.cn/)和
[同一网站](http://www.mva.gov.cn/)，以及[往期文章](https://mp.weixin.qq.com/s/abc123)。

![镇服务站](photo.png)

1. 电话保持联系
   - 有事随时打
     - 没事也常问
2. 每月上门走访

### 小结

`code` 与 *强调*，还有 <b>不是标签</b>。
"""


def image_url(path: Path) -> str:
    """What media/uploadimg would answer, derived from the file name."""
    return f"https://mmbiz.qpic.cn/test/{path.name}"


class Elements(HTMLParser):
    """Every element's tag and attributes, with the list depth at which it opened."""

    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict, int]] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        self.depth += tag in ("ul", "ol")
        self.elements.append((tag, dict(attrs), self.depth))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), self.depth))

    def handle_endtag(self, tag):
        self.depth -= tag in ("ul", "ol")


def elements(html: str) -> list[tuple[str, dict, int]]:
    parser = Elements()
    parser.feed(html)
    return parser.elements


@pytest.fixture
def render(make_story):
    """Render a body (or the fixture story) to WeChat HTML, recording image_url calls."""

    def run(body: str = FIXTURE_BODY, calls: list | None = None) -> str:
        story, faults = load_story(make_story(body=body))
        assert faults == []

        def upload(path: Path) -> str:
            (calls if calls is not None else []).append(path)
            return image_url(path)

        return render_wechat(story, upload)

    return run


def test_the_fixture_story_matches_its_snapshot(render):
    html = render()
    snapshot = SNAPSHOTS / "fixture_story.html"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(html, encoding="utf-8")
    assert html == snapshot.read_text(encoding="utf-8"), "UPDATE_SNAPSHOTS=1 refreshes it"


def test_only_inline_styles_survive_no_style_class_or_script(render):
    html = render(FIXTURE_BODY + "\n<script>alert(1)</script>\n\n```js\nlet a = 1\n```\n")
    tags = elements(html)
    assert not {"style", "script", "link"} & {tag for tag, _, _ in tags}
    assert {name for _, attrs, _ in tags for name in attrs} <= {"style", "src", "alt", "href"}
    assert "var(" not in html and "--" not in html.replace("<!--", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # typed text stays text
    # Every visible block carries its own style, since WeChat keeps nothing else.
    for tag in ("h2", "p", "blockquote", "table", "th", "td", "ol", "li", "img", "pre"):
        assert all("style" in attrs for t, attrs, _ in tags if t == tag), tag


def test_external_links_become_numbered_references_listed_at_the_end(render):
    html = render()
    hrefs = [attrs["href"] for tag, attrs, _ in elements(html) if tag == "a"]
    assert hrefs == ["https://mp.weixin.qq.com/s/abc123"]  # WeChat articles stay links
    assert "退役军人事务部<sup" in html and "同一网站<sup" in html
    assert html.count(">[1]</sup>") == 2 and "[2]</sup>" not in html  # one URL, one number
    assert "参考链接" in html
    assert "[1] 退役军人事务部：http://www.mva.gov.cn/</p>" in html
    assert html.index("参考链接") > html.index("小结")


def test_a_story_without_external_links_has_no_reference_list(render):
    assert "参考链接" not in render("只有正文。\n")


def test_chinese_emphasis_next_to_quotes_is_bold_not_stray_asterisks(render):
    html = render("这是**“引号”**测试，还有**（括号）**和*“斜体”*。\n")
    assert "这是<strong>“引号”</strong>测试" in html
    assert "<strong>（括号）</strong>" in html and "<em>“斜体”</em>" in html
    assert "*" not in html


def test_local_images_are_uploaded_through_image_url_and_use_its_answer(render, make_story):
    calls: list[Path] = []
    body = "![一](photo.png)\n\n![外站](https://example.com/a.png)\n\n![越界](../other/x.png)\n"
    html = render(body, calls)
    assert [p.name for p in calls] == ["photo.png"]
    assert calls[0].parent.name == "jiudu"  # the file beside index.md
    srcs = [attrs["src"] for tag, attrs, _ in elements(html) if tag == "img"]
    assert srcs == ["https://mmbiz.qpic.cn/test/photo.png"]
    assert "外站<sup" in html and "https://example.com/a.png</p>" in html
    assert "越界" in html  # a file outside the story folder is never uploaded


def test_lists_are_flattened_to_wechats_two_levels_without_losing_items(render):
    body = "- 一\n  - 二\n    - 三\n      - 四\n- 五\n"
    html = render(body)
    assert max(depth for _, _, depth in elements(html)) == 2
    for word in ("一", "二", "三", "四", "五"):
        assert word in html
    assert "– 三" in html and "– 四" in html


def test_a_line_break_inside_a_chinese_sentence_adds_no_space(render):
    html = render("平均海拔两千八百米，\n冬天来得早。\n\nWeChat\nEditor\n")
    assert "两千八百米，冬天来得早" in html
    assert "WeChat\nEditor" in html  # between Latin words the break stays a space
    linked = render("见[官网](http://www.mva.gov.cn/)和\n[同一网站](http://www.mva.gov.cn/)。\n")
    assert "和同一网站<sup" in linked  # a link after the break changes nothing


def test_the_fixture_story_is_short_enough_for_wechat(render):
    assert len(render()) < 20_000
