"""Explicit consent (PIPL Art. 29–30): the version of the text agreed to, and when."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.models import Consent, Follower

REGISTRATION = "registration"
# The wording lives in bot/templates/replies/registration_consent.txt. Bump this
# whenever that text changes what is collected, why or how it is protected, so
# each record says exactly which text a veteran agreed to.
TEXT_VERSIONS = {REGISTRATION: "registration-2026-11-v1"}


def record(session: Session, openid: str, purpose: str = REGISTRATION) -> Consent:
    """Record that a follower agreed to the current text for purpose (not committed)."""
    if session.get(Follower, openid) is None:
        session.add(Follower(openid=openid, subscribed=True))
        # The consent's foreign key needs the follower row written first.
        session.flush()
    row = Consent(openid=openid, purpose=purpose, text_version=TEXT_VERSIONS[purpose])
    session.add(row)
    return row
