"""Loading paper ledgers: numbers, re-imports, claiming by WeChat, and every kind of bad row."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from bot.crypto import cipher
from bot.models import Veteran
from bot.records import directory, files
from bot.records.exports import LEDGER_COLUMNS
from bot.records.identity import parse_id_number
from bot.records.imports.ledger_import import import_file
from bot.records.imports.table_files import ImportFailed
from tests.fixtures.ledgers import id_number, ledger_row, load_sample, write_ledger

WOMAN = id_number("19920202", "022")


@pytest.fixture
def stations(session):
    load_sample(session)
    return session


def files_held(session) -> list[tuple[str, str]]:
    return list(session.execute(select(Veteran.file_no, Veteran.name).order_by(Veteran.file_no)))


def test_each_row_becomes_a_numbered_file_with_the_id_encrypted(stations, tmp_path):
    path = write_ledger(
        tmp_path / "ledger.csv",
        [ledger_row(), ledger_row(姓名="阿果", 性别="女", 身份证号=WOMAN, 服务站="好谷村")],
    )
    counts = import_file(stations, cipher(), path)
    assert (counts.added, counts.updated) == (2, 0)
    assert files_held(stations) == [
        ("513429-107-01-0001", "吉克阿木"),
        ("513429-107-01-0002", "阿果"),
    ]
    woman = files.find(stations, cipher(), WOMAN)
    assert (woman.gender, woman.source, woman.birth_year) == ("女", "ledger", 1992)
    assert WOMAN not in woman.id_cipher and cipher().decrypt(woman.id_cipher) == WOMAN


def test_the_station_may_be_named_by_code_full_name_or_place(stations, tmp_path):
    rows = [
        ledger_row(身份证号=id_number(seq="011"), 服务站="513429-107-02"),
        ledger_row(身份证号=id_number(seq="031"), 服务站="拉果村退役军人服务站"),
        ledger_row(身份证号=id_number(seq="051"), 服务站="拉果村"),
    ]
    import_file(stations, cipher(), write_ledger(tmp_path / "l.csv", rows))
    village = directory.by_code(stations, "513429-107-02")
    assert stations.scalar(select(func.count()).where(Veteran.station_id == village.id)) == 3


def test_a_second_import_changes_nothing_and_a_changed_row_updates_the_file(stations, tmp_path):
    path = write_ledger(tmp_path / "l.csv", [ledger_row(), ledger_row(身份证号=WOMAN, 性别="")])
    import_file(stations, cipher(), path)
    stations.commit()
    before = files_held(stations)
    moved = write_ledger(
        tmp_path / "m.csv", [ledger_row(服务站="513429-107-05", 手机号="13900009999")]
    )
    again = import_file(stations, cipher(), path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    after_move = import_file(stations, cipher(), moved)
    assert (after_move.added, after_move.updated, after_move.unchanged) == (0, 1, 0)
    assert files_held(stations) == before
    veteran = files.find(stations, cipher(), id_number())
    # Dynamic tracking: the file follows the veteran to the new station, number unchanged.
    assert (veteran.station.code, veteran.phone) == ("513429-107-05", "13900009999")
    assert veteran.file_no == "513429-107-01-0001"


def test_a_given_number_is_kept_when_free_and_blank_rows_never_take_it(stations, tmp_path):
    rows = [
        ledger_row(身份证号=id_number(seq="011")),
        ledger_row(身份证号=id_number(seq="031"), 统一编号="513429-107-01-0001"),
        ledger_row(身份证号=id_number(seq="051"), 统一编号="513429-107-01-0007"),
    ]
    counts = import_file(stations, cipher(), write_ledger(tmp_path / "l.csv", rows))
    assert counts.renumbered == []
    numbers = {
        seq: files.find(stations, cipher(), id_number(seq=seq)).file_no
        for seq in ("011", "031", "051")
    }
    assert numbers == {
        "031": "513429-107-01-0001",
        "051": "513429-107-01-0007",
        "011": "513429-107-01-0008",
    }


def test_a_given_number_already_taken_is_replaced_and_reported(stations, tmp_path):
    import_file(stations, cipher(), write_ledger(tmp_path / "a.csv", [ledger_row()]))
    taken = ledger_row(身份证号=WOMAN, 性别="女", 统一编号="513429-107-01-0001")
    counts = import_file(stations, cipher(), write_ledger(tmp_path / "b.csv", [taken]))
    assert counts.renumbered == [2]
    assert files.find(stations, cipher(), WOMAN).file_no == "513429-107-01-0002"


def test_a_veteran_registering_over_wechat_claims_the_imported_file(stations, tmp_path):
    import_file(stations, cipher(), write_ledger(tmp_path / "l.csv", [ledger_row()]))
    station = directory.by_code(stations, "513429-107-01")
    fields = files.FileFields(
        name="吉克阿木", id_number=parse_id_number(id_number()), station=station
    )
    veteran, created = files.save(stations, cipher(), fields, openid="o-veteran")
    assert not created
    assert (veteran.file_no, veteran.openid, veteran.phone) == (
        "513429-107-01-0001",
        "o-veteran",
        "13900001234",
    )


def test_xlsx_ledgers_with_numeric_cells_load_too(stations, tmp_path):
    path = write_ledger(tmp_path / "l.xlsx", [ledger_row(入伍年份=2008, 退役年份=2013.0)])
    counts = import_file(stations, cipher(), path)
    veteran = files.find(stations, cipher(), id_number())
    assert counts.added == 1
    assert (veteran.enlist_year, veteran.discharge_year) == (2008, 2013)


BAD_CELLS = [
    (
        {"身份证号": id_number()[:17] + ("0" if id_number()[17] != "0" else "1")},
        "身份证号：身份证号校验位不对",
    ),
    ({"身份证号": "51342919900101011"}, "身份证号：身份证号应为18位"),
    ({"身份证号": id_number("19900230")}, "身份证号：身份证号里的出生日期不存在"),
    ({"身份证号": id_number("20991231")}, "身份证号：身份证号里的出生日期不对"),
    ({"性别": "女"}, "性别：与身份证号不符"),
    ({"姓名": ""}, "姓名：不能为空"),
    ({"手机号": "1390000123"}, "手机号：手机号应为11位"),
    ({"服务站": "不存在村"}, "服务站：服务站“不存在村”不存在"),
    ({"服务站": "513429-107"}, "服务站：服务站“513429-107”不是村（社区）站"),
    ({"服务站": ""}, "服务站：不能为空"),
    ({"入伍年份": "08年"}, "入伍年份：应为四位年份"),
    ({"退役年份": "2999"}, "退役年份：应在 1930 到今年之间"),
    ({"入伍年份": "2013", "退役年份": "2008"}, "退役年份：早于入伍年份"),
    ({"入伍年份": "2001"}, "入伍年份：入伍时不满 16 岁"),
    ({"类别": "志愿者"}, "类别：应为 退役士兵"),
    ({"登记时间": "去年"}, "登记时间：应为日期"),
    ({"登记时间": "2999-01-01"}, "登记时间：不能晚于现在"),
    ({"统一编号": "JD-0001"}, "统一编号：应为“服务站编号-四位序号”"),
    ({"统一编号": "513429-107-02-0001"}, "统一编号：应为“服务站编号-四位序号”"),
    (
        {"身份证号": id_number(seq="031")},
        "身份证号：与第 2 行重复",
    ),
    (
        {"身份证号": WOMAN, "性别": "女", "统一编号": "513429-107-01-0003"},
        "统一编号：与第 2 行重复",
    ),
]


@pytest.mark.parametrize(("cells", "reason"), BAD_CELLS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_bad_row_fails_the_whole_import_naming_line_and_field(
    stations, tmp_path, cells, reason, fmt
):
    good = ledger_row(身份证号=id_number(seq="031"), 统一编号="513429-107-01-0003")
    bad = ledger_row(**cells)
    path = write_ledger(tmp_path / f"ledger.{fmt}", [good, bad])
    with pytest.raises(ImportFailed) as failed:
        import_file(stations, cipher(), path)
    [problem] = failed.value.problems
    assert (problem.file, problem.line) == (f"ledger.{fmt}", 3)
    assert problem.reason.startswith(reason)
    message = str(failed.value)
    assert f"ledger.{fmt}:3: " in message
    # Personal numbers never reach an error message, only the field's name.
    assert bad["身份证号"] not in message and bad["手机号"] not in message
    stations.rollback()
    assert files_held(stations) == []


def test_every_bad_row_is_listed_and_nothing_is_written(stations, tmp_path):
    rows = [
        ledger_row(性别="女"),
        ledger_row(身份证号=WOMAN, 性别="女"),
        ledger_row(身份证号=id_number(seq="051"), 手机号="12", 服务站="火星村"),
    ]
    with pytest.raises(ImportFailed) as failed:
        import_file(stations, cipher(), write_ledger(tmp_path / "l.csv", rows))
    assert [(p.line, p.reason.split("：")[0]) for p in failed.value.problems] == [
        (2, "性别"),
        (4, "手机号"),
        (4, "服务站"),
    ]
    stations.rollback()
    assert files_held(stations) == []


def write_with_flags(path, rows: list[dict]):
    """A ledger CSV with the optional 困难 and 伤残 columns after the standard ones."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*LEDGER_COLUMNS, "困难", "伤残"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_care_flags_come_from_the_optional_columns_and_the_category(stations, tmp_path):
    path = write_with_flags(
        tmp_path / "flags.csv",
        [
            ledger_row(困难="是", 伤残="否"),
            ledger_row(姓名="阿果", 性别="女", 身份证号=WOMAN, 类别="伤残军人", 困难="", 伤残=""),
        ],
    )
    import_file(stations, cipher(), path)

    flags = dict(stations.execute(select(Veteran.name, Veteran.hardship)).all())
    wounded = dict(stations.execute(select(Veteran.name, Veteran.disability)).all())
    assert flags == {"吉克阿木": True, "阿果": False}
    assert wounded == {"吉克阿木": False, "阿果": True}


def test_a_ledger_without_the_flag_columns_keeps_the_flags_a_file_has(stations, tmp_path):
    import_file(stations, cipher(), write_with_flags(tmp_path / "a.csv", [ledger_row(困难="是")]))
    kept = import_file(stations, cipher(), write_ledger(tmp_path / "b.csv", [ledger_row()]))
    assert (kept.updated, kept.unchanged) == (0, 1)
    lifted = write_with_flags(tmp_path / "c.csv", [ledger_row(困难="否")])
    assert import_file(stations, cipher(), lifted).updated == 1
    import_file(stations, cipher(), write_with_flags(tmp_path / "d.csv", [ledger_row(困难="是")]))

    assert stations.scalar(select(Veteran.hardship)) is True


def test_a_flag_that_is_not_yes_or_no_names_the_line_and_column(stations, tmp_path):
    path = write_with_flags(tmp_path / "bad.csv", [ledger_row(困难="可能")])

    with pytest.raises(ImportFailed) as failed:
        import_file(stations, cipher(), path)

    assert "bad.csv:2" in str(failed.value) and "困难" in str(failed.value)
    assert stations.scalar(select(func.count()).select_from(Veteran)) == 0
