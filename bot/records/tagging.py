"""Tagging registered veterans' WeChat followers, so pushes reach veterans and not the public."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.models import Follower, Veteran
from bot.models.stations import Station
from bot.records.directory import short_name
from bot.wechat.client import WeChatClient

log = logging.getLogger(__name__)

VETERAN_TAG = "退役军人"


def tag_names(station: Station, veteran_tag: str = VETERAN_TAG) -> list[str]:
    """The tags for a veteran of station: 退役军人, and one for the county (布拖县退役军人)."""
    names = [veteran_tag]
    county = station.ancestor("county")
    if county is not None:
        names.append(f"{short_name(county.name)}{veteran_tag}")
    return names


def tag_veteran(
    session: Session, wechat: WeChatClient, veteran_id: int, veteran_tag: str = VETERAN_TAG
) -> list[str]:
    """Put the veteran's follower under their tags and note when; return the tag names."""
    veteran = session.get(Veteran, veteran_id)
    if veteran is None or not veteran.openid:
        return []  # a ledger file nobody has claimed on WeChat yet
    follower = session.get(Follower, veteran.openid)
    if follower is not None and not follower.subscribed:
        log.info("veteran %s has unfollowed; not tagged", veteran_id)
        return []
    names = tag_names(veteran.station, veteran_tag)
    for name in names:
        # batchtagging is idempotent, so a retried task may safely tag again.
        wechat.tag_users(wechat.ensure_tag(name), [veteran.openid])
    if follower is not None:
        follower.tagged_at = utcnow()
        session.commit()
    return names
