"""Template messages: each notice's template, the mapping of our fields to its keys, the values.

Since 2023-05-04 WeChat drops `first`, `remark`, colours and emoji, and new
accounts can only add category templates (类目模板), whose keys are typed and
numbered per template: character_string1, thing2, phrase3, time4 … A value
that breaks its key's type, or a key the template lacks, is refused with 47003
(../shared/docs/wechat-platform.md, docs/wechat.md). So each notice is
configured as a template id plus a mapping from our fields to the template's
keys (WECHAT_TEMPLATE_HELP_REQUEST_FIELDS=number:character_string1,…), checked
at start-up, and every value is shaped to its key's type here, the one place
that does it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

ELLIPSIS = "…"
# Each type's longest value, in characters (the platform's table, docs/wechat.md).
LIMITS = {
    "thing": 20,
    "character_string": 32,
    "phrase": 5,
    "number": 32,
    "letter": 32,
    "name": 10,
    "phone_number": 17,
    "car_number": 8,
    "amount": 14,
    "time": 40,
    "date": 40,
}
KEY = re.compile(r"(?P<type>[a-z_]+?)(?P<n>[0-9]+)")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
PHONE = re.compile(r"[^0-9+\-() ]")
# What a value of ours is, and the key types that can carry it whatever it says.
# Chinese text can never be a character_string (ASCII only) or a phrase (≤ 5 汉字).
KINDS: dict[str, frozenset[str]] = {
    "code": frozenset({"character_string", "thing"}),  # ASCII ids: QZ000042
    "word": frozenset({"phrase", "thing"}),  # our own words of ≤ 5 汉字: 就业创业, 微信
    "text": frozenset({"thing"}),  # names and sentences: 好谷村, a reason
    "count": frozenset({"number", "thing", "character_string"}),
    "time": frozenset({"time", "date", "thing", "character_string"}),
    "date": frozenset({"date", "thing", "character_string"}),
}
KIND_NAMES = {
    "code": "an ASCII code",
    "word": "a Chinese word",
    "text": "Chinese text",
    "count": "a count",
    "time": "a date and time",
    "date": "a date",
}


@dataclass(frozen=True)
class Role:
    """One notice the bot sends: its setting, our fields (and their kinds), whether it is needed."""

    setting: str
    label: str  # for people: health, alarms
    fields: Mapping[str, str]
    needed: bool  # sent today: unset with a real account is refused by `veteranbot run`


ROLES: dict[str, Role] = {
    "help_request": Role(
        "WECHAT_TEMPLATE_HELP_REQUEST",
        "求助通知",
        {"number": "code", "category": "word", "station": "text", "time": "time"},
        needed=True,
    ),
    "editor_notice": Role(
        "WECHAT_TEMPLATE_EDITOR_NOTICE",
        "编辑通知",
        {"title": "text", "channel": "word", "reason": "text", "time": "time"},
        needed=True,
    ),
    "care_reminder": Role(
        "WECHAT_TEMPLATE_CARE_REMINDER",
        "走访提醒",
        {"station": "text", "task": "word", "count": "count", "date": "date"},
        needed=True,
    ),
    # The veteran's own notice of their case's progress (the case workflow sends it).
    "case_progress": Role(
        "WECHAT_TEMPLATE_CASE_PROGRESS",
        "办理进度通知",
        {"number": "code", "status": "word", "station": "text", "time": "time"},
        needed=False,
    ),
}


class TemplateConfigError(ValueError):
    """A field mapping that names no such field or key, or one that no value could satisfy."""


@dataclass(frozen=True)
class TemplateSpec:
    """A notice's template: its id (empty when unset) and which key carries each of our fields."""

    role: str
    template_id: str
    keys: tuple[tuple[str, str], ...]  # (our field, the template's key), in mapping order

    @property
    def label(self) -> str:
        """The notice's name for people."""
        return ROLES[self.role].label

    @property
    def setting(self) -> str:
        """The setting that holds the template id."""
        return ROLES[self.role].setting

    def data(self, values: Mapping[str, object]) -> dict:
        """message/template/send's data: each mapped field's value shaped to its key's type."""
        return {key: {"value": shape(key_type(key), values[field])} for field, key in self.keys}


def spec(role: str, template_id: str, mapping: str) -> TemplateSpec:
    """The role's template from its settings; TemplateConfigError names what cannot work."""
    setting = ROLES[role].setting
    template_id = (template_id or "").strip()
    if template_id and not (mapping or "").strip():
        example = ",".join(f"{f}:<key>" for f in ROLES[role].fields)
        raise TemplateConfigError(
            f"{setting}_FIELDS: required with {setting}: map our fields to the template's "
            f"keys as the MP console shows them ({example})"
        )
    keys = parse_fields(role, mapping) if (mapping or "").strip() else ()
    return TemplateSpec(role, template_id, keys)


