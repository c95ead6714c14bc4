"""WeChat API errors, classified so callers know whether to retry."""

from __future__ import annotations

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Worth another try later: rate limits, system busy.
TRANSIENT_ERRORS = frozenset({-1, 45011, 45009})


class WeChatError(Exception):
    """An API call failed; errcode is WeChat's, or None for a transport failure."""

    def __init__(self, errcode: int | None, errmsg: str, path: str = ""):
        super().__init__(f"{path}: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path

    @property
    def transient(self) -> bool:
        """True when the same call may succeed later."""
        return self.errcode is None or self.errcode in TRANSIENT_ERRORS


class TokenError(WeChatError):
    """The access token was refused even after one refresh."""


class QuotaExceeded(WeChatError):
    """45009: the daily API quota is spent; stop and report rather than retry now."""


class Unsubscribed(WeChatError):
    """43004: the user has unfollowed the account."""


def classify(errcode: int, errmsg: str, path: str) -> WeChatError:
    """The typed error for a non-zero errcode."""
    cls = {45009: QuotaExceeded, 43004: Unsubscribed}.get(errcode)
    if errcode in TOKEN_ERRORS:
        cls = TokenError
    return (cls or WeChatError)(errcode, errmsg, path)
