"""The CSV and XLSX tables staff exchange with the bot: reading them with line numbers,
writing them, and the error an import raises for its bad rows.

Imports read files staff bring from anywhere, so reading is bounded: a file over
the size limit is refused unread, rows are read one at a time, and an import
stops once it has more problems than anyone would read. A problem with a cell
names the file, the line and the column, never the value: it may be a name, a
phone or an ID number.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

import openpyxl

# Cells starting like this would run as formulas in Excel (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters other than tab and line breaks: invisible in a spreadsheet,
# and PostgreSQL refuses NUL outright.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An XLSX is zipped XML, which packs about twelve to one; one that unpacks to
# more than this many times the size limit is a zip bomb, not a ledger.
XLSX_MAX_EXPANSION = 30
WHOLE_FILE = 0  # the line of a problem with the file itself rather than one of its lines
BAD_XLSX = (
    "不是有效的 XLSX 文件（已损坏，或是改了扩展名的其他文件）；请用 Excel 另存为 .xlsx 或 CSV"
)
BROKEN_SHEET = "工作表已损坏，无法读完；请用 Excel 打开后重新保存"


@dataclass(frozen=True)
class RowProblem:
    """One reason one line of one file (line 0: the whole file) was refused."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line != WHOLE_FILE else self.file
        return f"{where}: {self.reason}"


class ImportFailed(Exception):
    """An import refused its file and wrote nothing; `problems` lists the bad rows.

    `more` says the import stopped listing at its limit and there are others.
    """

    def __init__(self, problems: Iterable[RowProblem], more: bool = False):
        self.problems = sorted(problems, key=lambda p: p.line)
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        if self.more:
            head = f"导入失败，未写入任何数据（至少 {count + 1} 处问题，先列出 {count} 处）："
            tail = ["……还有更多问题，请先改正以上几处再导入"]
        elif count == 1:
            return f"导入失败，未写入任何数据：{self.problems[0]}"
        else:
            head, tail = f"导入失败，未写入任何数据（{count} 处问题）：", []
        return "\n".join([head, *(str(p) for p in self.problems), *tail])


@dataclass(frozen=True)
class Limits:
    """How big a file an import reads and how many problems it lists (None: no limit)."""

    max_bytes: int | None = None
    max_faults: int | None = None


NO_LIMITS = Limits()  # for files the project ships, such as the sample stations


@dataclass
class Problems:
    """The problems one import has found; past its limit it stops the import."""

    file: str
    limit: int | None = None
    found: list[RowProblem] = field(default_factory=list)

    def add(self, line: int, reason: str) -> None:
        """Note a problem; raise ImportFailed when it is one more than may be listed."""
        if self.limit is not None and len(self.found) >= self.limit:
            raise ImportFailed(self.found, more=True)
        self.found.append(RowProblem(self.file, line, reason))

    def stop(self, line: int, reason: str) -> NoReturn:
        """Raise ImportFailed now: the file cannot be read on past this problem."""
        self.add(line, reason)
        raise ImportFailed(self.found)

    def raise_if_any(self) -> None:
        """Raise ImportFailed listing every problem found, if there is one."""
        if self.found:
            raise ImportFailed(self.found)


@dataclass(frozen=True)
class Row:
    """A data row: its line in the file (as a person counts them) and its cells by column."""

    line: int
    cells: dict[str, str]


