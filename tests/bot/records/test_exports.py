"""Ledger and request exports: masked IDs, the station filter, XLSX round trips, audit rows."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from bot.crypto import cipher
from bot.models import AuditLog, HelpRequest
from bot.records import directory, exports, files
from bot.records.imports.ledger_import import import_file
from bot.records.imports.table_files import write_table
from tests.fixtures.ledgers import id_number, ledger_row, load_sample, write_ledger

PEOPLE = [
    ledger_row(姓名="吉克阿木", 身份证号=id_number(seq="011"), 服务站="513429-107-01"),
    ledger_row(
        姓名="阿果", 性别="女", 身份证号=id_number("19920202", "022"), 服务站="513429-107-02"
    ),
]


@pytest.fixture
def ledger(session, tmp_path):
    """The sample stations and two veterans in two of Jiudu's villages."""
    load_sample(session)
    import_file(session, cipher(), write_ledger(tmp_path / "ledger.csv", PEOPLE))
    session.commit()
    return session


def exported_csv(session, rows, columns=exports.LEDGER_COLUMNS) -> list[list[str]]:
    out = io.BytesIO()
    exports.export(
        session, out, kind="ledger", columns=columns, rows=rows, fmt="csv", actor="t", detail={}
    )
    data = out.getvalue()
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def data_text(table: list[list[str]]) -> str:
    return "\n".join(",".join(row) for row in table)


def test_the_ledger_has_the_agreed_columns_and_masks_the_id(ledger):
    table = exported_csv(ledger, exports.ledger_rows(ledger, cipher()))
    assert table[0] == list(exports.LEDGER_COLUMNS)
    first = dict(zip(table[0], table[1], strict=True))
    assert first["身份证号"] == "513429********0111"
    assert id_number(seq="011") not in data_text(table)
    assert (first["统一编号"], first["姓名"], first["服务站"]) == (
        "513429-107-01-0001",
        "吉克阿木",
        "好谷村退役军人服务站",
    )
    assert (first["手机号"], first["入伍年份"], first["退役年份"]) == (
        "13900001234",
        "2008",
        "2013",
    )


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("513429", ["吉克阿木", "阿果"]),
        ("513429-107", ["吉克阿木", "阿果"]),
        ("513429-107-02", ["阿果"]),
        ("513429-107-03", []),
    ],
)
def test_a_station_export_holds_that_station_and_everything_under_it(ledger, code, names):
    station = directory.by_code(ledger, code)
    assert [row[1] for row in exports.ledger_rows(ledger, cipher(), station)] == names


def test_xlsx_round_trip_keeps_every_cell(ledger, tmp_path):
    rows = exports.ledger_rows(ledger, cipher())
    path = tmp_path / "ledger.xlsx"
    with path.open("wb") as out:
        write_table(out, "xlsx", exports.LEDGER_COLUMNS, rows)
    book = openpyxl.load_workbook(path, read_only=True)
    read_back = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    assert read_back[0] == list(exports.LEDGER_COLUMNS)
    assert read_back[1:] == rows
    woman = id_number("19920202", "022")
    assert read_back[2][4] == woman[:6] + "*" * 8 + woman[-4:]


def test_registration_time_is_shown_in_beijing_time(session, tmp_path):
    load_sample(session)
    row = ledger_row(登记时间="2021-06-30 09:00")
    import_file(session, cipher(), write_ledger(tmp_path / "l.csv", [row]))
    [exported] = exports.ledger_rows(session, cipher())
    assert exported[-1] == "2021-06-30 09:00"
    assert exports.local_time(datetime(2025, 7, 31, 16, 30)) == "2025-08-01 00:30"


def test_requests_export_names_file_veteran_phone_status_and_station(ledger):
    amu = files.find(ledger, cipher(), id_number(seq="011"))
    ledger.add_all(
        [
            HelpRequest(
                number="QZ20250801001",
                openid="o-amu",
                veteran=amu,
                station=amu.station,
                category="就业创业",
                description="想参加电工培训",
                created_at=datetime(2025, 8, 1, 1, 0),
            ),
            HelpRequest(
                number="QZ20250802001",
                openid="o-stranger",
                station=directory.by_code(ledger, "513429-107-05"),
                category="其他",
                description='=HYPERLINK("http://evil")',
                contact_phone="13900005555",
                status="办理中",
                created_at=datetime(2025, 8, 2, 1, 0),
            ),
        ]
    )
    ledger.flush()
    table = exported_csv(ledger, exports.request_rows(ledger), exports.REQUEST_COLUMNS)
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
    assert table[1] == [
        "QZ20250801001",
        "513429-107-01-0001",
        "吉克阿木",
        "",
        "就业创业",
        "想参加电工培训",
        "已提交",
        "好谷村退役军人服务站",
        "2025-08-01 09:00",
    ]
    # A veteran's text that Excel would run as a formula is defused.
    assert table[2][5] == '\'=HYPERLINK("http://evil")'
    # An unregistered requester's mobile, so the station can call back.
    assert table[2][1:4] == ["", "", "13900005555"]
    town = directory.by_code(ledger, "513429-107-01")
    assert [r[0] for r in exports.request_rows(ledger, town)] == ["QZ20250801001"]


def test_every_export_is_audited_before_the_data_leaves(ledger):
    out = io.BytesIO()
    rows = exports.ledger_rows(ledger, cipher())
    exports.export(
        ledger,
        out,
        kind="ledger",
        columns=exports.LEDGER_COLUMNS,
        rows=rows,
        fmt="xlsx",
        actor="张三",
        detail={"station": "513429-107"},
    )
    ledger.rollback()  # committed already: a later failure cannot erase the record
    [entry] = ledger.scalars(select(AuditLog))
    assert (entry.actor, entry.action) == ("张三", "export.ledger")
    assert entry.detail == {"format": "xlsx", "rows": 2, "station": "513429-107"}
