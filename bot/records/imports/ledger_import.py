"""Import of paper ledgers (CSV or XLSX, the ledger export's columns with full ID numbers).

Every row is checked before anything is written; one bad row refuses the file.
Files go through bot.records.files.save(source="ledger"), so a veteran who later
registers over WeChat with the same ID number claims the imported file.
Problems name the line and the field, never an ID or phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.crypto import FieldCipher
from bot.models import Station, Veteran
from bot.records import files
from bot.records.exports import LEDGER_COLUMNS
from bot.records.identity import YOUNGEST_ENLISTMENT_AGE, InvalidInput, parse_id_number
from bot.records.identity import normalize_mobile as parse_mobile
from bot.records.imports.table_files import NO_LIMITS, Limits, Problems, Row, read_rows

CATEGORIES = (
    "退役士兵",
    "军转干部",
    "复员军人",
    "军队离退休干部",
    "伤残军人",
    "烈属",
    "现役军人家属",
)
# Optional ledger columns: care flags that decide who is visited first (是/否).
FLAG_COLUMNS = {"困难": "hardship", "伤残": "disability"}
YES, NO = {"是", "有", "1", "y", "yes", "true", "√"}, {"否", "无", "0", "n", "no", "false", ""}
EARLIEST_YEAR = 1930
STATION_SUFFIX = "退役军人服务站"
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y/%m/%d")


@dataclass
class LedgerRow:
    """One validated line: the file's fields, plus the number and date the ledger gave it."""

    line: int
    fields: files.FileFields
    file_no: str = ""
    seq: int | None = None
    opened_at: datetime | None = None
    # hardship / disability as the ledger states them; absent columns leave the file as is.
    flags: dict[str, bool] = field(default_factory=dict)


@dataclass
class LedgerCounts:
    """What an import did; `renumbered` lists lines whose given number was taken."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0  # files the ledger already matched, field for field
    renumbered: list[int] = field(default_factory=list)


def import_file(
    session: Session, cipher: FieldCipher, path: str | Path, limits: Limits = NO_LIMITS
) -> LedgerCounts:
    """Validate every row, then save each file; raise ImportFailed on any bad row (no commit)."""
    problems = Problems(Path(path).name, limits.max_faults)
    stations = StationNames(session)
    rows = []
    lines = read_rows(
        path, LEDGER_COLUMNS, problems, optional=tuple(FLAG_COLUMNS), max_bytes=limits.max_bytes
    )
    for row in lines:
        parsed, reasons = parse_row(row, stations)
        for reason in reasons:
            problems.add(row.line, reason)
        if parsed:
            rows.append(parsed)
    for line, reason in _duplicates(rows, cipher):
        problems.add(line, reason)
    problems.raise_if_any()
    return _save_all(session, cipher, rows)


class StationNames:
    """Finds a village station by code, full name, or place name (好谷村)."""

    def __init__(self, session: Session):
        self.by_code: dict[str, Station] = {}
        self.by_name: dict[str, list[Station]] = {}
        for s in session.scalars(select(Station)):
            self.by_code[s.code] = s
            for key in {s.name, s.name.removesuffix(STATION_SUFFIX)}:
                self.by_name.setdefault(key, []).append(s)

    def village(self, text: str) -> Station:
        """The village station text names, or InvalidInput saying why not."""
        found = [self.by_code[text]] if text in self.by_code else self.by_name.get(text, [])
        if not found:
            raise InvalidInput(f"服务站“{text}”不存在（填村站的编号或名称）")
        if len(found) > 1:
            raise InvalidInput(f"服务站“{text}”有同名的多个站点，请填编号")
        if found[0].level != "village":
            raise InvalidInput(f"服务站“{text}”不是村（社区）站，档案要建在村站")
        return found[0]


def parse_row(row: Row, stations: StationNames) -> tuple[LedgerRow | None, list[str]]:
    """A line's file fields, or None with every reason (naming fields, never values)."""
    c, reasons = row.cells, []
    id_number = station = None
    phone, opened_at = "", None
    if not c["姓名"] or len(c["姓名"]) > 32:
        reasons.append("姓名：不能为空，最多 32 个字")
    try:
        id_number = parse_id_number(c["身份证号"])
    except InvalidInput as exc:
        reasons.append(f"身份证号：{exc}")
    if id_number and c["性别"] and c["性别"] != id_number.gender:
        reasons.append("性别：与身份证号不符")
    if len(c["民族"]) > 16:
        reasons.append("民族：最多 16 个字")
    try:
        phone = parse_mobile(c["手机号"]) if c["手机号"] else ""
    except InvalidInput as exc:
        reasons.append(f"手机号：{exc}")
    try:
        station = stations.village(c["服务站"]) if c["服务站"] else None
    except InvalidInput as exc:
        reasons.append(f"服务站：{exc}")
    if not c["服务站"]:
        reasons.append("服务站：不能为空")
    category = c["类别"] or "退役士兵"
    if category not in CATEGORIES:
        reasons.append(f"类别：应为 {'、'.join(CATEGORIES)} 之一")
    years = {}
    for column in ("入伍年份", "退役年份"):
        try:
            years[column] = _year(c[column], column)
        except InvalidInput as exc:
            reasons.append(str(exc))
    enlist, discharge = years.get("入伍年份"), years.get("退役年份")
    try:
        _check_service(enlist, discharge, id_number.birth_date if id_number else None)
        opened_at = _opened_at(c["登记时间"])
    except InvalidInput as exc:
        reasons.append(str(exc))
    seq, reason = _given_seq(c["统一编号"], station)
    if reason:
        reasons.append(reason)
    flags = {}
    for column, attr in FLAG_COLUMNS.items():
        if c.get(column) is None:
            continue  # the ledger has no such column: keep what the file says
        value = c[column].strip().lower()
        if value in YES or value in NO:
            flags[attr] = value in YES
        else:
            reasons.append(f"{column}：应填 是 或 否")
    if category == "伤残军人":
        flags["disability"] = True
    if reasons:
        return None, reasons
    fields = files.FileFields(
        name=c["姓名"],
        id_number=id_number,
        station=station,
        phone=phone,
        ethnicity=c["民族"],
        enlist_year=enlist,
        discharge_year=discharge,
        category=category,
    )
    return LedgerRow(row.line, fields, c["统一编号"], seq, opened_at, flags), []


