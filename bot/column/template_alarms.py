"""Telling the editors (the account's administrators) that a notice's template is unusable.

An unset template id, or one WeChat refuses (47003, 40037), means people are
not told what they must be told: staff of new help requests, staff of their
reminders. The editors' channel (EDITOR_OPENIDS, through the outbox) hears of
it once a day per template and cause; the sweep asks every minute
(tasks/outbox.py), so a refusal is reported within about a minute.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session

from bot import clock
from bot.column.editors import tell_editors
from bot.column.settings import ColumnSettings
from bot.wechat.client import WeChatClient
from bot.wechat.errors import classify
from bot.wechat.templates import ROLES, TemplateSpec

log = logging.getLogger(__name__)
TITLE = "模板消息不可用"


def problems(
    specs: Mapping[str, TemplateSpec], refused: Mapping[str, dict]
) -> list[tuple[TemplateSpec, str, str]]:
    """(template, cause, what to tell) for each notice that cannot be sent now."""
    found = []
    for role, spec in specs.items():
        if not spec.template_id:
            if ROLES[role].needed:
                found.append((spec, "unset", f"{spec.label}发不出去：{spec.setting} 未设置"))
            continue
        fault = refused.get(spec.template_id)
        if fault:
            code = int(fault["code"])
            reason = classify(code, "", "").reason
            found.append(
                (
                    spec,
                    str(code),
                    f"{spec.label}被微信拒收（{code}：{reason}）。请在公众号后台核对模板 "
                    f"{spec.template_id} 的关键词，并按 README 设置 {spec.setting}_FIELDS。",
                )
            )
    return found


def tell(
    session: Session,
    wechat: WeChatClient,
    settings: ColumnSettings,
    specs: Mapping[str, TemplateSpec],
    refused: Mapping[str, dict],
) -> int:
    """Tell the editors of each unusable template, once a day each; how many notices were sent."""
    sent = 0
    editor = settings.editor_template
    for spec, cause, reason in problems(specs, refused):
        if spec.role == editor.role or not editor.template_id or not settings.editor_openids:
            continue  # nobody to tell through it: /healthz and the error log say it
        key = f"template:{clock.today().isoformat()}:{spec.role}:{cause}"
        sent += tell_editors(session, wechat, settings, TITLE, "模板", reason, key=key)
    return sent