def read_rows(
    path: str | Path,
    columns: Sequence[str],
    problems: Problems,
    *,
    optional: Sequence[str] = (),
    max_bytes: int | None = None,
) -> Iterator[Row]:
    """Yield the rows of a CSV (UTF-8, BOM or GB18030) or XLSX table, one at a time.

    The header must hold every column; optional columns are read when it has
    them (None otherwise). Blank lines and lines starting with # are skipped;
    other columns are ignored. Bad rows go to problems and are not yielded; a
    file that cannot be read at all raises ImportFailed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        problems.stop(WHOLE_FILE, "不支持旧版 .xls，请另存为 .xlsx 或 CSV")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        problems.stop(
            WHOLE_FILE, f"文件有 {size:,} 字节，超过上限 {max_bytes:,} 字节（IMPORT_MAX_BYTES）"
        )
    if size == 0:
        problems.stop(WHOLE_FILE, "文件是空的")
    if suffix in (".xlsx", ".xlsm"):
        lines = _xlsx_lines(path, problems, max_bytes)
    else:
        lines = _csv_lines(path, problems)
    header: list[str] | None = None
    for number, raw in lines:
        cells = [_cell_text(c) for c in raw]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = cells
            missing = [c for c in columns if c not in header]
            if missing:
                problems.stop(number, f"表头缺少列：{'，'.join(missing)}")
            continue
        if any(cells[len(header) :]):
            problems.add(number, "这一行的列数多于表头")
            continue
        values = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        # The column is named, never the value: it may be a name or an ID number.
        unseen = [column for column, value in values.items() if CONTROL.search(value)]
        for column in unseen:
            problems.add(number, f"{column}：含有控制字符（看不见的特殊字符），请删去后再导入")
        if unseen:
            continue
        cells_by_column = {c: values[c] for c in columns} | {c: values.get(c) for c in optional}
        yield Row(number, cells_by_column)
    if header is None:
        problems.stop(1, f"文件里没有表头（应有：{','.join(columns)}）")


def _csv_lines(path: Path, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    # Read whole (the size limit bounds it): the encoding is known only once all decodes.
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's plain "CSV" on a Chinese Windows saves in GBK.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            problems.stop(WHOLE_FILE, "无法识别文件编码")
    # Comment lines become empty lines rather than vanish, so csv.reader's
    # line_num stays the number a text editor shows, and a stray quote in a
    # comment cannot swallow the lines after it.
    kept = "".join(
        "\n" if line.lstrip().startswith("#") else line for line in text.splitlines(keepends=True)
    )
    del data, text
    reader = csv.reader(io.StringIO(kept, newline=""))
    try:
        for record in reader:
            yield reader.line_num, record
    except csv.Error as exc:
        problems.stop(reader.line_num, f"CSV 格式错误：{exc}")


def _xlsx_lines(
    path: Path, problems: Problems, max_bytes: int | None
) -> Iterator[tuple[int, list]]:
    try:
        with zipfile.ZipFile(path) as packed:
            unpacked = sum(item.file_size for item in packed.infolist())
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        problems.stop(WHOLE_FILE, BAD_XLSX)
    if max_bytes is not None and unpacked > max_bytes * XLSX_MAX_EXPANSION:
        limit = max_bytes * XLSX_MAX_EXPANSION
        problems.stop(
            WHOLE_FILE,
            f"解压后超过 {limit:,} 字节（IMPORT_MAX_BYTES 的 {XLSX_MAX_EXPANSION} 倍），"
            "请拆成几个文件",
        )
    # We open the file ourselves: openpyxl leaves its own handle open when a
    # damaged workbook makes it raise.
    with path.open("rb") as fh:
        yield from _workbook_lines(fh, problems)


def _workbook_lines(fh: BinaryIO, problems: Problems) -> Iterator[tuple[int, list]]:
    # A damaged zip or workbook fails in openpyxl, zipfile, zlib or the XML
    # parser with almost any exception (EOFError, zlib.error, TypeError,
    # NotImplementedError for odd zip versions): each means the same to staff.
    try:
        book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception:
        problems.stop(WHOLE_FILE, BAD_XLSX)
    try:
        if not book.worksheets:
            problems.stop(WHOLE_FILE, BAD_XLSX)
        sheet = book.worksheets[0]
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        while True:
            # A truncated sheet fails mid-way, as variously as above: its XML
            # (ParseError), its compressed stream or its cells break off.
            try:
                number, values = next(rows)
            except StopIteration:
                return
            except Exception:
                problems.stop(WHOLE_FILE, BROKEN_SHEET)
            yield number, list(values)
    finally:
        book.close()


def _cell_text(value) -> str:
    """A cell as the text a person sees: 2010.0 is 2010, dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def write_table(out: BinaryIO, fmt: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write a table as CSV (UTF-8 with BOM, so Excel reads the Chinese) or XLSX."""
    safe = [[_defused(v) for v in row] for row in rows]
    if fmt == "csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(safe)
        out.write(text.getvalue().encode("utf-8-sig"))
    elif fmt == "xlsx":
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(list(columns))
        for row in safe:
            sheet.append(row)
        book.save(out)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _defused(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value
