"""`content check`'s findings: every way a story fails, as the editor reads it."""

from __future__ import annotations

import io

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
    ("missing title", {"title": None}, None, "title", "required"),
    ("title too long", {"title": "九" * 33}, None, "title", "33 characters, at most 32"),
    ("author too long", {"author": "州" * 17}, None, "author", "17 characters, at most 16"),
    ("digest too long", {"digest": "摘" * 129}, None, "digest", "129 characters, at most 128"),
    ("missing digest", {"digest": ""}, None, "digest", "required"),
    ("title not text", {"title": 2025}, None, "title", "must be text"),
    ("bad date", {"publish_at": "2025-13-40 09:00"}, None, "publish_at", "'2025-13-40 09:00' is"),
    ("missing date", {"publish_at": None}, None, "publish_at", "required"),
    ("missing cover field", {"cover": None}, None, "cover", "required"),
    ("cover file missing", {"cover": "封面.jpg"}, None, "cover", "封面.jpg not found"),
    ("cover outside folder", {"cover": "../x.jpg"}, None, "cover", "../x.jpg is outside"),
    ("NUL in cover", {"cover": "a\x00.jpg"}, None, "cover", "'a\\x00.jpg' 不是可用的文件名"),
    ("unreadable cover", {}, ("cover.jpg", broken), "cover", "cover.jpg: not a readable image"),
    ("missing body image", {}, ("photo.png", "remove"), "body", "image photo.png not found"),
    ("unreadable body image", {}, ("photo.png", broken), "body", "image photo.png: not a readable"),
    ("external body image", {"body": "![](https://x.cn/a.png)\n"}, None, "body", "image https:"),
    ("image outside folder", {"body": "![](../../secret.png)\n"}, None, "body", "image ../../"),
    ("bad wechat.mode", {"wechat": {"mode": "broadcast"}}, None, "wechat.mode", "'broadcast'"),
    ("bad open_comment", {"wechat": {"open_comment": "yes"}}, None, "wechat.open_comment", "must"),
    ("unknown field", {"publish-at": "2025-08-01"}, None, "publish-at", "unknown field"),
    ("bad station", {"station": "九都镇"}, None, "station", "'九都镇' is not a code"),
    ("tags not a list", {"tags": "布拖县"}, None, "tags", "must be a list"),
    ("HTML too long", {"body": LONG_BODY}, None, "body", "WeChat HTML is "),
]


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


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: [unclosed\n---\n正文\n", "not valid YAML (line 2)"),
        ("---\n- a list\n---\n正文\n", "must be a YAML mapping"),
        ("title: 没有分隔线\n", "must start with a --- line"),
        ("---\ntitle: 没有结尾\n", "no closing --- line"),
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
    assert [str(f) for f in faults] == [f"{folder / 'index.md'}: front matter: {reason}"]


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
    with pytest.raises(ImageError, match=r"^cut\.jpg: not a readable image"):
        for_body(cut)
    with pytest.raises(ImageError, match=r"^gone\.png: cannot be read"):
        for_cover(tmp_path / "gone.png")


def test_check_story_measures_the_html_with_wechat_sized_image_urls(make_story):
    # 60 images: short local names, but each becomes a ~150-character mmbiz URL.
    folder = make_story(body="".join("![](photo.png)\n\n" for _ in range(60)) + "正" * 9_000)
    story, _ = load_story(folder)
    faults = check_story(story)
    assert [f.field for f in faults] == ["body"]
    assert "must stay under 20,000" in faults[0].reason
