"""The command line as staff use it, driven through click against the real database."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.commands.ledger import ledger, requests_group
from bot.commands.staff import staff
from bot.commands.stations import stations
from bot.commands.veterans import veterans
from bot.models import AuditLog, HelpRequest, Staff, Station, Veteran
from bot.records import directory
from bot.records.exports import LEDGER_COLUMNS, os_user
from tests.fixtures.ledgers import SAMPLE, id_number, ledger_row, write_ledger


@pytest.fixture
def cli(app, session):
    """Run a command group as `veteranbot <group> ...` would, inside the test's app context."""
    runner = app.test_cli_runner()

    def run(group, *args: str):
        return runner.invoke(group, [str(a) for a in args])

    return run


@pytest.fixture
def jiudu(cli):
    assert cli(stations, "import", SAMPLE).exit_code == 0


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def csv_out(result) -> list[list[str]]:
    return list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))


def test_stations_import_reports_counts_and_is_harmless_twice(cli, session):
    first = cli(stations, "import", SAMPLE)
    again = cli(stations, "import", SAMPLE)
    assert first.exit_code == 0 and "新增 13，更新 0" in first.output
    assert again.exit_code == 0 and "新增 0，更新 0，未变 13" in again.output
    assert count(session, Station) == 13


def test_stations_import_refuses_a_bad_file_naming_every_line(cli, session, tmp_path):
    bad = tmp_path / "bad.csv"
    rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    rows[7] = rows[7].replace(",county,", ",province,")  # line 8: the county
    rows[-1] = rows[-1].replace("27.5970", "north")  # line 20: the last village
    bad.write_text("\n".join(rows), encoding="utf-8")
    result = cli(stations, "import", bad)
    assert result.exit_code != 0
    assert "bad.csv:8: level 应为 county/township/village" in result.output
    assert "bad.csv:20: lat/lon 应为数字" in result.output
    assert "2 处问题" in result.output  # the township under the bad county is not blamed
    assert count(session, Station) == 0


def test_staff_add_binds_moves_and_refuses_unknown_stations(cli, jiudu, session):
    unknown = cli(staff, "add", "--station", "999999", "--name", "阿木", "--openid", "o-amu")
    assert unknown.exit_code != 0 and "没有编号为 999999 的服务站" in unknown.output
    town = cli(staff, "add", "--station", "513429-107", "--name", "阿木", "--openid", "o-amu")
    assert town.exit_code == 0 and "九都镇退役军人服务站" in town.output
    cli(staff, "add", "--station", "513429-107-03", "--name", "阿果", "--openid", "o-aguo")
    again = cli(staff, "add", "--station", "513429-107-03", "--name", "阿果", "--openid", "o-aguo")
    assert again.exit_code == 0 and count(session, Staff) == 2
    # The township's staff answer for a village's requests, with the village's own.
    village = directory.by_code(session, "513429-107-03")
    assert [s.name for s in directory.responsible_staff(session, village)] == ["阿木", "阿果"]
    other = directory.by_code(session, "513429-107-04")
    assert [s.name for s in directory.responsible_staff(session, other)] == ["阿木"]
    moved = cli(staff, "add", "--station", "513429-107-04", "--name", "阿果", "--openid", "o-aguo")
    assert "原在木洛村退役军人服务站" in moved.output
    assert [s.name for s in directory.responsible_staff(session, village)] == ["阿木"]
    listed = cli(staff, "list", "--station", "513429-107-04").output
    assert "o-aguo" in listed and "o-amu" in listed  # the township's 阿木 answers for it too
    assert "o-amu" in cli(staff, "list", "--station", "513429-107-03").output
    everyone = cli(staff, "list").output
    (township_line,) = [line for line in everyone.splitlines() if "o-amu" in line]
    assert "另负责 11 个村" in township_line and "木洛村" in township_line


