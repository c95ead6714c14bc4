"""The emulator's template messages: category templates, their typed keys, and template/send.

WeChat checks every value against its key's type and refuses a payload that
breaks one, or names a key the template lacks, with 47003; an unknown template
id is 40037. `first`, `remark` and colours are dropped, not refused (the
platform stopped showing them on 2023-05-04). The rules are the platform's
table (docs/wechat.md), written here apart from bot/wechat/templates.py on
purpose: the emulator must catch what the bot's shaping gets wrong.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from flask import jsonify, request

from bot.sandbox.platform import PlatformState


@dataclass(frozen=True)
class Template:
    """A category template of the account: its title and its keys with their labels."""

    title: str
    keys: dict[str, str]  # typed key -> the label a phone shows beside its value


# The category templates the sandbox account has added, as the MP console would list them;
# bot/config.py maps the sandbox's notices onto these keys.
EXAMPLES = {
    "sandbox-help": Template(
        "新求助提醒",
        {
            "character_string1": "求助编号",
            "phrase2": "求助类别",
            "thing3": "服务站",
            "time4": "提交时间",
        },
    ),
    "sandbox-editor-notice": Template(
        "稿件处理提醒", {"thing1": "稿件", "phrase2": "渠道", "thing3": "原因", "time4": "时间"}
    ),
    "sandbox-care-reminder": Template(
        "走访提醒", {"thing1": "服务站", "phrase2": "事项", "number3": "人数", "date4": "日期"}
    ),
    "sandbox-case-progress": Template(
        "办理进度通知",
        {
            "character_string1": "求助编号",
            "phrase2": "办理状态",
            "thing3": "服务站",
            "time4": "更新时间",
        },
    ),
}

_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_TIME = r"(?:\d{4}年)?(?:\d{1,2}月\d{1,2}日 ?)?\d{1,2}:\d{2}(?::\d{2})?"
_DATE = (
    r"(?:\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日|\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?)"
    r"(?: \d{1,2}:\d{2}(?::\d{2})?)?"
)
# The platform's rule for each type (the table in docs/wechat.md).
RULES: dict[str, re.Pattern] = {
    "thing": re.compile(r"[^\x00-\x1f\x7f]{1,20}"),
    "character_string": re.compile(r"[\x20-\x7e]{1,32}"),
    "phrase": re.compile(f"[{_HAN}]{{1,5}}"),
    "number": re.compile(r"(?=.{1,32}$)\d+(?:\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "name": re.compile(f"[{_HAN}·A-Za-z]{{1,10}}|[A-Za-z .·-]{{1,20}}"),
    "phone_number": re.compile(r"[0-9+\-() ]{1,17}"),
    "car_number": re.compile(f"[{_HAN}A-Z]?[A-Z0-9]{{1,6}}[{_HAN}A-Z0-9]?"),
    "amount": re.compile(r"[¥￥$]?\d{1,10}(?:\.\d{1,2})?元?"),
    "time": re.compile(f"{_TIME}(?:~{_TIME})?"),
    "date": re.compile(f"{_DATE}(?:~{_DATE})?"),
}
KEY = re.compile(r"([a-z_]+?)[0-9]+")
# Shown no more since 2023-05-04: accepted and dropped.
DROPPED_KEYS = ("first", "remark")


def refusal(template: Template, data: object) -> str | None:
    """Why WeChat would answer 47003 to this data, or None when every key is right."""
    if not isinstance(data, dict):
        return "argument invalid! data is not an object"
    for key in template.keys:
        value = data.get(key, {}).get("value") if isinstance(data.get(key), dict) else None
        if not isinstance(value, str) or not value:
            return f"argument invalid! data.{key}.value is empty"
        type_ = KEY.fullmatch(key)[1]
        if not RULES[type_].fullmatch(value):
            return f"argument invalid! data.{key}.value invalid"
    extra = sorted(set(data) - set(template.keys) - set(DROPPED_KEYS))
    if extra:
        return f"argument invalid! data.{extra[0]} is not a key of the template"
    return None


def register(app, state: PlatformState, error) -> None:
    """Add message/template/send to the emulator's app."""

    @app.route("/cgi-bin/message/template/send", methods=["POST"])
    def template_send():
        body = request.get_json(force=True)
        template = state.templates.get(body.get("template_id") or "")
        if template is None:
            return error(40037, "invalid template_id")
        data = body.get("data")
        if why := refusal(template, data):
            return error(47003, why)
        dropped = [k for k in DROPPED_KEYS if k in data]
        dropped += [f"{k}.color" for k, v in data.items() if "color" in v]
        dropped += [k for k in ("color", "topcolor") if k in body]
        client_msg_id = body.get("client_msg_id") or ""
        with state.lock:
            # A repeat within 10 minutes is not delivered again; it is answered as the
            # first send was (docs/wechat.md says why that reading).
            earlier = client_msg_id and state.earlier_template(
                body["touser"], client_msg_id, time.time()
            )
            item = earlier or state.deliver_template(
                body["touser"],
                client_msg_id,
                template_id=body["template_id"],
                title=template.title,
                data={k: {"value": data[k]["value"]} for k in template.keys},
                rows=[[label, data[key]["value"]] for key, label in template.keys.items()],
                dropped=dropped,
                url=body.get("url", ""),
            )
        return jsonify(errcode=0, errmsg="ok", msgid=item["msgid"])
