"""Template-message fields: one line each, cut to what WeChat shows."""

from __future__ import annotations

from bot.wechat.templates import FIELD_CHARS, fields


def test_a_shown_field_is_one_line_of_at_most_twenty_characters():
    data = fields(keyword1="好谷村\n退役军人服务站", keyword2="九" * 25, keyword3="好谷村")

    assert data["keyword1"] == {"value": "好谷村 退役军人服务站"}
    assert data["keyword2"] == {"value": "九" * (FIELD_CHARS - 1) + "…"}
    assert data["keyword3"] == {"value": "好谷村"}


def test_first_and_remark_are_flattened_but_not_cut():
    remark = "困难、伤残的同志要上门走访，打电话不算。\n完整名单请在公众号回复“待走访”。"

    data = fields(first="好谷村8月联系提醒", remark=remark)

    assert data["first"] == {"value": "好谷村8月联系提醒"}
    assert data["remark"] == {"value": remark.replace("\n", " ")}
