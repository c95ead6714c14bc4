"""Signed links from a notice to the page with what its fields cannot hold.

A template field shows 20 characters, so a reminder's names and a failure's
reason go behind the notice's link: PUBLIC_URL/notice?signature=<token>, the
token naming what to show, signed with SECRET_KEY and good for LINK_DAYS. The
token travels as `signature` because every log line drops a query that holds
one (bot/gunicorn_conf.py): a signed URL must never reach a log. The case
console will replace these pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeTimedSerializer

PATH = "/notice"
PARAM = "signature"
# Long enough for a reminder sent on the 1st to serve the whole month.
LINK_DAYS = 31
_SALT = "notice-link"


@dataclass(frozen=True)
class Links:
    """Makes and reads the signed links of notices."""

    base_url: str  # PUBLIC_URL, without a trailing slash
    secret: str  # SECRET_KEY

    @classmethod
    def from_config(cls, cfg: Mapping) -> Links:
        """The links of the app whose settings these are."""
        return cls(cfg["PUBLIC_URL"], cfg["SECRET_KEY"])

    def url(self, **payload: object) -> str:
        """The page's address for payload (small JSON values)."""
        token = self._serializer().dumps(payload)
        return f"{self.base_url}{PATH}?{urlencode({PARAM: token})}"

    def read(self, token: str) -> dict | None:
        """The payload a link carries; None when forged, altered or older than LINK_DAYS."""
        try:
            payload = self._serializer().loads(token, max_age=LINK_DAYS * 86400)
        except BadSignature:  # SignatureExpired is one too
            return None
        return payload if isinstance(payload, dict) else None

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=_SALT)
