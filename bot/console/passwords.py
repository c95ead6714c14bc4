"""Desktop passwords: argon2 hashes, one-time links to set them, and the failed-login limits."""

from __future__ import annotations

import hashlib
import secrets

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.models import Staff

# argon2-cffi's defaults (RFC 9106's low-memory profile): about 50 ms on this machine.
_hasher = PasswordHasher()
# Verified when the login is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("no such account")
MIN_LENGTH = 10
LINK_SECONDS = 24 * 3600
# Failed sign-ins allowed per account and per address within the window.
ACCOUNT_LIMIT, ADDRESS_LIMIT, WINDOW_SECONDS = 5, 20, 15 * 60


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def check(member: Staff | None, password: str) -> bool:
    """Whether password is member's; constant work whether or not member exists."""
    stored = member.password_hash if member is not None and member.password_hash else _DUMMY
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return member is not None and member.password_hash is not None


def weak(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(set(password)) < 4:
        return "密码太简单"
    return None


# -- one-time links ----------------------------------------------------------------


def _link_key(token: str) -> str:
    # Only a digest is stored: someone reading Redis cannot use a pending link.
    return "console:password-link:" + hashlib.sha256(token.encode()).hexdigest()


def new_link(r: redis.Redis, staff_id: int) -> str:
    """A token for a one-time set-password link for this staff member, valid 24 hours."""
    token = secrets.token_urlsafe(32)
    r.set(_link_key(token), staff_id, ex=LINK_SECONDS)
    return token


def link_owner(r: redis.Redis, token: str) -> int | None:
    """The staff id a link is for, while it is unused and fresh."""
    found = r.get(_link_key(token))
    return int(found) if found else None


def use_link(r: redis.Redis, token: str) -> int | None:
    """Spend a link: the staff id it was for, or None when it was used or expired."""
    found = r.getdel(_link_key(token))
    return int(found) if found else None


# -- failed sign-ins ---------------------------------------------------------------


def _fail_keys(login: str, address: str) -> tuple[str, str]:
    return f"console:failed:login:{login.lower()}", f"console:failed:ip:{address}"


def locked(r: redis.Redis, login: str, address: str) -> bool:
    """True when this account or this address failed too often in the last 15 minutes."""
    by_login, by_address = r.mget(_fail_keys(login, address))
    return int(by_login or 0) >= ACCOUNT_LIMIT or int(by_address or 0) >= ADDRESS_LIMIT


def failed(r: redis.Redis, login: str, address: str) -> None:
    """Count one failed sign-in against the account and the address."""
    pipe = r.pipeline()
    for key in _fail_keys(login, address):
        # The window starts at the first failure (INCR keeps the expiry), so a steady
        # trickle cannot keep it open; SET NX rather than EXPIRE NX, which Redis 6 lacks.
        pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
        pipe.incr(key)
    pipe.execute()


def succeeded(r: redis.Redis, login: str) -> None:
    """Forget the account's failures (the address keeps its count)."""
    r.delete(_fail_keys(login, "")[0])
