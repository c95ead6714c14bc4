"""The CSV and XLSX tables staff exchange with the bot: reading them with line numbers,
writing them, and the error an import raises for its bad rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

# Cells starting like this would run as formulas in Excel (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowProblem:
    """One reason one line of one file was refused."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class ImportFailed(Exception):
    """An import refused its file and wrote nothing; `problems` lists every bad row."""

    def __init__(self, problems: Iterable[RowProblem]):
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"导入失败，未写入任何数据（{len(self.problems)} 处问题）："
        return "\n".join([head, *(str(p) for p in self.problems)])


@dataclass(frozen=True)
class Row:
    """A data row: its line in the file (as a person counts them) and its cells by column."""

    line: int
    cells: dict[str, str]


def read_rows(path: str | Path, columns: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    """Read a CSV (UTF-8, BOM or GB18030) or XLSX table whose header holds every column.

    Optional columns are read when the header has them (None otherwise). Blank
    lines and lines starting with # are skipped; other columns are ignored.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFailed([RowProblem(path.name, 1, "不支持旧版 .xls，请另存为 .xlsx 或 CSV")])
    lines = _xlsx_lines(path) if suffix in (".xlsx", ".xlsm") else _csv_lines(path)
    header: list[str] | None = None
    rows, problems = [], []
    for number, raw in lines:
        cells = [_cell_text(c) for c in raw]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header is None:
            header = cells
            missing = [c for c in columns if c not in header]
            if missing:
                problems.append(RowProblem(path.name, number, f"表头缺少列：{'，'.join(missing)}"))
                break
            continue
        if any(cells[len(header) :]):
            problems.append(RowProblem(path.name, number, "这一行的列数多于表头"))
            continue
        values = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        cells_by_column = {c: values[c] for c in columns} | {c: values.get(c) for c in optional}
        rows.append(Row(number, cells_by_column))
    if header is None:
        problems.append(RowProblem(path.name, 1, f"文件里没有表头（应有：{','.join(columns)}）"))
    if problems:
        raise ImportFailed(problems)
    return rows


def _csv_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's plain "CSV" on a Chinese Windows saves in GBK.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFailed([RowProblem(path.name, 1, "无法识别文件编码")]) from None
    # Comment lines become empty lines rather than vanish, so csv.reader's
    # line_num stays the number a text editor shows, and a stray quote in a
    # comment cannot swallow the lines after it.
    kept = "".join(
        "\n" if line.lstrip().startswith("#") else line for line in text.splitlines(keepends=True)
    )
    reader = csv.reader(io.StringIO(kept, newline=""))
    try:
        for record in reader:
            yield reader.line_num, record
    except csv.Error as exc:
        raise ImportFailed(
            [RowProblem(path.name, reader.line_num, f"CSV 格式错误：{exc}")]
        ) from None


def _xlsx_lines(path: Path) -> Iterator[tuple[int, list]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise ImportFailed([RowProblem(path.name, 1, f"无法打开 XLSX：{exc}")]) from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
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
