"""The veteran's rights over their file: 我的信息 (masked), 更正 and 删除我的信息.

更正 and 删除我的信息 open a case of that kind for the veteran's station;
staff act on it (the console, or `veteranbot veterans erase` for now), and
the veteran is told the outcome.
"""

from __future__ import annotations

from bot import db
from bot.crypto import cipher
from bot.dialogs import state
from bot.dialogs.cases import commit, make_desk
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.records import files
from bot.requests import rights
from bot.requests.wording import station_words

CONFIRM_DELETE = "确认删除"
MAX_TEXT = 500
NOT_REGISTERED = "您还没有登记，没有您的档案。要登记请回复“登记”。"


def show(turn: Turn) -> Reply:
    """我的信息: the follower's own file, with the ID and phone numbers masked."""
    veteran = files.by_openid(db.session(), turn.openid)
    if veteran is None:
        return Reply(NOT_REGISTERED)
    f = rights.my_file(cipher(), veteran)
    years = f"{f['enlist_year'] or '—'}–{f['discharge_year'] or '—'}"
    return Reply(
        "您的档案：\n"
        f"统一编号：{f['file_no']}\n姓名：{f['name']}\n性别：{f['gender']}"
        f"\n民族：{f['ethnicity'] or '—'}\n身份证号：{f['id_number']}\n手机：{f['phone'] or '—'}"
        f"\n服务站：{f['station']}\n服役：{years}\n类别：{f['category']}\n"
        "有错请回复“更正”；要删除您的信息请回复“删除我的信息”。"
    )


def start_correction(turn: Turn) -> Reply:
    """更正: ask what is wrong in the file."""
    if files.by_openid(db.session(), turn.openid) is None:
        return Reply(NOT_REGISTERED)
    state.save(turn.openid, {"dialog": "rights", "step": "correction"})
    return Reply("请说说档案里哪一项不对、应该改成什么（回复“取消”退出）：")


def start_deletion(turn: Turn) -> Reply:
    """删除我的信息: say what deletion means and ask for confirmation."""
    if files.by_openid(db.session(), turn.openid) is None:
        return Reply(NOT_REGISTERED)
    state.save(turn.openid, {"dialog": "rights", "step": "deletion"})
    return Reply(
        "删除后，您的姓名、身份证号、手机等个人信息会被清除，只保留不含个人信息的档案编号用于统计；"
        "之后再办事需要重新登记。\n"
        f"确定要删除，请回复“{CONFIRM_DELETE}”；不删除请回复“取消”："
    )


def step(turn: Turn, current: dict) -> Reply:
    """The answer to 更正's question, or 删除's confirmation."""
    session = db.session()
    veteran = files.by_openid(session, turn.openid)
    if veteran is None:
        state.clear(turn.openid)
        return Reply(NOT_REGISTERED)
    text = turn.text.strip()
    if current.get("step") == "deletion":
        if text != CONFIRM_DELETE:
            return Reply(f"要删除请回复“{CONFIRM_DELETE}”，不删除请回复“取消”：")
        kind, what = "删除", "删除我的信息"
    else:
        if len(text) < 2 or turn.has_location:
            return Reply("请用文字说说哪一项不对、应该改成什么（回复“取消”退出）：")
        kind, what = "更正", text[:MAX_TEXT]
    desk = make_desk()
    request, told = rights.open_rights_case(desk, veteran, turn.openid, kind, what)
    commit(desk)
    state.clear(turn.openid)
    station = station_words(veteran.station.name)
    return Reply(
        f"已提交{kind}申请，编号 {request.number}，由{station}办理，办好后会通知您。"
        + (
            ""
            if told
            else f"\n{station}目前还没有工作人员在线，着急请打电话：{veteran.station.phone}。"
        )
    )
