"""The station directory import: the shipped sample, upserts, and every kind of bad row."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.models import Station
from bot.records import directory
from bot.records.imports.station_import import COLUMNS, import_file, load_csv
from bot.records.imports.table_files import ImportFailed
from tests.fixtures.ledgers import SAMPLE

HEADER = ",".join(COLUMNS)
COUNTY = "513429,布拖县退役军人服务中心,county,,甲,0834-5550100,布拖县,全天,27.70,102.81"
TOWN = "513429-107,九都镇退役军人服务站,township,513429,乙,0834-5550107,九都镇,全天,27.64,102.90"
VILLAGE = (
    "513429-107-01,好谷村退役军人服务站,village,513429-107,丙,13900000101,好谷村,全天,27.66,102.92"
)


def write(tmp_path, *lines: str, name: str = "stations.csv", bom: bool = False):
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def station_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Station))


def test_the_sample_is_jiudu_town_with_eleven_villages_marked_as_sample(session):
    assert SAMPLE.read_text(encoding="utf-8").startswith("# SAMPLE DATA")
    assert load_csv(session, SAMPLE) == 13
    county = directory.by_code(session, "513429")
    assert county.name == "布拖县退役军人服务中心"
    [town] = directory.children(session, county)
    assert town.name == "九都镇退役军人服务站"
    villages = directory.children(session, town)
    assert len(villages) == 11
    assert {v.level for v in villages} == {"village"}
    # All within a short drive of the town, and not piled on one spot.
    assert all(directory.haversine_km(town.lat, town.lon, v.lat, v.lon) < 15 for v in villages)
    assert len({(v.lat, v.lon) for v in villages}) == 11
    assert directory.haversine_km(27.7, 102.8, county.lat, county.lon) < 10


def test_importing_twice_changes_nothing(session):
    first = import_file(session, SAMPLE)
    session.commit()
    again = import_file(session, SAMPLE)
    assert (first.added, first.updated) == (13, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 13)
    assert station_count(session) == 13


def test_a_changed_row_updates_the_station_in_place(session, tmp_path):
    import_file(session, write(tmp_path, HEADER, COUNTY, TOWN, VILLAGE))
    session.commit()
    moved = VILLAGE.replace("13900000101", "+86 139 0000 0199").replace("丙", "丁")
    counts = import_file(session, write(tmp_path, HEADER, moved, name="again.csv"))
    village = directory.by_code(session, "513429-107-01")
    assert (counts.added, counts.updated) == (0, 1)
    assert (village.head, village.phone) == ("丁", "13900000199")
    assert village.parent.code == "513429-107"


def test_parents_may_already_exist_or_come_later_in_the_file(session, tmp_path):
    import_file(session, write(tmp_path, HEADER, COUNTY))
    counts = import_file(session, write(tmp_path, HEADER, VILLAGE, TOWN, name="later.csv"))
    assert counts.added == 2
    assert directory.by_code(session, "513429-107-01").ancestor("county").code == "513429"


def test_excel_files_work_bom_csv_and_xlsx(session, tmp_path):
    assert load_csv(session, write(tmp_path, HEADER, COUNTY, TOWN, bom=True)) == 2
    book = openpyxl.Workbook()
    book.active.append(list(COLUMNS))
    # Excel keeps numbers as numbers: the coordinates arrive as floats.
    cells = VILLAGE.split(",")
    book.active.append([*cells[:8], 27.66, 102.92])
    book.save(tmp_path / "villages.xlsx")
    assert load_csv(session, tmp_path / "villages.xlsx") == 1
    assert directory.by_code(session, "513429-107-01").lat == pytest.approx(27.66)


def row_with(base: str, **changes: str) -> str:
    cells = dict(zip(COLUMNS, base.split(","), strict=True))
    cells.update(changes)
    return ",".join(cells[c] for c in COLUMNS)


BAD_ROWS = [
    (row_with(VILLAGE, level="hamlet"), "level 应为 county/township/village"),
    (row_with(VILLAGE, parent_code=""), "缺少 parent_code"),
    (row_with(VILLAGE, parent_code="513429-999"), "上级 513429-999 不存在"),
    (row_with(VILLAGE, parent_code="513429"), "上级 513429 是县（市）中心"),
    (row_with(TOWN, code="513429-108", parent_code="513429-107"), "乡镇（街道）站的上级应为县"),
    (row_with(COUNTY, code="513430", parent_code="513429"), "县（市）中心不填 parent_code"),
    (row_with(VILLAGE, lat="北纬27度"), "lat/lon 应为数字"),
    (row_with(VILLAGE, lat="102.92", lon="27.66"), "坐标不在中国境内"),
    (row_with(VILLAGE, lat="nan", lon="nan"), "坐标不在中国境内"),
    (row_with(VILLAGE, lon=""), "lat 和 lon 要么都填"),
    (row_with(VILLAGE, phone="12345"), "电话应为手机号，或带区号的座机号"),
    (row_with(VILLAGE, phone="1390000010"), "电话应为手机号，或带区号的座机号"),
    (row_with(VILLAGE, name=""), "name 不能为空"),
    (row_with(VILLAGE, code="513429/107/01"), "code 只能含字母、数字"),
    (row_with(VILLAGE, code="5" * 33), "code 超过 32 个字符"),
    (row_with(TOWN, name="重复的九都镇"), "code 513429-107 与第 4 行重复"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_ROWS)
def test_a_bad_row_fails_the_whole_import_naming_file_line_and_reason(
    session, tmp_path, bad, reason
):
    # Comment lines count: the bad row is on line 6 as an editor shows it.
    path = write(tmp_path, "# 示例", HEADER, COUNTY, TOWN, "# 村站", bad)
    with pytest.raises(ImportFailed) as failed:
        import_file(session, path)
    [problem] = failed.value.problems
    assert (problem.file, problem.line) == ("stations.csv", 6)
    assert reason in problem.reason
    assert f"stations.csv:6: {problem.reason}" in str(failed.value)
    session.rollback()
    assert station_count(session) == 0


def test_every_bad_row_is_listed_at_once(session, tmp_path):
    path = write(
        tmp_path,
        HEADER,
        row_with(COUNTY, phone="abc"),
        TOWN,
        row_with(VILLAGE, level="村"),
        row_with(VILLAGE, code="513429-107-02", lat="91", lon="102"),
    )
    with pytest.raises(ImportFailed) as failed:
        import_file(session, path)
    assert [p.line for p in failed.value.problems] == [2, 4, 5]
    assert station_count(session) == 0


def test_an_existing_station_cannot_change_level(session, tmp_path):
    load_csv(session, write(tmp_path, HEADER, COUNTY, TOWN, VILLAGE))
    session.commit()
    as_town = row_with(VILLAGE, level="township", parent_code="513429")
    with pytest.raises(ImportFailed, match="已是村（社区）站，不能改为乡镇"):
        import_file(session, write(tmp_path, HEADER, as_town, name="b.csv"))
    session.rollback()
    assert directory.by_code(session, "513429-107-01").level == "village"


def test_a_file_without_the_columns_is_refused_on_its_header_line(session, tmp_path):
    path = write(tmp_path, "code,name,level", "513429,布拖县,county")
    with pytest.raises(ImportFailed) as failed:
        import_file(session, path)
    [problem] = failed.value.problems
    assert problem.line == 1
    assert "parent_code" in problem.reason and "lon" in problem.reason
