"""Bad import files, run through the real CLI: one clear line, a failed exit, nothing written,
and never a veteran's name, phone or ID number in what is printed."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from bot import db
from bot.commands.stations import stations
from bot.commands.veterans import veterans
from bot.crypto import cipher
from bot.models import Station, Veteran
from tests.fixtures.ledgers import SAMPLE, id_number, ledger_row, write_ledger

HEAD = "Error: 导入失败，未写入任何数据"
BAD_XLSX = (
    "不是有效的 XLSX 文件（已损坏，或是改了扩展名的其他文件）；请用 Excel 另存为 .xlsx 或 CSV"
)
BROKEN_SHEET = "工作表已损坏，无法读完；请用 Excel 打开后重新保存"


@pytest.fixture
def cli(app, session):
    """Run `veteranbot <group> ...` inside the test's app."""
    runner = app.test_cli_runner()

    def run(group, *args, runner=runner):
        return runner.invoke(group, [str(a) for a in args])

    return run


@pytest.fixture
def jiudu(cli):
    assert cli(stations, "import", SAMPLE).exit_code == 0


def counts(session) -> tuple[int, int]:
    session.expire_all()
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Station, Veteran))


def rows(n: int) -> list[dict]:
    """n good ledger rows, each a different man at 好谷村."""
    return [ledger_row(身份证号=id_number(seq=f"{2 * i + 1:03d}")) for i in range(n)]


def ledger_xlsx(path):
    return write_ledger(path, rows(30))


def stations_xlsx(path):
    """The sample station directory as an XLSX sheet: a header and 13 stations."""
    book = openpyxl.Workbook()
    for line in csv.reader(SAMPLE.read_text(encoding="utf-8").splitlines()):
        if line and not line[0].startswith("#"):
            book.active.append(line)
    book.save(path)
    return path


def truncated_zip(path, good):
    data = good(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path, good):
    path.write_bytes(b"")


def csv_renamed(path, good):
    write_ledger(path.with_suffix(".csv"), rows(3)).rename(path)


def truncated_sheet(path, good):
    """A well-formed zip whose sheet XML stops partway through its rows."""
    data = good(path).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            part = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                part = part[: part.index(b'<row r="12"') + 40]
            dst.writestr(item, part)
    path.write_bytes(out.getvalue())


def garbled_sheet(path, good):
    """The sheet's compressed bytes overwritten halfway through: zlib or the CRC fails."""
    good(path)
    with zipfile.ZipFile(path) as packed:
        sheet = packed.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    # The local header is 30 bytes, then the name and extra field, then the data.
    start = sheet.header_offset + 30 + len(sheet.filename) + len(sheet.extra)
    middle = start + sheet.compress_size // 2
    data[middle : middle + 64] = bytes(range(64))
    path.write_bytes(bytes(data))


BAD_FILES = [
    (truncated_zip, f"ledger.xlsx: {BAD_XLSX}"),
    (empty, "ledger.xlsx: 文件是空的"),
    (csv_renamed, f"ledger.xlsx: {BAD_XLSX}"),
    (truncated_sheet, f"ledger.xlsx: {BROKEN_SHEET}"),
    (garbled_sheet, f"ledger.xlsx: {BAD_XLSX}"),
]


@pytest.mark.parametrize(
    ("group", "good"),
    [(stations, stations_xlsx), (veterans, ledger_xlsx)],
    ids=["stations", "veterans"],
)
@pytest.mark.parametrize(("damage", "line"), BAD_FILES, ids=[d.__name__ for d, _ in BAD_FILES])
def test_a_broken_xlsx_is_one_line_naming_the_file(
    cli, jiudu, session, tmp_path, group, good, damage, line
):
    path = tmp_path / "ledger.xlsx"
    damage(path, good)
    before = counts(session)

    result = cli(group, "import", path)

    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines() == [f"{HEAD}：{line}"]
    assert counts(session) == before
    assert "13900001234" not in result.output and id_number()[:10] not in result.output


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_control_character_in_a_cell_is_refused_by_column_never_by_value(
    cli, jiudu, session, tmp_path, fmt
):
    ledger = rows(3)
    ledger[1]["姓名"] = "吉克\x00阿木" if fmt == "csv" else "吉克\x7f阿木"
    path = write_ledger(tmp_path / f"ledger.{fmt}", ledger)

    result = cli(veterans, "import", path)

    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines() == [
        f"{HEAD}：ledger.{fmt}:3: 姓名：含有控制字符（看不见的特殊字符），请删去后再导入"
    ]
    assert counts(session) == (13, 0)
    secrets = ["吉克", "13900001234", *(r["身份证号"] for r in ledger)]
    secrets.append(cipher().lookup_hash(ledger[1]["身份证号"]))
    assert not [s for s in secrets if s in result.output]


