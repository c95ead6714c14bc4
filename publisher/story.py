"""Stories as folders: `<content>/articles/<slug>/index.md` with YAML front matter.

Loading never raises on a bad story: every problem becomes a Fault naming the
file, the field and the reason, so `veteranbot content check` can list them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import yaml

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
LIMITS = {"title": 32, "author": 16, "digest": 128}
MODES = ("publish", "mass")
FIELDS = ("title", "author", "digest", "publish_at", "cover", "station", "tags", "wechat")
WECHAT_FIELDS = ("mode", "open_comment")
# A story is a few thousand characters; anything bigger is a mistake (or an attack),
# refused before it is read, let alone parsed.
MAX_INDEX_BYTES = 256 * 1024
# Front matter nests two levels (wechat: mode); deeper is a mistake, and
# PyYAML's composer is recursive, so a deep one would otherwise exhaust the stack.
MAX_NESTING = 16
# Faults name the field an editor must fix; the block between the --- lines has no key of its own.
FRONT_MATTER_FIELD = "文件头"
ANCHORS_REFUSED = "不支持 YAML 锚点和别名（& 和 *），请把每个值直接写出来"
TAGS_REFUSED = "不支持 YAML 标签（!!…），请直接写值"
TOO_DEEP = "嵌套层数过多"
# The closing --- may end the file; a UTF-8 BOM (Windows editors) is dropped on reading.
FRONT_MATTER = re.compile(r"---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)(.*)", re.S | re.M)


class Refused(yaml.YAMLError):
    """Front matter uses YAML that stories never need and that could harm the loader."""


class FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases, tags or deep nesting; odd values stay text.

    Aliases are how a "billion laughs" document grows to gigabytes, so they are
    refused as the parser meets them, before any node is built. An impossible
    date (2026-02-30) or YAML 1.1's base-60 numbers (25:00 read as 1500) stay the
    text the editor wrote, for the field's own check to name.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent, index):
        """Refuse an anchor, alias, explicit tag or deep nesting before composing the node."""
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise Refused(ANCHORS_REFUSED)
        if getattr(event, "tag", None) not in (None, "!"):
            raise Refused(TAGS_REFUSED)
        if self.depth >= MAX_NESTING:
            raise Refused(TOO_DEEP)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_timestamp_or_text(self, node):
        """A date or time as YAML reads it, or the text when there is no such moment."""
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)

    def construct_int_or_text(self, node):
        """An integer, except base-60 (25:00) and malformed ones, which stay text."""
        return self._number_or_text(node, self.construct_yaml_int)

    def construct_float_or_text(self, node):
        """A float, except base-60 (1:30.5) and malformed ones, which stay text."""
        return self._number_or_text(node, self.construct_yaml_float)

    def _number_or_text(self, node, construct):
        if ":" in node.value:
            return self.construct_scalar(node)
        try:
            return construct(node)
        except ValueError:
            return self.construct_scalar(node)


for _tag, _construct in (
    ("timestamp", FrontMatterLoader.construct_timestamp_or_text),
    ("int", FrontMatterLoader.construct_int_or_text),
    ("float", FrontMatterLoader.construct_float_or_text),
):
    FrontMatterLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct)


@dataclass(frozen=True)
class Fault:
    """One problem with a story: `path: field: reason`."""

    path: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class Story:
    """One showcase story, as its folder describes it."""

    slug: str
    folder: Path
    title: str
    author: str
    digest: str
    publish_at: datetime  # timezone-aware
    cover: Path
    body: str  # Markdown, without the front matter
    station: str | None = None
    tags: tuple[str, ...] = ()
    wechat_mode: str = "publish"
    open_comment: bool = False

    @property
    def source(self) -> Path:
        """The story's index.md."""
        return self.folder / "index.md"


@dataclass
class Loaded:
    """Every story that loaded, and every fault of those that did not."""

    stories: list[Story] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


def articles_dir(content_dir: str | Path) -> Path:
    """Where story folders live under CONTENT_DIR."""
    return Path(content_dir) / "articles"


def load_all(content_dir: str | Path) -> Loaded:
    """Load every story folder under content_dir/articles, oldest publish_at first."""
    loaded = Loaded()
    root = articles_dir(content_dir)
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        story, faults = load_story(folder)
        loaded.faults += faults
        if story is not None:
            loaded.stories.append(story)
    loaded.stories.sort(key=lambda s: (s.publish_at, s.slug))
    return loaded


