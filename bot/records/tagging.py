"""Tagging registered veterans' WeChat followers, so pushes reach veterans and not the public."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.models import Follower, Veteran
from bot.models.stations import Station
from bot.records.directory import short_name
from bot.wechat.client import WeChatClient
from bot.wechat.errors import TOKEN_ERRORS, WeChatError
from bot.wechat.tags import NAME_BYTES

log = logging.getLogger(__name__)

VETERAN_TAG = "退役军人"
# 木里藏族自治县 → 木里县: an autonomous county's place name and its kind, without the
# peoples (one or more, as 双江拉祜族佤族布朗族傣族自治县), so that its tag fits in 30 bytes.
AUTONOMOUS = re.compile(r"^(?P<place>\w{2,}?)(?:\w{1,3}族)+自治(?P<kind>[县旗])$")


def county_tag_name(county_name: str, veteran_tag: str = VETERAN_TAG) -> str:
    """The county tag for a county centre's name: 布拖县退役军人, 木里县退役军人; ≤ 30 bytes.

    WeChat refuses longer tag names (45158), and 木里藏族自治县退役军人 is 33 bytes.
    A name still too long keeps its place name's first characters and its kind
    (县, 市); config holds VETERAN_TAG to 21 bytes, so three characters always fit.
    """
    place = short_name(county_name)
    if found := AUTONOMOUS.match(place):
        place = found["place"] + found["kind"]
    while len(f"{place}{veteran_tag}".encode()) > NAME_BYTES and len(place) > 1:
        place = place[:-2] + place[-1]
    return f"{place}{veteran_tag}"


def tag_names(station: Station, veteran_tag: str = VETERAN_TAG) -> list[str]:
    """The tags for a veteran of station: 退役军人, and one for the county (布拖县退役军人)."""
    names = [veteran_tag]
    county = station.ancestor("county")
    if county is not None:
        names.append(county_tag_name(county.name, veteran_tag))
    return names


def tag_veteran(
    session: Session, wechat: WeChatClient, veteran_id: int, veteran_tag: str = VETERAN_TAG
) -> list[str]:
    """Put the veteran's follower under their tags; return the names it now carries.

    A tag WeChat refuses for good (the account's 100 tags, the follower's 20) is
    logged and the other still applied; tagged_at is set once every tag is on.
    """
    veteran = session.get(Veteran, veteran_id)
    if veteran is None or not veteran.openid:
        return []  # a ledger file nobody has claimed on WeChat yet
    follower = session.get(Follower, veteran.openid)
    if follower is not None and not follower.subscribed:
        log.info("veteran %s has unfollowed; not tagged", veteran_id)
        return []
    names = tag_names(veteran.station, veteran_tag)
    tagged = []
    for name in names:
        # batchtagging is idempotent, so a retried task may safely tag again.
        try:
            refused = wechat.tag(name, [veteran.openid])
        except WeChatError as exc:
            if exc.transient or exc.errcode in TOKEN_ERRORS:
                raise
            log.warning("veteran %s not tagged %s: %s", veteran_id, name, exc.reason)
            continue
        if refused:
            log.warning("veteran %s not tagged %s: the follower has 20 tags", veteran_id, name)
            continue
        tagged.append(name)
    if follower is not None and tagged == names:
        follower.tagged_at = utcnow()
        session.commit()
    return tagged


def tag_pending(
    session: Session, wechat: WeChatClient, veteran_tag: str = VETERAN_TAG
) -> tuple[int, int]:
    """Tag every following veteran who does not carry all their tags yet: (now done, still not).

    For files registered while a tag could not be made (Muli's 33-byte county name,
    a full account) or imported after registration: one batch per tag, 50 a call.
    """
    rows = session.execute(
        select(Veteran, Follower)
        .join(Follower, Follower.openid == Veteran.openid)
        .where(Follower.subscribed.is_(True), Follower.tagged_at.is_(None))
    ).all()
    wanted = {follower.openid: tag_names(vet.station, veteran_tag) for vet, follower in rows}
    by_name: dict[str, list[str]] = {}
    for openid, names in wanted.items():
        for name in names:
            by_name.setdefault(name, []).append(openid)
    missed: set[str] = set()
    for name, openids in by_name.items():
        try:
            missed.update(wechat.tag(name, openids))
        except WeChatError as exc:
            if exc.transient or exc.errcode in TOKEN_ERRORS:
                raise
            log.warning("%s followers not tagged %s: %s", len(openids), name, exc.reason)
            missed.update(openids)
    done = [follower for _vet, follower in rows if follower.openid not in missed]
    for follower in done:
        follower.tagged_at = utcnow()
    session.commit()
    return len(done), len(rows) - len(done)