def test_a_control_character_in_a_station_file_is_refused_too(cli, session, tmp_path):
    path = tmp_path / "stations.csv"
    text = SAMPLE.read_text(encoding="utf-8").replace("九都镇", "九都\x01镇", 1)
    path.write_text(text, encoding="utf-8")

    result = cli(stations, "import", path)

    assert result.exit_code == 1
    assert ": name：含有控制字符" in result.output and "九都" not in result.output
    assert counts(session) == (0, 0)


def run_limited(make_app, group, path, **limits) -> tuple:
    """Run an import under an app with lowered limits; its result and the counts after it.

    No test app context may be open here: the command would run in that app instead.
    """
    limited = make_app(**limits)
    result = limited.test_cli_runner().invoke(group, ["import", str(path)])
    with limited.app_context():
        return result, counts(db.session())


@pytest.mark.parametrize("group", [stations, veterans], ids=["stations", "veterans"])
def test_a_file_over_the_size_limit_is_refused_before_it_is_read(app, make_app, tmp_path, group):
    path = write_ledger(tmp_path / "big.csv", rows(20))
    size = path.stat().st_size
    assert size > 1000

    result, after = run_limited(make_app, group, path, IMPORT_MAX_BYTES="1000")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{HEAD}：big.csv: 文件有 {size:,} 字节，超过上限 1,000 字节（IMPORT_MAX_BYTES）"
    ]
    assert after == (0, 0)


def test_an_xlsx_that_unpacks_far_beyond_the_limit_is_refused_unread(app, make_app, tmp_path):
    path = write_ledger(tmp_path / "bomb.xlsx", [ledger_row()])
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("docProps/padding.xml", b" " * 5_000_000)  # packs to a few KiB
    assert path.stat().st_size < 100_000

    result, after = run_limited(make_app, veterans, path, IMPORT_MAX_BYTES="100000")

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{HEAD}：bomb.xlsx: 解压后超过 3,000,000 字节（IMPORT_MAX_BYTES 的 30 倍），请拆成几个文件"
    ]
    assert after == (0, 0)


@pytest.mark.parametrize("group", [stations, veterans], ids=["stations", "veterans"])
def test_listing_stops_after_the_fault_limit_and_says_there_is_more(app, make_app, tmp_path, group):
    if group is stations:
        lines = SAMPLE.read_text(encoding="utf-8").replace(",27.", ",north27.")
        path = tmp_path / "bad.csv"
        path.write_text("\n".join(x for x in lines.splitlines() if not x.startswith("#")))
    else:
        assert make_app().test_cli_runner().invoke(stations, ["import", str(SAMPLE)]).exit_code == 0
        ledger = rows(10)
        for row in ledger:
            row["手机号"] = "139"
        path = write_ledger(tmp_path / "bad.csv", ledger)

    result, after = run_limited(make_app, group, path, IMPORT_MAX_FAULTS="3")

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{HEAD}（至少 4 处问题，先列出 3 处）："
    assert [x.split(": ")[0] for x in lines[1:4]] == ["bad.csv:2", "bad.csv:3", "bad.csv:4"]
    assert lines[4:] == ["……还有更多问题，请先改正以上几处再导入"]
    assert after == ((0, 0) if group is stations else (13, 0))