def load_story(folder: Path) -> tuple[Story | None, list[Fault]]:
    """Parse one story folder; the story is None when a required field is unusable."""
    source = folder / "index.md"
    where = str(source)
    if not source.is_file():
        return None, [Fault(where, "index.md", "找不到这个文件")]
    try:
        with source.open("rb") as fh:
            data = fh.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:
        return None, [Fault(where, "index.md", f"无法读取（{exc.strerror or exc}）")]
    if len(data) > MAX_INDEX_BYTES:
        limit = f"{MAX_INDEX_BYTES // 1024} KiB"
        return None, [Fault(where, "index.md", f"文件超过 {limit}，正文太长或夹带了别的内容")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [Fault(where, "index.md", "不是 UTF-8 编码的文本，请另存为 UTF-8")]
    meta, body, faults = _split_front_matter(text, where)
    if meta is None:
        return None, faults
    # A misspelt optional field (publish-at, wechat_mode) would otherwise be silently ignored.
    for name in meta:
        if name not in FIELDS:
            faults.append(Fault(where, str(name), f"没有这个字段；可用的字段：{'、'.join(FIELDS)}"))
    for name, limit in LIMITS.items():
        value = meta.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            faults.append(Fault(where, name, "必填"))
        elif not isinstance(value, str):
            faults.append(Fault(where, name, "应为文字（请加引号）"))
        elif len(value.strip()) > limit:
            faults.append(Fault(where, name, f"{len(value.strip())} 个字，最多 {limit} 个"))
    publish_at = _publish_at(meta.get("publish_at"), where, faults)
    cover = meta.get("cover")
    if not isinstance(cover, str) or not cover:
        faults.append(Fault(where, "cover", "必填"))
    elif "\0" in cover:  # no file can have it, and pathlib raises rather than say so
        faults.append(Fault(where, "cover", f"{cover!r} 不是可用的文件名"))
    elif not (folder / cover).resolve().is_relative_to(folder.resolve()):
        faults.append(Fault(where, "cover", f"{cover} 在稿件目录之外"))
    elif not (folder / cover).is_file():
        faults.append(Fault(where, "cover", f"找不到 {cover}（应和 index.md 放在同一目录）"))
    wechat = meta.get("wechat") or {}
    if not isinstance(wechat, dict):
        faults.append(Fault(where, "wechat", "应分行写 mode 和 open_comment 两项"))
        wechat = {}
    for name in wechat:
        if name not in WECHAT_FIELDS:
            faults.append(
                Fault(where, f"wechat.{name}", "没有这个字段；可用的字段：mode、open_comment")
            )
    mode = wechat.get("mode", "publish")
    if mode not in MODES:
        faults.append(Fault(where, "wechat.mode", f"“{mode}”不是 publish 或 mass"))
    open_comment = wechat.get("open_comment", False)
    if not isinstance(open_comment, bool):
        faults.append(Fault(where, "wechat.open_comment", "应为 true 或 false"))
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        faults.append(Fault(where, "tags", "应为词语列表，如 [布拖县, 九都镇]"))
        tags = []
    # Whether the code names a real station is the directory's to say (check_story).
    station = meta.get("station")
    if station is not None and (
        isinstance(station, bool) or not isinstance(station, str | int) or not str(station).strip()
    ):
        faults.append(Fault(where, "station", '应为服务站编号，加引号，如 "513429-107"'))
    if faults:
        return None, faults
    story = Story(
        slug=folder.name,
        folder=folder,
        title=meta["title"].strip(),
        author=meta["author"].strip(),
        digest=meta["digest"].strip(),
        publish_at=publish_at,
        cover=folder / cover,
        body=body,
        station=str(station).strip() if station is not None else None,
        tags=tuple(tags),
        wechat_mode=mode,
        open_comment=open_comment,
    )
    return story, []


def _split_front_matter(text: str, where: str) -> tuple[dict | None, str, list[Fault]]:
    if not text.startswith("---"):
        return None, "", [Fault(where, FRONT_MATTER_FIELD, "第一行应为 ---")]
    match = FRONT_MATTER.match(text)
    if match is None:
        return None, "", [Fault(where, FRONT_MATTER_FIELD, "缺少结束的 --- 行")]
    head, body = match.groups()
    try:
        meta = yaml.load(head, Loader=FrontMatterLoader)
    except Refused as exc:
        return None, "", [Fault(where, FRONT_MATTER_FIELD, str(exc))]
    except yaml.YAMLError as exc:
        # The context mark is where an unclosed [ or " began: the line an editor must fix.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = getattr(mark, "line", None)
        at = f"（第 {line + 2} 行）" if line is not None else ""
        return None, "", [Fault(where, FRONT_MATTER_FIELD, f"不是有效的 YAML{at}")]
    if not isinstance(meta, dict):
        return None, "", [Fault(where, FRONT_MATTER_FIELD, "应为“字段: 值”的写法")]
    return meta, body, []


def _publish_at(value, where: str, faults: list[Fault]) -> datetime | None:
    # YAML turns unquoted timestamps into datetime/date already; strings are parsed here.
    if isinstance(value, str):
        text = value.strip()
        try:
            # A bare date means 08:00, the same whether or not the editor quoted it.
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            faults.append(Fault(where, "publish_at", _not_a_date(value)))
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(8, 0), SHANGHAI)
    if value is None:
        faults.append(Fault(where, "publish_at", "必填（如 2025-08-01 08:00）"))
    else:
        faults.append(Fault(where, "publish_at", _not_a_date(value)))
    return None


def _not_a_date(value) -> str:
    return f"“{value}”不是日期和时间（如 2025-08-01 08:00）"
