"""Matching a follower's answer to one of a list of choices, by number or by name.

Older veterans answer "1", "１", "一", "四开镇", "四开" or "我在好谷村" for the
same thing, typed or spoken; all of these must land on the right choice.
"""

from __future__ import annotations

import re

from bot.records.directory import short_name

# Longer than this, a list is replaced by an example and the name must be typed:
# a numbered list of 292 townships helps nobody on a phone screen.
LIST_LIMIT = 15

PLACE_SUFFIXES = ("社区", "街道", "自治县", "县", "市", "镇", "乡", "村", "区")
CHINESE_DIGITS = dict(
    zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)
# Speech recognition writes digits of ID and phone numbers as characters; 幺 is
# how 1 is said in numbers.
SPOKEN_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")
# Fillers a spoken answer wraps around the number or name.
FILLERS = re.compile(r"^(第|选|我选|我在|在|是|我是)|(号|个|吧|的|。|，|！|\.|,|!)$")


def normalise(text: str) -> str:
    """Answer text without spaces, full-width digits or spoken fillers."""
    value = re.sub(r"\s+", "", text).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    previous = None
    while previous != value:
        previous, value = value, FILLERS.sub("", value)
    return value


def number(text: str) -> int | None:
    """The number an answer states ("3", "３", "第三个", "十二"), or None."""
    value = normalise(text)
    if value.isdigit():
        return int(value)
    if value and all(c in CHINESE_DIGITS or c == "十" for c in value):
        return _chinese_number(value)
    return None


def _chinese_number(value: str) -> int | None:
    if "十" not in value:
        # Read digit by digit, as speech recognition writes years: 二零零五.
        return int("".join(str(CHINESE_DIGITS[c]) for c in value))
    tens, _, ones = value.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return None
    return (CHINESE_DIGITS[tens] if tens else 1) * 10 + (CHINESE_DIGITS[ones] if ones else 0)


def core(name: str) -> str:
    """A place name without its administrative suffix: 九都镇 -> 九都, 好谷村 -> 好谷."""
    value = short_name(normalise(name))
    for suffix in PLACE_SUFFIXES:
        if value.endswith(suffix) and len(value) > len(suffix):
            return value.removesuffix(suffix)
    return value


def matches(text: str, names: list[str], numbered: bool = True) -> list[int]:
    """Indexes of the names an answer picks: one is a hit, several are ambiguous."""
    if numbered and (n := number(text)) is not None:
        return [n - 1] if 1 <= n <= len(names) else []
    said = core(text)
    if not said:
        return []
    cores = [core(n) for n in names]
    exact = [i for i, c in enumerate(cores) if c == said]
    if exact:
        return exact
    # "我在好谷村住" names 好谷; "帮扶" starts 帮扶解困. Two characters at least,
    # so a single stray character never picks a place.
    return [
        i
        for i, c in enumerate(cores)
        if (len(c) >= 2 and c in said) or (len(said) >= 2 and c.startswith(said))
    ]


def pick(text: str, names: list[str], numbered: bool = True) -> int | None:
    """The index of the one name an answer picks, or None when none or several match."""
    found = matches(text, names, numbered)
    return found[0] if len(found) == 1 else None
