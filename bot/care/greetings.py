"""Holiday greetings: the dates set by hand, the texts, and who gets them.

A greeting is a mass text (message/mass/sendall, msgtype text) to the veterans'
tags, never is_to_all. Text rather than mpnews: a greeting is three lines and
needs no draft, cover or article page, and a text send consumes nothing that a
retry would have to recreate. When the account has county tags (布拖县退役军人,
made by bot.records.tagging) each county tag gets its own send carrying that county
centre's phone, and the all-veterans tag gets nothing, so each veteran receives
one message. bot.records.tagging always gives a veteran both tags, so the county tags
cover every registered veteran; only when no county tag exists does the greeting
go to the all-veterans tag (without a phone). The sending itself, exactly once
per occasion, year and tag, is in bot.care.greetings_send; the monthly mass quota
they share with the column in bot.care.quota; the year's plan in bot.care.plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.occasions import OCCASIONS, SetDates, merged_into
from bot.care.settings import CareSettings
from bot.models import Campaign, OccasionDate, Station
from bot.records.directory import short_name
from bot.records.tagging import county_tag_name

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


def set_dates(session: Session, settings: CareSettings) -> SetDates:
    """Dates set by hand: YI_NEW_YEAR, overridden by `greetings set-date` rows."""
    found = {("yi-new-year", y): d for y, d in settings.yi_new_year.items()}
    for row in session.scalars(select(OccasionDate)):
        found[(row.occasion, row.year)] = row.day
    return found


def store_date(session: Session, key: str, day: date) -> None:
    """Record the date the prefecture set for an occasion this year (replacing one set before)."""
    if not OCCASIONS[key].set_each_year:
        raise ValueError(f"{key} 的日期按历法计算，不能手工设定")
    row = session.scalar(
        select(OccasionDate).where(OccasionDate.occasion == key, OccasionDate.year == day.year)
    )
    if row is None:
        session.add(OccasionDate(occasion=key, year=day.year, day=day))
    else:
        row.day = day
    session.commit()


# -- what went out ---------------------------------------------------------------------


def sent_this_year(session: Session, year: int) -> set[str]:
    """Occasions with a campaign of year that went out (or may have)."""
    rows = session.scalars(
        select(Campaign.occasion).where(
            Campaign.year == year,
            # An undelivered send may still count against the month: WeChat took it.
            Campaign.state.in_(("sending", "sent", "finished", "undelivered")),
        )
    )
    return set(rows)


# -- texts and targets -------------------------------------------------------------------


@lru_cache(maxsize=8)
def _templates(content_dir: Path) -> Environment:
    # One environment per content folder: its loaders notice an edited template by mtime.
    own = content_dir / "greetings"
    loader = ChoiceLoader([FileSystemLoader(str(own)), FileSystemLoader(str(BUNDLED))])
    return Environment(loader=loader, undefined=StrictUndefined, autoescape=False)


def render_all(
    session: Session, settings: CareSettings, key: str, year: int, found: list[Target]
) -> list[str]:
    """The greeting text for each tag: the occasion's template with its county's phone."""
    keys = settings.occasions
    also = [o.name for o in merged_into(key, year, keys, set_dates(session, settings))]
    template = _templates(settings.content_dir).get_template(f"{key}.md")
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


def targets(session: Session, veteran_tag: str, tags: list[dict]) -> tuple[list[Target], list[str]]:
    """The tags a greeting goes to, from tags/get, and notes on who they leave out."""
    counties = {
        county_tag_name(s.name, veteran_tag): s
        for s in session.scalars(select(Station).where(Station.level == "county"))
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
