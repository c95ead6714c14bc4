"""Parsing of ID numbers (GB 11643) and mobile numbers, with reasons in Chinese."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot import clock

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")
MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")
# The youngest age at which anyone enlists: registration and the ledger import
# both refuse birth dates and enlistment years that would make a veteran younger.
YOUNGEST_ENLISTMENT_AGE = 16


class InvalidInput(ValueError):
    """A value a person typed is not acceptable; str() explains why, in Chinese."""


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    gender: str


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str, today: date | None = None) -> IdNumber:
    """Validate an 18-character ID number and derive birth date and gender."""
    value = raw.strip().replace(" ", "").upper()
    if not ID_PATTERN.match(value):
        raise InvalidInput("身份证号应为18位，前17位是数字，最后一位是数字或X")
    if check_char(value[:17]) != value[17]:
        raise InvalidInput("身份证号校验位不对，请核对后重新输入")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidInput("身份证号里的出生日期不存在，请核对") from None
    if born > (today or clock.today()) or born.year < 1900:
        raise InvalidInput("身份证号里的出生日期不对，请核对")
    gender = "男" if int(value[16]) % 2 else "女"
    return IdNumber(value, born, gender)


def normalize_mobile(raw: str) -> str:
    """Strip +86, spaces and dashes; return the 11-digit mobile number or raise."""
    value = re.sub(r"[\s\-]", "", raw.strip())
    value = value.removeprefix("+86").removeprefix("0086")
    if not MOBILE_PATTERN.match(value):
        raise InvalidInput("手机号应为11位，以1开头")
    return value
