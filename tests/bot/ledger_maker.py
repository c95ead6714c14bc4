"""Makes valid ledger rows and files (CSV or XLSX), so each test states only what matters."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from bot.records.exports import LEDGER_COLUMNS
from bot.records.imports.station_import import load_csv

SAMPLE = Path(__file__).resolve().parents[2] / "content" / "stations" / "butuo-sample.csv"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(born: str = "19900101", seq: str = "011", region: str = "513429") -> str:
    """A valid GB 11643 number (odd seq: a man, even: a woman), computed here independently."""
    first17 = region + born + seq
    return (
        first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]
    )


def ledger_row(**cells: str) -> dict[str, str]:
    """A good ledger row for a man at 好谷村, with the given cells changed."""
    row = {
        "统一编号": "",
        "姓名": "吉克阿木",
        "性别": "男",
        "民族": "彝族",
        "身份证号": id_number(),
        "手机号": "13900001234",
        "服务站": "513429-107-01",
        "入伍年份": "2008",
        "退役年份": "2013",
        "类别": "退役士兵",
        "登记时间": "",
    }
    row.update(cells)
    return row


def write_ledger(path: Path, rows: list[dict]) -> Path:
    """Write rows under the ledger header: XLSX, or CSV with a BOM (as Excel saves it)."""
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(list(LEDGER_COLUMNS))
        for row in rows:
            sheet.append([row[c] for c in LEDGER_COLUMNS])
        book.save(path)
        return path
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LEDGER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def load_sample(session) -> None:
    """The shipped Butuo/Jiudu sample directory, committed."""
    load_csv(session, SAMPLE)
    session.commit()
