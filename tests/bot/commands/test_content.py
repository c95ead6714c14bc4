"""`veteranbot content check` and `content preview`, as an editor runs them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.commands.content import content
from bot.records.imports.station_import import import_file
from tests.fixtures.stories import copy_shipped_content


@pytest.fixture
def cli(app):
    """Run `veteranbot content ...` inside the test's app."""
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(content, list(args))

    return run


def test_the_shipped_sample_stories_pass_the_check(make_app, tmp_path):
    samples = copy_shipped_content(tmp_path / "shipped")
    result = make_app(CONTENT_DIR=str(samples)).test_cli_runner().invoke(content, ["check"])
    assert result.exit_code == 0, result.output
    assert "检查通过：3 篇稿件" in result.output
    assert "jiudu-station  海拔两千八百米的“家门口”服务站" in result.output


def test_check_prints_one_line_per_fault_and_fails(cli, make_story):
    good = make_story("good")
    bad = make_story("bad", title="标" * 33, wechat={"mode": "all"})
    image = make_story("image", body="![](missing.png)\n")
    result = cli("check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        f"{bad / 'index.md'}: title: 33 个字，最多 32 个",
        f"{bad / 'index.md'}: wechat.mode: “all”不是 publish 或 mass",
        f"{image / 'index.md'}: 正文: 找不到图片 missing.png（应和 index.md 放在同一目录）",
    ]
    assert "3 处问题" in result.stderr
    assert str(good) not in result.output


def test_a_station_is_checked_against_the_imported_directory(cli, session, make_story, tmp_path):
    # Nothing imported yet: any code passes, with a warning that it was not checked.
    make_story("township", station="513429108")
    unchecked = cli("check")
    assert unchecked.exit_code == 0 and "检查通过：1 篇稿件" in unchecked.stdout
    assert "服务站目录是空的，稿件的 station 未核对" in unchecked.stderr
    # A 9-digit township code that `stations import` accepts is accepted in a story too.
    directory = tmp_path / "stations.csv"
    directory.write_text(
        "code,name,level,parent_code,head,phone,address,hours,lat,lon\n"
        "513429,布拖县退役军人服务中心,county,,,,,,,\n"
        "513429108,特木里镇退役军人服务站,township,513429,,,,,,\n",
        encoding="utf-8",
    )
    import_file(session, directory)
    session.commit()
    bad = make_story("unknown", station="513429-107")
    checked = cli("check")
    assert checked.exit_code == 1
    assert checked.stdout.splitlines() == [
        f"{bad / 'index.md'}: station: 服务站目录里没有编号 513429-107，请核对"
        "（目录由 veteranbot stations import 导入）"
    ]
    assert "未核对" not in checked.stderr


def test_check_of_an_empty_column_passes_with_nothing_to_publish(cli):
    result = cli("check")
    assert result.exit_code == 0 and "检查通过：0 篇稿件" in result.output


def test_preview_writes_both_versions_with_images_that_open(cli, app, make_story):
    make_story("jiudu")
    result = cli("preview", "jiudu")
    assert result.exit_code == 0, result.output
    out = Path(app.config["INSTANCE_DIR"]) / "preview" / "jiudu"
    assert f"微信版：{out / 'wechat.html'}" in result.output
    assert f"网站版：{out / 'site.html'}" in result.output
    wechat = (out / "wechat.html").read_text(encoding="utf-8")
    site = (out / "site.html").read_text(encoding="utf-8")
    assert "<h1>九都镇服务站的一天</h1>" in wechat and 'style="' in wechat
    assert "<h1" in site and "九都镇服务站的一天" in site
    for page, html in (("wechat", wechat), ("site", site)):
        for src in re.findall(r'<img[^>]* src="([^"]+)"', html):
            assert (out / unquote(src)).resolve().is_file(), (page, src)


def test_preview_of_a_broken_or_unknown_story_says_why(cli, make_story):
    make_story("bad", author=None)
    broken = cli("preview", "bad")
    assert broken.exit_code != 0 and ": author: 必填" in broken.output
    unknown = cli("preview", "nope")
    assert unknown.exit_code != 0 and "没有这篇稿件" in unknown.output
    climbing = cli("preview", "..")
    assert climbing.exit_code != 0


def test_check_names_a_story_with_an_impossible_date_without_a_traceback(cli, make_story):
    good = make_story("good")
    bad = make_story("bad")
    index = bad / "index.md"
    # Unquoted, as an editor types it: PyYAML itself fails to make a date of it.
    index.write_text(
        index.read_text(encoding="utf-8").replace("2025-08-01 09:00", "2026-02-30"),
        encoding="utf-8",
    )
    result = cli("check")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # not a ValueError out of PyYAML
    assert result.stdout.splitlines() == [
        f"{bad / 'index.md'}: publish_at: “2026-02-30”不是日期和时间（如 2025-08-01 08:00）"
    ]
    assert "Traceback" not in result.output and str(good) not in result.output
