"""Import of the station directory from a CSV (or XLSX) file: all rows or none.

Columns: code,name,level,parent_code,head,phone,address,hours,lat,lon. Stations
are upserted by code, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Station
from bot.models.stations import LEVELS, PARENT_LEVEL
from bot.records.identity import InvalidInput, normalize_mobile
from bot.records.imports.table_files import NO_LIMITS, Limits, Problems, Row, read_rows

COLUMNS = (
    "code",
    "name",
    "level",
    "parent_code",
    "head",
    "phone",
    "address",
    "hours",
    "lat",
    "lon",
)
LEVEL_NAMES = {"county": "县（市）中心", "township": "乡镇（街道）站", "village": "村（社区）站"}
# An area code (3-4 digits with the leading 0), then a 7-8 digit number, maybe an extension.
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
# China's rough extent; a swapped lat/lon or a missing minus sign lands outside it.
LAT_RANGE = (3.5, 53.6)
LON_RANGE = (73.4, 135.1)
# The column widths in the schema; PostgreSQL would refuse longer values at commit.
MAX_LENGTH = {"code": 32, "name": 64, "head": 32, "phone": 32, "address": 128, "hours": 64}
CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]*$")


@dataclass
class StationRow:
    """One validated line of the file."""

    line: int
    code: str
    name: str
    level: str
    parent_code: str
    head: str
    phone: str
    address: str
    hours: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class StationCounts:
    """What an import did."""

    added: int
    updated: int
    unchanged: int


def load_csv(session: Session, path: str | Path) -> int:
    """Import a station file; return how many stations it holds (the caller commits)."""
    counts = import_file(session, path)
    return counts.added + counts.updated + counts.unchanged


def import_file(session: Session, path: str | Path, limits: Limits = NO_LIMITS) -> StationCounts:
    """Validate every row, then upsert all of them by code; raise ImportFailed on any bad row.

    The caller commits; on ImportFailed nothing has been added to the session.
    """
    problems = Problems(Path(path).name, limits.max_faults)
    declared, parsed = {}, []
    for row in read_rows(path, COLUMNS, problems, max_bytes=limits.max_bytes):
        # A parent whose own line is bad still counts as declared, so its children
        # are not reported too: one mistake, one message.
        if row.cells["code"]:
            declared[row.cells["code"]] = row.cells["level"]
        station, reasons = parse_row(row)
        for reason in reasons:
            problems.add(row.line, reason)
        if station:
            parsed.append(station)
    existing = {s.code: s for s in session.scalars(select(Station))}
    levels = {s.code: s.level for s in existing.values()} | declared
    for line, reason in _cross_check(parsed, existing, levels):
        problems.add(line, reason)
    problems.raise_if_any()
    return _upsert(session, parsed, existing)


def parse_row(row: Row) -> tuple[StationRow | None, list[str]]:
    """A line's station, or None with every reason it is unacceptable."""
    c, reasons = row.cells, []
    for column in ("code", "name", "level"):
        if not c[column]:
            reasons.append(f"{column} 不能为空")
    reasons += [
        f"{column} 超过 {limit} 个字符"
        for column, limit in MAX_LENGTH.items()
        if len(c[column]) > limit
    ]
    if c["code"] and not CODE_PATTERN.match(c["code"]):
        reasons.append("code 只能含字母、数字、- 和 _")
    if c["level"] and c["level"] not in LEVELS:
        reasons.append(f"level 应为 {'/'.join(LEVELS)} 之一，而不是“{c['level']}”")
    try:
        phone = station_phone(c["phone"])
    except InvalidInput as exc:
        phone = ""
        reasons.append(f"phone：{exc}")
    lat, lon, reason = _coordinates(c["lat"], c["lon"])
    if reason:
        reasons.append(reason)
    if reasons:
        return None, reasons
    fields = {k: c[k] for k in ("code", "name", "level", "parent_code", "head", "address", "hours")}
    return StationRow(line=row.line, phone=phone, lat=lat, lon=lon, **fields), []


def station_phone(raw: str) -> str:
    """A station's phone: empty, a landline with area code, or a mobile (normalised)."""
    value = re.sub(r"\s", "", raw)
    if not value or LANDLINE.match(value):
        return value
    try:
        return normalize_mobile(value)
    except InvalidInput:
        raise InvalidInput("电话应为手机号，或带区号的座机号（如 0834-1234567）") from None


def _coordinates(lat_text: str, lon_text: str) -> tuple[float | None, float | None, str]:
    if not lat_text and not lon_text:
        return None, None, ""
    if not lat_text or not lon_text:
        return None, None, "lat 和 lon 要么都填，要么都空"
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None, None, "lat/lon 应为数字（十进制度数）"
    # NaN fails every comparison, so it is caught here too.
    if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
        return None, None, "坐标不在中国境内（纬度 3.5–53.6，经度 73.4–135.1；是否填反了？）"
    return lat, lon, ""


def _cross_check(
    rows: list[StationRow], existing: dict[str, Station], levels: dict[str, str]
) -> list[tuple[int, str]]:
    """Duplicate codes, level changes, and parents missing or of the wrong level."""
    problems, first_line = [], {}
    for r in rows:
        if r.code in first_line:
            problems.append((r.line, f"code {r.code} 与第 {first_line[r.code]} 行重复"))
        first_line.setdefault(r.code, r.line)
    for r in rows:
        old = existing.get(r.code)
        if old is not None and old.level != r.level:
            was, now = LEVEL_NAMES[old.level], LEVEL_NAMES[r.level]
            problems.append((r.line, f"站点 {r.code} 已是{was}，不能改为{now}"))
        if reason := _parent_problem(r, levels):
            problems.append((r.line, reason))
    return problems


def _parent_problem(r: StationRow, levels: dict[str, str]) -> str:
    wanted = PARENT_LEVEL[r.level]
    if wanted is None:
        return "县（市）中心不填 parent_code" if r.parent_code else ""
    rule = f"{LEVEL_NAMES[r.level]}的上级应为{LEVEL_NAMES[wanted]}"
    if not r.parent_code:
        return f"缺少 parent_code（{rule}）"
    if r.parent_code not in levels:
        return f"上级 {r.parent_code} 不存在（文件里和已有站点里都没有）"
    if levels[r.parent_code] not in LEVELS:
        return ""  # the parent's own line is reported for its level
    if levels[r.parent_code] != wanted:
        return f"上级 {r.parent_code} 是{LEVEL_NAMES[levels[r.parent_code]]}，{rule}"
    return ""


def _upsert(
    session: Session, rows: list[StationRow], existing: dict[str, Station]
) -> StationCounts:
    by_code, added, updated = dict(existing), 0, 0
    # Counties first, then townships, then villages, so every parent exists by then.
    for r in sorted(rows, key=lambda r: LEVELS.index(r.level)):
        station = by_code.get(r.code)
        if station is None:
            station = Station(code=r.code)
            session.add(station)
            by_code[r.code] = station
            added += 1
        before = _snapshot(station)
        station.name, station.level, station.head = r.name, r.level, r.head
        station.phone, station.address, station.hours = r.phone, r.address, r.hours
        station.lat, station.lon = r.lat, r.lon
        station.parent = by_code[r.parent_code] if r.parent_code else None
        if station.id is not None and _snapshot(station) != before:
            updated += 1
    session.flush()
    return StationCounts(added, updated, len(rows) - added - updated)


def _snapshot(s: Station) -> tuple:
    parent = s.parent.code if s.parent is not None else None
    return (s.name, s.level, s.head, s.phone, s.address, s.hours, s.lat, s.lon, parent)
