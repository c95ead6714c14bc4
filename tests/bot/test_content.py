"""`veteranbot content check` and `content preview`, as an editor runs them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image

from bot.commands.content import content

SAMPLES = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture
def cli(app):
    """Run `veteranbot content ...` inside the test's app."""
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(content, list(args))

    return run


def write_story(content_dir: Path, slug: str, front: str, body: str = "正文。\n") -> Path:
    folder = content_dir / "articles" / slug
    folder.mkdir(parents=True)
    Image.new("RGB", (90, 40), "red").save(folder / "cover.jpg")
    (folder / "index.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return folder


GOOD = "title: 标题\nauthor: 作者\ndigest: 摘要\npublish_at: 2025-08-01 09:00\ncover: cover.jpg\n"


def test_the_shipped_sample_stories_pass_the_check(app, make_app):
    result = make_app(CONTENT_DIR=str(SAMPLES)).test_cli_runner().invoke(content, ["check"])
    assert result.exit_code == 0, result.output
    assert "检查通过：3 篇稿件" in result.output
    assert "jiudu-station  海拔两千八百米的“家门口”服务站" in result.output


def test_check_prints_one_line_per_fault_and_fails(cli, app):
    root = Path(app.config["CONTENT_DIR"])
    good = write_story(root, "good", GOOD)
    bad = write_story(root, "bad", GOOD.replace("标题", "标" * 33) + "wechat:\n  mode: all\n")
    write_story(root, "image", GOOD, "![](missing.png)\n")
    result = cli("check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"{bad / 'index.md'}: title: 33 characters, at most 32",
        f"{bad / 'index.md'}: wechat.mode: 'all' is not publish or mass",
        f"{root / 'articles/image/index.md'}: body: image missing.png not found beside index.md",
    ]
    assert "3 处问题" in result.stderr
    assert str(good) not in result.output


def test_check_of_an_empty_column_passes_with_nothing_to_publish(cli):
    result = cli("check")
    assert result.exit_code == 0 and "检查通过：0 篇稿件" in result.output


def test_preview_writes_both_versions_with_images_that_open(cli, app):
    folder = write_story(Path(app.config["CONTENT_DIR"]), "jiudu", GOOD, "![站](photo.png)\n")
    Image.new("RGB", (60, 40), "blue").save(folder / "photo.png")
    result = cli("preview", "jiudu")
    assert result.exit_code == 0, result.output
    out = Path(app.config["INSTANCE_DIR"]) / "preview" / "jiudu"
    assert f"微信版：{out / 'wechat.html'}" in result.output
    assert f"网站版：{out / 'site.html'}" in result.output
    wechat = (out / "wechat.html").read_text(encoding="utf-8")
    site = (out / "site.html").read_text(encoding="utf-8")
    assert "<h1>标题</h1>" in wechat and 'style="' in wechat
    assert "<h1" in site and "标题" in site
    for page, html in (("wechat", wechat), ("site", site)):
        for src in re.findall(r'<img[^>]* src="([^"]+)"', html):
            assert (out / unquote(src)).resolve().is_file(), (page, src)


def test_preview_of_a_broken_or_unknown_story_says_why(cli, app):
    write_story(Path(app.config["CONTENT_DIR"]), "bad", GOOD.replace("author: 作者\n", ""))
    broken = cli("preview", "bad")
    assert broken.exit_code != 0 and ": author: required" in broken.output
    unknown = cli("preview", "nope")
    assert unknown.exit_code != 0 and "没有这篇稿件" in unknown.output
    climbing = cli("preview", "..")
    assert climbing.exit_code != 0


def test_check_names_a_story_with_an_impossible_date_without_a_traceback(cli, app):
    root = Path(app.config["CONTENT_DIR"])
    good = write_story(root, "good", GOOD)
    bad = write_story(root, "bad", GOOD.replace("2025-08-01 09:00", "2026-02-30"))
    result = cli("check")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # not a ValueError out of PyYAML
    assert result.stdout.splitlines() == [
        f"{bad / 'index.md'}: publish_at: '2026-02-30' is not a date and time"
    ]
    assert "Traceback" not in result.output and str(good) not in result.output
