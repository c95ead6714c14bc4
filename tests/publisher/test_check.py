"""`content check`'s findings: every way a story fails, as the editor reads it."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from publisher.check import check_all, check_story
from publisher.images import BODY_LIMIT, ImageError, for_body, for_cover
from publisher.story import load_story
from tests.fixtures.stories import write_image

ANCHORS = "不支持 YAML 锚点和别名（& 和 *），请把每个值直接写出来"
LONG_BODY = "".join(f"第{i}段：九都镇服务站的工作人员走村入户。\n\n" for i in range(900))


def broken(path):
    path.write_bytes(b"GIF89a but not really a picture")


# (case, story changes, files to break or remove afterwards, field, start of the reason)
FAILURES = [
    ("missing title", {"title": None}, None, "title", "必填"),
    ("title too long", {"title": "九" * 33}, None, "title", "33 个字，最多 32 个"),
    ("author too long", {"author": "州" * 17}, None, "author", "17 个字，最多 16 个"),
    ("digest too long", {"digest": "摘" * 129}, None, "digest", "129 个字，最多 128 个"),
    ("missing digest", {"digest": ""}, None, "digest", "必填"),
    ("title not text", {"title": 2025}, None, "title", "应为文字"),
    ("bad date", {"publish_at": "2025-13-40 09:00"}, None, "publish_at", "“2025-13-40 09:00”不是"),
    ("missing date", {"publish_at": None}, None, "publish_at", "必填"),
    ("missing cover field", {"cover": None}, None, "cover", "必填"),
    ("cover file missing", {"cover": "封面.jpg"}, None, "cover", "找不到 封面.jpg"),
    ("cover outside folder", {"cover": "../x.jpg"}, None, "cover", "../x.jpg 在稿件目录之外"),
    ("NUL in cover", {"cover": "a\x00.jpg"}, None, "cover", "'a\\x00.jpg' 不是可用的文件名"),
    ("unreadable cover", {}, ("cover.jpg", broken), "cover", "cover.jpg：不是可读的图片"),
    ("missing body image", {}, ("photo.png", "remove"), "正文", "找不到图片 photo.png"),
    ("unreadable body image", {}, ("photo.png", broken), "正文", "图片 photo.png：不是可读的"),
    ("external body image", {"body": "![](https://x.cn/a.png)\n"}, None, "正文", "图片 https:"),
    ("image outside folder", {"body": "![](../../secret.png)\n"}, None, "正文", "图片 ../../"),
    ("bad wechat.mode", {"wechat": {"mode": "broadcast"}}, None, "wechat.mode", "“broadcast”"),
    ("bad open_comment", {"wechat": {"open_comment": "yes"}}, None, "wechat.open_comment", "应为"),
    ("unknown field", {"publish-at": "2025-08-01"}, None, "publish-at", "没有这个字段"),
    ("station not text", {"station": ["九都镇"]}, None, "station", "应为服务站编号"),
    ("tags not a list", {"tags": "布拖县"}, None, "tags", "应为词语列表"),
    ("HTML too long", {"body": LONG_BODY}, None, "正文", "微信正文 HTML 有 "),
]
# Words a Chinese fault may hold: the story's own field names and values, formats, file names.
IDENTIFIERS = re.compile(
    r"index\.md|[\w./-]*\.(jpg|png)|https?:[^\s）]*|publish_at|open_comment|wechat\.mode|"
    r"publish-at|publish|mass|mode|title|author|digest|cover|station|tags|wechat|true|false|broadcast|"
    r"yes|YAML|HTML|UTF-8|JPG|PNG|MB|KiB|veteranbot stations import"
)


@pytest.mark.parametrize(
    ("changes", "damage", "field", "reason"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
def test_each_fault_is_reported_as_path_field_reason(
    make_story, content_dir, changes, damage, field, reason
):
    folder = make_story(**changes)
    if damage:
        name, action = damage
        (folder / name).unlink() if action == "remove" else action(folder / name)
    stories, faults = check_all(content_dir)
    assert stories == []
    lines = [str(f) for f in faults]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{folder / 'index.md'}: {field}: {reason}")
    # Editors read Chinese: no English left in the reason once its identifiers are taken out.
    left = IDENTIFIERS.sub("", str(faults[0].reason))
    assert not re.search(r"[A-Za-z]{2,}", left), faults[0].reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\n正文\n", "不是有效的 YAML（第 2 行）"),
        ("---\n- a list\n---\n正文\n", "应为“字段: 值”的写法"),
        ("title: 没有分隔线\n", "第一行应为 ---"),
        ("---\ntitle: 没有结尾\n", "缺少结束的 --- 行"),
        ("---\ntitle: &t 标题\nauthor: *t\n---\n正文\n", ANCHORS),
        ("---\npublish_at: !!timestamp soon\n---\n正文\n", "不支持 YAML 标签（!!…），请直接写值"),
        ("---\ntitle: !!int 标题\n---\n正文\n", "不支持 YAML 标签（!!…），请直接写值"),
        ("---\ntags: " + "[" * 5000 + "]" * 5000 + "\n---\n正文\n", "嵌套层数过多"),
    ],
    ids=[
        "bad yaml",
        "not a mapping",
        "no opening line",
        "no closing line",
        "anchor",
        "tag",
        "tag on text",
        "deep",
    ],
)
def test_broken_front_matter_is_one_fault_naming_the_file(make_story, content_dir, text, reason):
    folder = make_story(text=text)
    _, faults = check_all(content_dir)
    assert [str(f) for f in faults] == [f"{folder / 'index.md'}: 文件头: {reason}"]


def test_a_folder_without_index_md_is_reported(content_dir):
    (content_dir / "articles" / "empty").mkdir(parents=True)
    _, faults = check_all(content_dir)
    assert [f.field for f in faults] == ["index.md"]


def test_a_good_story_passes_and_faults_of_others_do_not_hold_it_back(make_story, content_dir):
    make_story("good")
    make_story("bad", title=None)
    stories, faults = check_all(content_dir)
    assert [s.slug for s in stories] == ["good"]
    assert [f.field for f in faults] == ["title"]


def test_every_fault_of_a_story_is_listed_at_once(make_story, content_dir):
    make_story(title="九" * 40, author="", publish_at="soon")
    _, faults = check_all(content_dir)
    assert [f.field for f in faults] == ["title", "author", "publish_at"]


def test_an_oversize_body_image_is_compressed_rather_than_refused(make_story, content_dir):
    folder = make_story()
    write_image(folder / "photo.png", (700, 700), noise=True)
    assert (folder / "photo.png").stat().st_size > BODY_LIMIT
    stories, faults = check_all(content_dir)
    assert faults == [] and len(stories) == 1
    data, name = for_body(folder / "photo.png")
    assert len(data) < BODY_LIMIT and name == "photo.jpg"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size[0] >= 500


def test_a_small_jpg_or_png_is_sent_byte_for_byte(make_story):
    folder = make_story()
    assert for_body(folder / "photo.png") == ((folder / "photo.png").read_bytes(), "photo.png")
    assert for_cover(folder / "cover.jpg") == ((folder / "cover.jpg").read_bytes(), "cover.jpg")


def test_a_wide_cover_is_narrowed_to_1080_pixels_and_other_formats_converted(tmp_path):
    wide = write_image(tmp_path / "wide.png", (2400, 1000))
    data, name = for_cover(wide)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1080, 450) and name == "wide.jpg"
    webp = write_image(tmp_path / "cover.webp", (300, 200), "WEBP")
    data, name = for_cover(webp)
    assert name == "cover.jpg" and Image.open(io.BytesIO(data)).format == "JPEG"


def test_a_transparent_png_stays_png_when_it_must_be_re_encoded(tmp_path):
    path = tmp_path / "logo.gif"
    Image.new("RGBA", (200, 100), (0, 0, 0, 0)).save(path, "GIF", transparency=0)
    data, name = for_body(path)
    assert name == "logo.png" and Image.open(io.BytesIO(data)).format == "PNG"


def test_an_unreadable_or_truncated_image_raises_a_reason_for_the_editor(tmp_path):
    good = write_image(tmp_path / "photo.jpg", (400, 300), noise=True)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ImageError, match=r"^cut\.jpg：不是可读的图片"):
        for_body(cut)
    with pytest.raises(ImageError, match=r"^gone\.png：无法读取"):
        for_cover(tmp_path / "gone.png")


def test_check_story_measures_the_html_with_wechat_sized_image_urls(make_story):
    # 60 images: short local names, but each becomes a ~150-character mmbiz URL.
    folder = make_story(body="".join("![](photo.png)\n\n" for _ in range(60)) + "正" * 9_000)
    story, _ = load_story(folder)
    faults = check_story(story)
    assert [f.field for f in faults] == ["正文"]
    assert "须少于 20,000" in faults[0].reason


def test_a_station_is_checked_against_the_directory_not_a_pattern(make_story):
    # A 9-digit township code, as `stations import` accepts it.
    story, faults = load_story(make_story(station="513429107"))
    assert faults == []
    assert check_story(story, {"513429107", "513429-105"}) == []
    unknown, _ = load_story(make_story("other", station="513429-999"))
    found = check_story(unknown, {"513429107", "513429-105"})
    assert [(f.field, f.reason.split("，")[0]) for f in found] == [
        ("station", "服务站目录里没有编号 513429-999")
    ]
    # No directory yet: any code passes here; `content check` warns instead.
    assert check_story(unknown, set()) == [] and check_story(unknown) == []
