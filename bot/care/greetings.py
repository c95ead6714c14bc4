"""Holiday greetings: the year's plan against the mass quota, the texts, and who gets them.

A greeting is a mass text (message/mass/sendall, msgtype text) to the veterans'
tags, never is_to_all. Text rather than mpnews: a greeting is three lines and
needs no draft, cover or article page, and a text send consumes nothing that a
retry would have to recreate. When the account has county tags (布拖县退役军人,
made by bot.records.tagging) each county tag gets its own send carrying that county
centre's phone, and the all-veterans tag gets nothing, so each veteran receives
one message. bot.records.tagging always gives a veteran both tags, so the county tags
cover every registered veteran; only when no county tag exists does the greeting
go to the all-veterans tag (without a phone). The sending itself, exactly once
per occasion, year and tag, is in bot.care.greetings_send.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from flask import current_app
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select

from bot import db
from bot.care.occasions import MERGES, OCCASIONS, PRIORITY, SetDates, calendar, merged_into
from bot.care.occasions import parse_set_dates as _parse
from bot.clock import SHANGHAI
from bot.models import Campaign, OccasionDate, Station
from bot.records.directory import short_name
from publisher.story import load_all

# The templates shipped as package data; CONTENT_DIR/greetings/<key>.md overrides one.
BUNDLED = Path(__file__).resolve().parent.parent / "templates" / "greetings"


@dataclass(frozen=True)
class Target:
    """One mass send of a greeting: a tag, and the county centre it speaks for."""

    tag_id: int
    tag_name: str
    county: str = ""
    phone: str = ""


# -- settings ----------------------------------------------------------------------------


def active_keys() -> tuple[str, ...]:
    """The occasions switched on in GREETING_OCCASIONS."""
    return tuple(current_app.config["GREETING_OCCASIONS"])


def set_dates() -> SetDates:
    """Dates set by hand: YI_NEW_YEAR, overridden by `greetings set-date` rows."""
    found = {("yi-new-year", y): d for y, d in _parse(current_app.config["YI_NEW_YEAR"]).items()}
    for row in db.session().scalars(select(OccasionDate)):
        found[(row.occasion, row.year)] = row.day
    return found


def greeting_time() -> time:
    """GREETING_TIME as a time of day (Asia/Shanghai)."""
    hh, mm = current_app.config["GREETING_TIME"].split(":")
    return time(int(hh), int(mm))


def store_date(key: str, day: date) -> None:
    """Record the date the prefecture set for an occasion this year (replacing one set before)."""
    if not OCCASIONS[key].set_each_year:
        raise ValueError(f"{key} 的日期按历法计算，不能手工设定")
    session = db.session()
    row = session.scalar(
        select(OccasionDate).where(OccasionDate.occasion == key, OccasionDate.year == day.year)
    )
    if row is None:
        session.add(OccasionDate(occasion=key, year=day.year, day=day))
    else:
        row.day = day
    session.commit()


# -- the plan ----------------------------------------------------------------------------


def column_mass(year: int) -> list[tuple[datetime, str]]:
    """The column's mass-send stories of year: (publish time, slug)."""
    stories = load_all(current_app.config["CONTENT_DIR"]).stories
    return [
        (s.publish_at, s.slug)
        for s in stories
        if s.wechat_mode == "mass" and s.publish_at.astimezone(SHANGHAI).year == year
    ]


def greeting_sends(year: int) -> list[tuple[datetime, str]]:
    """The active greetings of year as mass sends: (send time, occasion name)."""
    days, _notes = calendar(year, active_keys(), set_dates())
    at = greeting_time()
    return [(datetime.combine(day, at, SHANGHAI), occasion.name) for day, occasion in days]


def plan_lines(
    year: int,
    keys: tuple[str, ...],
    dates: SetDates,
    column: list[tuple[datetime, str]],
    quota: int,
) -> list[str]:
    """The year's greetings, the mass sends per month, quota warnings and what to merge or drop."""
    days, notes = calendar(year, keys, dates)
    lines = [f"{d.isoformat()}  {o.key}  {o.name}" for d, o in days]
    lines += [f"注：{n}" for n in notes]
    months: dict[int, list[str]] = defaultdict(list)
    greetings: dict[int, list[tuple[date, str]]] = defaultdict(list)
    for d, o in days:
        greetings[d.month].append((d, o.key))
        months[d.month].append(o.name)
    for at, slug in column:
        months[at.astimezone(SHANGHAI).month].append(f"专栏《{slug}》")
    lines += ["", f"每月群发计划（每位关注者每月最多 {quota} 次）："]
    for month in sorted(months):
        n = len(months[month])
        room = f"余 {quota - n}" if n <= quota else f"超 {n - quota}"
        lines.append(f"{year}-{month:02d}  {n} 次（{room}）  {'、'.join(months[month])}")
    over = [m for m in sorted(months) if len(months[m]) > quota]
    lines += [
        f"警告：{year}-{m:02d} 计划群发 {len(months[m])} 次，超过每月 {quota} 次" for m in over
    ]
    # A full or nearly full month leaves the column (and any extra notice) no room.
    lines += [
        f"注意：{year}-{m:02d} 已排 {len(months[m])} 次，只剩 {quota - len(months[m])} 次"
        "可给专栏群发或临时通知"
        for m in sorted(months)
        if m not in over and len(months[m]) >= quota - 1 and len(months[m]) > 1
    ]
    lines += _suggestions(year, keys, dates, greetings, months, over, quota)
    return lines