def _year(text: str, column: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise InvalidInput(f"{column}：应为四位年份，如 2012")
    year = int(text)
    if not EARLIEST_YEAR <= year <= clock.today().year:
        raise InvalidInput(f"{column}：应在 {EARLIEST_YEAR} 到今年之间")
    return year


def _check_service(enlist: int | None, discharge: int | None, born: date | None) -> None:
    if enlist and discharge and discharge < enlist:
        raise InvalidInput("退役年份：早于入伍年份")
    if enlist and born and enlist < born.year + YOUNGEST_ENLISTMENT_AGE:
        raise InvalidInput(f"入伍年份：入伍时不满 {YOUNGEST_ENLISTMENT_AGE} 岁（按身份证出生日期）")


def _opened_at(text: str) -> datetime | None:
    """The ledger's registration time (Beijing time) as stored naive UTC."""
    if not text:
        return None
    for fmt in TIME_FORMATS:
        try:
            local = datetime.strptime(text, fmt).replace(tzinfo=clock.SHANGHAI)
        except ValueError:
            continue
        if local > datetime.now(clock.SHANGHAI):
            raise InvalidInput("登记时间：不能晚于现在")
        return local.astimezone(UTC).replace(tzinfo=None)
    raise InvalidInput("登记时间：应为日期，如 2021-06-30 或 2021-06-30 09:00")


def _given_seq(file_no: str, station: Station | None) -> tuple[int | None, str]:
    """The sequence number a given 统一编号 carries; it must be <village code>-NNNN."""
    if not file_no or station is None:
        return None, ""
    match = re.fullmatch(re.escape(station.code) + r"-(\d{4})", file_no)
    if not match or int(match[1]) == 0:
        # Any other shape could collide with numbers the bot generates later.
        return (
            None,
            f"统一编号：应为“服务站编号-四位序号”，如 {files.format_file_no(station.code, 1)}",
        )
    return int(match[1]), ""


def _duplicates(rows: list[LedgerRow], cipher: FieldCipher) -> list[tuple[int, str]]:
    """The same person or the same number on two lines of one file."""
    problems, ids, numbers = [], {}, {}
    for r in rows:
        key = cipher.lookup_hash(r.fields.id_number.value)
        if key in ids:
            problems.append((r.line, f"身份证号：与第 {ids[key]} 行重复"))
        ids.setdefault(key, r.line)
        if r.file_no and r.file_no in numbers:
            problems.append((r.line, f"统一编号：与第 {numbers[r.file_no]} 行重复"))
        if r.file_no:
            numbers.setdefault(r.file_no, r.line)
    return problems


# What staff read in a file. The ID number is not compared: the file was found by it,
# and its ciphertext differs on every save.
_COMPARED = (
    "name",
    "birth_year",
    "gender",
    "station_id",
    "phone",
    "ethnicity",
    "enlist_year",
    "discharge_year",
    "category",
    "hardship",
    "disability",
)


def _readable(veteran: Veteran) -> tuple:
    return tuple(getattr(veteran, attr) for attr in _COMPARED)


def _save_all(session: Session, cipher: FieldCipher, rows: list[LedgerRow]) -> LedgerCounts:
    counts = LedgerCounts()
    # Rows that carry their number go first, so a blank row's new number never
    # takes a number the ledger already gave someone.
    for r in sorted(rows, key=lambda r: (r.seq is None, r.line)):
        before = files.find(session, cipher, r.fields.id_number.value)
        was = _readable(before) if before is not None else None
        veteran, created = files.save(session, cipher, r.fields, source="ledger")
        for attr, value in r.flags.items():
            setattr(veteran, attr, value)
        if not created:
            # An existing file keeps its number; re-importing the same ledger changes nothing.
            if _readable(veteran) == was:
                counts.unchanged += 1
            else:
                counts.updated += 1
            continue
        counts.added += 1
        if r.opened_at:
            veteran.created_at = r.opened_at
        if r.seq is not None and veteran.file_no != r.file_no:
            holder = session.scalar(select(Veteran.id).where(Veteran.file_no == r.file_no))
            if holder is None:
                veteran.file_no, veteran.seq = r.file_no, r.seq
            else:
                counts.renumbered.append(r.line)
    session.flush()
    return counts
