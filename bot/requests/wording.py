"""What the veteran is told of each step of their case, in plain words."""

from __future__ import annotations

from bot.records.directory import short_name

RATING_CHOICES = ("满意", "基本满意", "不满意")


def station_words(name: str) -> str:
    """好谷村服务站, from 好谷村退役军人服务站."""
    return short_name(name) + "服务站"


def accepted(number: str, station: str) -> str:
    return f"您的求助 {number} 已由{station}签收，工作人员会尽快办理。"


def replied(number: str, station: str, text: str) -> str:
    return f"{station}回复您的求助 {number}：\n{text}"


def asked(number: str, station: str, question: str) -> str:
    return (
        f"{station}办理您的求助 {number} 时，想请您补充：\n{question}\n"
        "请直接回复补充内容，打字或说话都可以。"
    )


def resolved(number: str, station: str, answer: str) -> str:
    return (
        f"您的求助 {number} 已由{station}办结。\n办理结果：{answer}\n"
        "请为这次服务评价，点一下或回复数字：1 满意　2 基本满意　3 不满意"
    )


def transferred(number: str, station: str) -> str:
    return f"您的求助 {number} 已转到{station}办理。"


def escalated(number: str, station: str) -> str:
    return f"您的求助 {number} 已转到{station}督办，会有人尽快跟进。"


def erased(file_no: str) -> str:
    return f"您的个人信息已按您的要求删除（档案编号 {file_no} 只留作统计，不再含有您的信息）。"
