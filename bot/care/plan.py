"""`greetings plan`: the year's greetings, the mass sends per month, and what to merge or drop.

The per-month counts are bot.care.quota's, the same the column and the
greetings are refused by; this module only lays them out for the bureau.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy.orm import Session

from bot.care import greetings, quota
from bot.care.occasions import MERGES, OCCASIONS, PRIORITY, calendar
from bot.care.settings import CareSettings


def plan_lines(session: Session, settings: CareSettings, year: int) -> list[str]:
    """The year's greetings, the mass sends per month, quota warnings and what to merge or drop."""
    days, notes = calendar(year, settings.occasions, greetings.set_dates(session, settings))
    most = settings.mass_quota
    lines = [f"{d.isoformat()}  {o.key}  {o.name}" for d, o in days]
    lines += [f"注：{n}" for n in notes]
    by_month = quota.by_month(session, settings, year)
    months = {month: [s.label for s in sends] for (_, month), sends in by_month.items()}
    greeting_days: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for d, o in days:
        greeting_days[d.month].append((d, o.key))
    lines += ["", f"每月群发计划（每位关注者每月最多 {most} 次）："]
    for month, labels in months.items():
        n = len(labels)
        room = f"余 {most - n}" if n <= most else f"超 {n - most}"
        lines.append(f"{year}-{month:02d}  {n} 次（{room}）  {'、'.join(labels)}")
    over = [m for m in months if len(months[m]) > most]
    lines += [
        f"警告：{year}-{m:02d} 计划群发 {len(months[m])} 次，超过每月 {most} 次" for m in over
    ]
    # A full or nearly full month leaves the column (and any extra notice) no room.
    lines += [
        f"注意：{year}-{m:02d} 已排 {len(months[m])} 次，只剩 {most - len(months[m])} 次"
        "可给专栏群发或临时通知"
        for m in months
        if m not in over and len(months[m]) >= most - 1 and len(months[m]) > 1
    ]
    lines += _suggestions(year, greeting_days, months, over, most)
    return lines


def _suggestions(year, greeting_days, months, over, most) -> list[str]:
    by_key = {k: d for items in greeting_days.values() for d, k in items}
    tips, saved = [], defaultdict(int)
    merged = set()
    for absorbed, into, apart in MERGES:
        if absorbed in by_key and into in by_key:
            gap = abs((by_key[into] - by_key[absorbed]).days)
            if gap <= apart:
                merged.add(absorbed)
                saved[by_key[absorbed].month] += 1
                tips.append(
                    f"合并：{OCCASIONS[absorbed].name}（{by_key[absorbed]:%m-%d}）并入"
                    f"{OCCASIONS[into].name}（{by_key[into]:%m-%d}），相隔 {gap} 天："
                    f"从 GREETING_OCCASIONS 去掉 {absorbed}，{OCCASIONS[into].name}问候会一并提及"
                )
    for month in over:
        count = len(months[month]) - saved[month]
        # Lowest priority first; merged ones are already gone.
        left = sorted(
            (k for _, k in greeting_days[month] if k not in merged),
            key=PRIORITY.index,
            reverse=True,
        )
        while count > most and left:
            key = left.pop(0)
            count -= 1
            tips.append(f"删除：{year}-{month:02d} 去掉{OCCASIONS[key].name}（{key}，优先级最低）")
        if count > most:
            tips.append(f"{year}-{month:02d} 仍超额：请把该月专栏稿件改为 wechat.mode: publish")
    if not tips:
        return []
    return [
        "",
        "建议（优先级从高到低：" + "、".join(OCCASIONS[k].name for k in PRIORITY) + "）：",
    ] + [f"  {t}" for t in tips]
