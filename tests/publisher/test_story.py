"""Loading story folders: what an editor writes is what the publisher gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from publisher.story import MAX_INDEX_BYTES, SHANGHAI, load_all, load_story


def test_a_story_loads_with_its_fields_and_body(make_story):
    folder = make_story(
        title="  九都镇服务站的一天 ", wechat={"mode": "mass", "open_comment": True}
    )
    story, faults = load_story(folder)
    assert faults == []
    assert story.slug == "jiudu" and story.title == "九都镇服务站的一天"
    assert story.publish_at == datetime(2025, 8, 1, 9, 0, tzinfo=SHANGHAI)
    assert story.cover == folder / "cover.jpg"
    assert story.station == "513429-107" and story.tags == ("布拖县", "九都镇")
    assert story.wechat_mode == "mass" and story.open_comment is True
    assert story.body.startswith("九都镇服务站每天早上开门。") and "---" not in story.body


def test_publish_at_is_beijing_time_unless_an_offset_or_only_a_date_is_given(make_story):
    cases = {
        "2025-08-01T09:00:00+00:00": datetime(2025, 8, 1, 9, tzinfo=UTC),
        "2025-08-08": datetime(2025, 8, 8, 8, tzinfo=SHANGHAI),
        "2025-08-15 20:30": datetime(2025, 8, 15, 20, 30, tzinfo=SHANGHAI),
    }
    for value, expected in cases.items():
        story, _ = load_story(make_story(publish_at=value))
        assert story.publish_at == expected
        assert story.publish_at.utcoffset() == expected.utcoffset()
    story, faults = load_story(make_story(publish_at=None))
    assert story is None and [f.field for f in faults] == ["publish_at"]


def test_unquoted_yaml_dates_and_station_numbers_are_understood(make_story):
    text = (
        "---\ntitle: 标题\nauthor: 作者\ndigest: 摘要\n"
        "publish_at: 2025-08-01 09:00:00\ncover: cover.jpg\nstation: 513429\n---\n正文\n"
    )
    story, faults = load_story(make_story(text=text))
    assert faults == []
    assert story.publish_at == datetime(2025, 8, 1, 9, tzinfo=SHANGHAI)
    assert story.station == "513429"
    assert story.wechat_mode == "publish" and story.open_comment is False


def test_windows_files_with_a_bom_and_crlf_line_ends_load(make_story):
    folder = make_story()
    text = (folder / "index.md").read_text(encoding="utf-8")
    (folder / "index.md").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    story, faults = load_story(folder)
    assert faults == [] and story.title == "九都镇服务站的一天"


def test_a_body_horizontal_rule_is_not_taken_for_the_end_of_front_matter(make_story):
    story, _ = load_story(make_story(body="第一段\n\n---\n\n第二段\n"))
    assert "第一段" in story.body and "第二段" in story.body


def test_load_all_gives_good_stories_oldest_first_and_the_faults_of_the_rest(
    make_story, content_dir
):
    make_story("late", publish_at="2025-08-15 09:00")
    make_story("early", publish_at="2025-08-01 09:00")
    make_story("broken", title=None)
    make_story("middle", publish_at="2025-08-08 09:00")
    loaded = load_all(content_dir)
    assert [s.slug for s in loaded.stories] == ["early", "middle", "late"]
    assert [str(f) for f in loaded.faults] == [
        f"{loaded.faults[0].path}: title: 必填"
    ] and loaded.faults[0].path.endswith("broken/index.md")


def test_an_empty_content_dir_has_no_stories(tmp_path):
    loaded = load_all(tmp_path / "nowhere")
    assert loaded.stories == [] and loaded.faults == []


def test_a_story_is_ordered_by_its_instant_not_its_wall_clock(make_story, content_dir):
    # 09:00 in London is later than 09:00 in Beijing, although both read 09:00.
    make_story("london", publish_at="2025-08-01T09:00:00+01:00")
    make_story("beijing", publish_at="2025-08-01 09:00")
    make_story("x", publish_at="2025-08-01 23:00")
    loaded = load_all(content_dir)
    assert [s.slug for s in loaded.stories] == ["beijing", "london", "x"]
    assert loaded.stories[1].publish_at - loaded.stories[0].publish_at == timedelta(hours=7)


def front(publish_at: str) -> str:
    """An index.md whose publish_at is written exactly as given, unquoted."""
    return (
        "---\ntitle: 标题\nauthor: 作者\ndigest: 摘要\n"
        f"publish_at: {publish_at}\ncover: cover.jpg\n---\n正文\n"
    )


IMPOSSIBLE = {
    "feb30": "2026-02-30",
    "month13": "2026-13-40",
    "hour25": "2026-02-01 25:00:00",
    "clock": "25:00",
}


def test_an_impossible_date_is_that_storys_fault_and_the_rest_still_load(make_story, content_dir):
    make_story("due", publish_at="2025-08-01 09:00")
    for slug, value in IMPOSSIBLE.items():
        make_story(slug, text=front(value))
    loaded = load_all(content_dir)
    assert [s.slug for s in loaded.stories] == ["due"]
    by_slug = {Path(f.path).parent.name: f for f in loaded.faults}
    assert sorted(by_slug) == sorted(IMPOSSIBLE) and len(loaded.faults) == len(IMPOSSIBLE)
    for slug, value in IMPOSSIBLE.items():
        fault = by_slug[slug]
        assert (fault.field, fault.reason) == (
            "publish_at",
            f"“{value}”不是日期和时间（如 2025-08-01 08:00）",
        )


def test_a_billion_laughs_is_refused_without_being_expanded(make_story, content_dir):
    levels = ['lol0: &lol0 "lol"'] + [
        f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 10)
    ]
    # station is turned into text: expanded, 9**9 strings would take gigabytes.
    text = "---\n" + "\n".join(levels) + "\nstation: *lol9\n---\n正文\n"
    make_story("bomb", text=text)
    make_story("good")
    loaded = load_all(content_dir)
    assert [s.slug for s in loaded.stories] == ["good"]
    [fault] = loaded.faults
    assert fault.path.endswith("bomb/index.md") and fault.field == "文件头"
    assert "锚点" in fault.reason


def test_an_index_md_over_the_size_limit_is_refused_unread(make_story, content_dir):
    folder = make_story("huge", body="九" * (MAX_INDEX_BYTES // 3))
    assert (folder / "index.md").stat().st_size > MAX_INDEX_BYTES
    make_story("good")
    loaded = load_all(content_dir)
    assert [s.slug for s in loaded.stories] == ["good"]
    assert [(f.field, f.reason) for f in loaded.faults] == [
        ("index.md", f"文件超过 {MAX_INDEX_BYTES // 1024} KiB，正文太长或夹带了别的内容")
    ]