def parse_fields(role: str, mapping: str) -> tuple[tuple[str, str], ...]:
    """Parse 'field:key,…' for role; TemplateConfigError when a field or key cannot work."""
    setting = f"{ROLES[role].setting}_FIELDS"
    fields = ROLES[role].fields
    pairs: list[tuple[str, str]] = []
    for part in mapping.split(","):
        field, sep, key = (s.strip() for s in part.partition(":"))
        if not part.strip():
            continue
        if not sep or not field or not key:
            raise TemplateConfigError(f"{setting}: '{part.strip()}' is not field:key")
        if field not in fields:
            raise TemplateConfigError(
                f"{setting}: no field '{field}'; the fields are {', '.join(fields)}"
            )
        kind, wanted = fields[field], key_type(key)
        if wanted not in LIMITS:
            raise TemplateConfigError(
                f"{setting}: '{key}' is not a category-template key (a type and its number, "
                f"such as thing3, as the MP console shows it; first, remark and keywordN "
                f"belong to the closed historical library)"
            )
        if wanted not in KINDS[kind]:
            fits = ", ".join(sorted(KINDS[kind]))
            raise TemplateConfigError(
                f"{setting}: {field} is {KIND_NAMES[kind]} and cannot go in {key} "
                f"({_RULES[wanted]}); map it to a key of type {fits}"
            )
        if any(f == field for f, _ in pairs) or any(k == key for _, k in pairs):
            raise TemplateConfigError(f"{setting}: {field} or {key} is mapped twice")
        pairs.append((field, key))
    if not pairs:
        raise TemplateConfigError(f"{setting}: map at least one field")
    return tuple(pairs)


def key_type(key: str) -> str:
    """A typed key's type (thing3 → thing); '' when the key is not type + number."""
    found = KEY.fullmatch(key)
    return found["type"] if found else ""


_RULES = {
    "thing": "at most 20 characters",
    "character_string": "at most 32 ASCII letters, digits and symbols",
    "phrase": "at most 5 Chinese characters",
    "number": "at most 32 digits",
    "letter": "at most 32 letters",
    "name": "at most 10 Chinese characters",
    "phone_number": "at most 17 digits and symbols",
    "car_number": "a plate number of at most 8 characters",
    "amount": "a currency sign and an amount",
    "time": "a 24-hour time, with a date before it",
    "date": "a date",
}

# Shown instead of an empty value, which the platform refuses ("data.xxx.value is empty").
_EMPTY = {"character_string": "-", "number": "0", "letter": "x", "phone_number": "-"}


def shape(type_: str, value: object) -> str:
    """The value as a key of this type accepts it: cut, formatted, never empty."""
    if type_ == "time":
        return _clock(value)
    if type_ == "date":
        return _day(value)
    if type_ == "amount":
        return _amount(value)
    text = one_line(_plain(value))
    if type_ == "character_string":
        text = text.encode("ascii", "ignore").decode()
    elif type_ in ("phrase", "name"):
        text = "".join(HAN.findall(text))
    elif type_ == "number":
        text = re.sub(r"[^0-9.]", "", text)
    elif type_ == "letter":
        text = re.sub(r"[^A-Za-z]", "", text)
    elif type_ == "phone_number":
        text = PHONE.sub("", text)
    text = text or _EMPTY.get(type_, "无")
    if type_ == "thing":
        return fit(text, LIMITS["thing"])
    return text[: LIMITS[type_]]


def one_line(value: object) -> str:
    """The value as text on one line, without control characters or emoji (which WeChat drops)."""
    kept = "".join(
        " " if ch in "\r\n\t" else ch
        for ch in str(value)
        if ch in "\r\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "So")
    )
    return " ".join(kept.split())


def fit(value: object, limit: int) -> str:
    """The value on one line, cut to limit characters with "…" when longer."""
    line = one_line(value)
    return line if len(line) <= limit else line[: limit - 1] + ELLIPSIS


def _plain(value: object) -> str:
    # A date or time in a thing or character_string key: the short ASCII form.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _clock(value: object) -> str:
    # "2019年10月1日 15:01" is the documented form; a date alone is refused (47003).
    if not isinstance(value, datetime):
        raise TypeError(f"a time key needs a datetime, not {type(value).__name__}")
    return f"{value.year}年{value.month:02d}月{value.day:02d}日 {value:%H:%M}"


def _day(value: object) -> str:
    if isinstance(value, datetime):
        return _clock(value)
    if not isinstance(value, date):
        raise TypeError(f"a date key needs a date, not {type(value).__name__}")
    return f"{value.year}年{value.month:02d}月{value.day:02d}日"


def _amount(value: object) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise TypeError(f"an amount key needs a number, not {value!r}") from None
    return f"¥{amount:.2f}"