def test_veterans_import_loads_a_ledger_and_refuses_bad_ones_quietly(cli, jiudu, session, tmp_path):
    good = write_ledger(tmp_path / "good.xlsx", [ledger_row()])
    result = cli(veterans, "import", good)
    assert result.exit_code == 0 and "新建 1，更新 0，未变 0" in result.output
    again = cli(veterans, "import", good)
    assert again.exit_code == 0 and "新建 0，更新 0，未变 1" in again.output
    bad_id = id_number(seq="031")[:-1] + "0"
    bad = write_ledger(
        tmp_path / "bad.csv", [ledger_row(身份证号=bad_id), ledger_row(手机号="1390000999")]
    )
    refused = cli(veterans, "import", bad)
    assert refused.exit_code != 0
    assert "bad.csv:2: 身份证号：" in refused.output and "bad.csv:3: 手机号：" in refused.output
    assert bad_id not in refused.output and "1390000999" not in refused.output
    assert count(session, Veteran) == 1


@pytest.fixture
def two_veterans(cli, jiudu, tmp_path):
    rows = [
        ledger_row(),
        ledger_row(姓名="阿果", 性别="女", 身份证号=id_number("19920202", "022"), 服务站="拉果村"),
    ]
    assert cli(veterans, "import", write_ledger(tmp_path / "l.csv", rows)).exit_code == 0


def test_ledger_export_to_stdout_is_masked_csv_and_audited(cli, two_veterans, session):
    result = cli(ledger, "export")
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith("\ufeff".encode())
    table = csv_out(result)
    assert table[0] == list(LEDGER_COLUMNS)
    assert [row[4] for row in table[1:]] == ["513429********0111", "513429********0228"]
    assert id_number() not in result.stdout
    assert "已导出 2 份档案" in result.stderr
    [entry] = session.scalars(select(AuditLog))
    assert entry.actor == os_user()
    assert entry.detail == {"format": "csv", "rows": 2, "station": "", "output": "stdout"}


def test_ledger_export_by_station_to_xlsx_names_the_actor(cli, two_veterans, session, tmp_path):
    out = tmp_path / "jiudu-02.xlsx"
    args = ("--format", "xlsx", "--station", "513429-107-02", "-o", out, "--actor", "李四")
    assert cli(ledger, "export", *args).exit_code == 0
    book = openpyxl.load_workbook(out, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    assert [r[1] for r in rows[1:]] == ["阿果"]
    [entry] = session.scalars(select(AuditLog))
    assert (entry.actor, entry.detail["station"], entry.detail["rows"]) == (
        "李四",
        "513429-107-02",
        1,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--station", "000000"), "没有编号为 000000 的服务站"),
        (("--format", "xlsx"), "XLSX 需要用 -o 指定文件"),
        (("--format", "pdf"), "'pdf' is not one of"),
    ],
)
def test_export_mistakes_stop_before_anything_is_exported(
    cli, two_veterans, session, args, message
):
    result = cli(ledger, "export", *args)
    assert result.exit_code != 0 and message in result.output
    assert count(session, AuditLog) == 0


def test_requests_export_lists_requests_and_is_audited(cli, jiudu, session, tmp_path):
    village = directory.by_code(session, "513429-107-07")
    session.add(
        HelpRequest(
            number="QZ0001",
            openid="o-x",
            station=village,
            category="政策咨询",
            description="问政策",
        )
    )
    session.commit()
    result = cli(requests_group, "export")
    table = csv_out(result)
    assert table[0] == [
        "求助编号",
        "统一编号",
        "姓名",
        "手机号",
        "类别",
        "内容",
        "状态",
        "服务站",
        "提交时间",
    ]
    assert table[1][:8] == [
        "QZ0001",
        "",
        "",
        "",
        "政策咨询",
        "问政策",
        "已提交",
        "洛莫村退役军人服务站",
    ]
    out = tmp_path / "requests.xlsx"
    assert cli(requests_group, "export", "--format", "xlsx", "-o", out).exit_code == 0
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["export.requests", "export.requests"]


def test_a_database_never_migrated_gets_the_next_step_not_a_traceback(tmp_path, redis_url):
    from click.testing import CliRunner

    from bot.commands import main

    env = {"INSTANCE_DIR": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": ""}
    result = CliRunner().invoke(main, ["staff", "list"], env=env)

    assert result.exit_code == 1
    assert "veteranbot db upgrade" in result.output
    assert "Traceback" not in result.output
