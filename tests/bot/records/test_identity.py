"""ID numbers (GB 11643) and mobile numbers: what is accepted, what is refused and why."""

from __future__ import annotations

from datetime import date

import pytest

from bot.records.identity import InvalidInput, check_char, normalize_mobile, parse_id_number
from tests.fixtures.factories import id_number

TODAY = date(2026, 11, 29)


def with_check(first17: str) -> str:
    return first17 + check_char(first17)


def test_the_check_character_follows_the_standard():
    # The worked example of GB 11643-1999.
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("raw", "born", "gender"),
    [
        (with_check("51342919850312123"), date(1985, 3, 12), "男"),
        (with_check("51342919900101124"), date(1990, 1, 1), "女"),
        ("11010519491231002x", date(1949, 12, 31), "女"),
        (" 110105 19491231 002X ", date(1949, 12, 31), "女"),
        # An unknown or retired region code is accepted: codes change.
        (with_check("51342519700707001"), date(1970, 7, 7), "男"),
    ],
)
def test_valid_id_numbers_give_birth_date_and_gender(raw, born, gender):
    parsed = parse_id_number(raw, today=TODAY)
    assert (parsed.birth_date, parsed.gender) == (born, gender)
    assert parsed.value == parsed.value.upper() and len(parsed.value) == 18


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002", "18位"),
        ("1101051949123100221", "18位"),
        ("11010519491231002A", "18位"),
        ("110105194912310021", "校验位"),
        (with_check("51342919850230123"), "出生日期"),
        (with_check("51342920261231123"), "出生日期"),
        (with_check("51342918991231123"), "出生日期"),
    ],
)
def test_invalid_id_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidInput, match=reason):
        parse_id_number(raw, today=TODAY)


def test_factory_id_numbers_are_valid():
    for seq in range(1, 40):
        assert parse_id_number(id_number(seq=seq)).gender == ("男" if seq % 2 else "女")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("139-1234-5678", "13912345678"),
        ("008619912345678", "19912345678"),
    ],
)
def test_mobile_numbers_are_normalised(raw, expected):
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["1391234567", "12912345678", "23912345678", "0834-8421234", ""])
def test_bad_mobile_numbers_are_refused(raw):
    with pytest.raises(InvalidInput, match="11位"):
        normalize_mobile(raw)
