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
# County 513429, township 513429-107, village 513429-107-01 (content/stations/*.csv).
STATION_CODE = re.compile(r"\d{6}(-\d{3}(-\d{2})?)?")
# The closing --- may end the file; a UTF-8 BOM (Windows editors) is dropped on reading.
FRONT_MATTER = re.compile(r"---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)(.*)", re.S | re.M)


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
        return None, [Fault(where, "index.md", "missing")]
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None, [Fault(where, "index.md", "not UTF-8 text; save it as UTF-8")]
    meta, body, faults = _split_front_matter(text, where)
    if meta is None:
        return None, faults
    # A misspelt optional field (publish-at, wechat_mode) would otherwise be silently ignored.
    for name in meta:
        if name not in FIELDS:
            faults.append(Fault(where, str(name), f"unknown field; expected {', '.join(FIELDS)}"))
    for name, limit in LIMITS.items():
        value = meta.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            faults.append(Fault(where, name, "required"))
        elif not isinstance(value, str):
            faults.append(Fault(where, name, "must be text (quote it)"))
        elif len(value.strip()) > limit:
            faults.append(Fault(where, name, f"{len(value.strip())} characters, at most {limit}"))
    publish_at = _publish_at(meta.get("publish_at"), where, faults)
    cover = meta.get("cover")
    if not isinstance(cover, str) or not cover:
        faults.append(Fault(where, "cover", "required"))
    elif not (folder / cover).resolve().is_relative_to(folder.resolve()):
        faults.append(Fault(where, "cover", f"{cover} is outside the story folder"))
    elif not (folder / cover).is_file():
        faults.append(Fault(where, "cover", f"{cover} not found beside index.md"))
    wechat = meta.get("wechat") or {}
    if not isinstance(wechat, dict):
        faults.append(Fault(where, "wechat", "must be a mapping (mode, open_comment)"))
        wechat = {}
    for name in wechat:
        if name not in WECHAT_FIELDS:
            faults.append(
                Fault(where, f"wechat.{name}", "unknown field; expected mode, open_comment")
            )
    mode = wechat.get("mode", "publish")
    if mode not in MODES:
        faults.append(Fault(where, "wechat.mode", f"{mode!r} is not publish or mass"))
    open_comment = wechat.get("open_comment", False)
    if not isinstance(open_comment, bool):
        faults.append(Fault(where, "wechat.open_comment", "must be true or false"))
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        faults.append(Fault(where, "tags", "must be a list of words"))
        tags = []
    station = meta.get("station")
    if station is not None and not STATION_CODE.fullmatch(str(station)):
        faults.append(Fault(where, "station", f"{station!r} is not a code like 513429-107"))
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
        station=str(station) if station is not None else None,
        tags=tuple(tags),
        wechat_mode=mode,
        open_comment=open_comment,
    )
    return story, []


def _split_front_matter(text: str, where: str) -> tuple[dict | None, str, list[Fault]]:
    if not text.startswith("---"):
        return None, "", [Fault(where, "front matter", "must start with a --- line")]
    match = FRONT_MATTER.match(text)
    if match is None:
        return None, "", [Fault(where, "front matter", "no closing --- line")]
    head, body = match.groups()
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        # The context mark is where an unclosed [ or " began: the line an editor must fix.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = getattr(mark, "line", None)
        at = f" (line {line + 2})" if line is not None else ""
        return None, "", [Fault(where, "front matter", f"not valid YAML{at}")]
    if not isinstance(meta, dict):
        return None, "", [Fault(where, "front matter", "must be a YAML mapping")]
    return meta, body, []


def _publish_at(value, where: str, faults: list[Fault]) -> datetime | None:
    # YAML turns unquoted timestamps into datetime/date already; strings are parsed here.
    if isinstance(value, str):
        text = value.strip()
        try:
            # A bare date means 08:00, the same whether or not the editor quoted it.
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            faults.append(Fault(where, "publish_at", f"{value!r} is not a date and time"))
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(8, 0), SHANGHAI)
    faults.append(Fault(where, "publish_at", "required (e.g. 2025-08-01 08:00)"))
    return None
