"""Template fields: a mapping that cannot work stops the start; values fit their key's type."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.sandbox.templates import EXAMPLES, RULES, refusal
from bot.wechat.templates import TemplateConfigError, parse_fields, shape, spec

HELP = "number:character_string1,category:phrase2,station:thing3,time:time4"


def test_a_mapping_names_the_typed_keys_of_a_category_template():
    template = spec("help_request", "tpl-1", HELP)

    data = template.data(
        {
            "number": "QZ000042",
            "category": "就业创业",
            "station": "九都镇好谷村退役军人服务站（布拖县九都镇好谷村村委会）",
            "time": datetime(2026, 12, 1, 9, 5),
        }
    )

    assert data == {
        "character_string1": {"value": "QZ000042"},
        "phrase2": {"value": "就业创业"},
        "thing3": {"value": "九都镇好谷村退役军人服务站（布拖县九都…"},
        "time4": {"value": "2026年12月01日 09:05"},
    }
    assert refusal(EXAMPLES["sandbox-help"], data) is None


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        # Chinese text can never be ASCII only: every station name would be refused.
        ("station:character_string1", "station is Chinese text and cannot go in"),
        ("station:phrase2", "cannot go in phrase2"),
        ("number:phrase1", "number is an ASCII code"),
        ("count:character_string1", "no field 'count'"),
        ("number:keyword1", "closed historical library"),
        ("number:first", "not a category-template key"),
        ("number character_string1", "is not field:key"),
        ("number:thing1,category:thing1", "mapped twice"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_with_what_to_change(mapping, says):
    with pytest.raises(TemplateConfigError, match=says) as refused:
        parse_fields("help_request", mapping)

    assert "WECHAT_TEMPLATE_HELP_REQUEST_FIELDS" in str(refused.value)


def test_a_template_id_without_its_mapping_is_refused():
    with pytest.raises(TemplateConfigError, match="_FIELDS: required"):
        spec("care_reminder", "tpl-care", "")


@pytest.mark.parametrize(
    ("type_", "value", "shaped"),
    [
        ("thing", "好谷村\n退役军人服务站", "好谷村 退役军人服务站"),
        ("thing", "九" * 25, "九" * 19 + "…"),
        ("thing", "", "无"),
        ("thing", "发布失败🙂", "发布失败"),  # emoji are dropped by the platform anyway
        ("character_string", "QZ000042", "QZ000042"),
        ("character_string", "x" * 40, "x" * 32),
        ("phrase", "就业创业", "就业创业"),
        ("phrase", "权益保障与服务", "权益保障与"),
        ("number", 12, "12"),
        ("number", 0, "0"),
        ("name", "吉克 曲布", "吉克曲布"),
        ("phone_number", "0834-123 4567", "0834-123 4567"),
        ("time", datetime(2026, 8, 1, 17, 30), "2026年08月01日 17:30"),
        ("date", date(2026, 2, 17), "2026年02月17日"),
        ("date", datetime(2026, 2, 17, 9, 0), "2026年02月17日 09:00"),
        ("thing", datetime(2026, 2, 17, 9, 0), "2026-02-17 09:00"),
        ("amount", "12.5", "¥12.50"),
    ],
)
def test_values_are_shaped_to_what_their_type_accepts(type_, value, shaped):
    assert shape(type_, value) == shaped
    assert RULES[type_].fullmatch(shaped)  # and the emulated platform takes it