def _suggestions(year, keys, dates, greetings, months, over, quota) -> list[str]:
    by_key = {k: d for items in greetings.values() for d, k in items}
    tips, saved = [], defaultdict(int)
    merged = set()
    for absorbed, into, most in MERGES:
        if absorbed in by_key and into in by_key:
            gap = abs((by_key[into] - by_key[absorbed]).days)
            if gap <= most:
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
            (k for _, k in greetings[month] if k not in merged),
            key=PRIORITY.index,
            reverse=True,
        )
        while count > quota and left:
            key = left.pop(0)
            count -= 1
            tips.append(f"删除：{year}-{month:02d} 去掉{OCCASIONS[key].name}（{key}，优先级最低）")
        if count > quota:
            tips.append(f"{year}-{month:02d} 仍超额：请把该月专栏稿件改为 wechat.mode: publish")
    if not tips:
        return []
    return [
        "",
        "建议（优先级从高到低：" + "、".join(OCCASIONS[k].name for k in PRIORITY) + "）：",
    ] + [f"  {t}" for t in tips]


def quota_refusal(key: str, day: date, sent_keys: set[str]) -> str | None:
    """Why this greeting may not go out this month, or None.

    The month's mass sends in time order (active greetings at GREETING_TIME,
    greetings already sent, and the column's mass stories) take the quota
    first come, first served, as the column's own check does.
    """
    quota = current_app.config["MASS_QUOTA_PER_MONTH"]
    dates = set_dates()
    at = greeting_time()
    keys = tuple(dict.fromkeys((*active_keys(), *sent_keys)))
    plan = [
        (datetime.combine(d, at, SHANGHAI), o.key)
        for d, o in calendar(day.year, keys, dates)[0]
        if d.month == day.month and o.key != key
    ]
    plan.append((datetime.combine(day, at, SHANGHAI), key))
    plan += [
        (t, f"专栏《{slug}》")
        for t, slug in column_mass(day.year)
        if t.astimezone(SHANGHAI).month == day.month
    ]
    plan.sort()
    place = [k for _, k in plan].index(key) + 1
    if place <= quota:
        return None
    earlier = "、".join(OCCASIONS[k].name if k in OCCASIONS else k for _, k in plan[:quota])
    return f"群发额度不足：{day:%Y-%m} 每月最多群发 {quota} 次，已排 {earlier}"


def sent_this_year(year: int) -> set[str]:
    """Occasions with a campaign of year that went out (or may have)."""
    rows = db.session().scalars(
        select(Campaign.occasion).where(
            Campaign.year == year, Campaign.state.in_(("sending", "sent", "finished"))
        )
    )
    return set(rows)


# -- texts and targets -------------------------------------------------------------------


def _templates() -> Environment:
    own = Path(current_app.config["CONTENT_DIR"]) / "greetings"
    loader = ChoiceLoader([FileSystemLoader(str(own)), FileSystemLoader(str(BUNDLED))])
    return Environment(loader=loader, undefined=StrictUndefined, autoescape=False)


def render_all(key: str, year: int, found: list[Target]) -> list[str]:
    """The greeting text for each tag: the occasion's template with its county's phone."""
    also = [o.name for o in merged_into(key, year, active_keys(), set_dates())]
    template = _templates().get_template(f"{key}.md")
    texts = []
    for target in found:
        text = template.render(
            occasion=OCCASIONS[key].name,
            year=year,
            county=target.county,
            phone=target.phone,
            also=also,
        )
        texts.append("\n".join(line.strip() for line in text.strip().splitlines() if line.strip()))
    return texts


def targets(tags: list[dict]) -> tuple[list[Target], list[str]]:
    """The tags a greeting goes to, from tags/get, and notes on who they leave out."""
    veteran_tag = current_app.config["VETERAN_TAG"]
    counties = {
        f"{short_name(s.name)}{veteran_tag}": s
        for s in db.session().scalars(select(Station).where(Station.level == "county"))
    }
    county_tags = [t for t in tags if t["name"].endswith(veteran_tag) and t["name"] != veteran_tag]
    everyone = next((t for t in tags if t["name"] == veteran_tag), None)
    notes = []
    if not county_tags:
        if everyone is None:
            return [], [f"公众号还没有「{veteran_tag}」标签：没有已登记的退役军人可以发送"]
        return [Target(int(everyone["id"]), veteran_tag)], notes
    found = []
    for tag in sorted(county_tags, key=lambda t: int(t["id"])):
        station = counties.get(tag["name"])
        county = short_name(station.name) if station else tag["name"].removesuffix(veteran_tag)
        found.append(Target(int(tag["id"]), tag["name"], county, station.phone if station else ""))
    covered = sum(int(t.get("count", 0)) for t in county_tags)
    if everyone is not None and int(everyone.get("count", 0)) > covered:
        notes.append(
            f"「{veteran_tag}」有 {everyone.get('count')} 人，县标签共 {covered} 人："
            "差额的人没有县标签，这次收不到；请为他们补打县标签"
        )
    return found, notes


def clientmsgid(key: str, year: int, tag_id: int) -> str:
    """The mass send's idempotency key: the same for every attempt (≤ 64 bytes)."""
    return f"greet-{key}-{year}-{tag_id}"
