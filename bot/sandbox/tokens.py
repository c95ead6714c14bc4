"""The emulator's access tokens: cgi-bin/stable_token as WeChat answers it, and the token check.

WeChat's rules (service docs, api_getstableaccesstoken; docs/wechat.md, "Access tokens"):
- normal mode returns the current token while it has more than 5 minutes left, and a new
  one in its last 5 minutes, the old one still working until it expires;
- force_refresh=true invalidates every earlier token and returns a new one, but a force
  less than 30 s after the last refresh refreshes nothing (the current token comes back);
- force_refresh is limited to 20 calls a day (45009 after that);
- a token past its 7200 s answers 42001, one never issued or invalidated 40001.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, jsonify, request

from bot.clock import SHANGHAI

TOKEN_SECONDS = 7200
RENEW_BEFORE_SECONDS = 5 * 60
FORCE_GAP_SECONDS = 30
FORCES_PER_DAY = 20


def _day(moment: float):
    return datetime.fromtimestamp(moment, SHANGHAI).date()


@dataclass
class TokenBook:
    """The account's stable tokens: which work until when, and every force_refresh call."""

    expiry: dict[str, float] = field(default_factory=dict)  # token -> when it stops working
    current: str | None = None
    force_calls: list[float] = field(default_factory=list)
    last_refresh: float | None = None  # the last force that did refresh
    forced: int = 0  # forces that invalidated the earlier tokens

    def refusal(self, token: str | None, now: float) -> tuple[int, str] | None:
        """The errcode a call carrying token gets, or None when the token works."""
        if token not in self.expiry:
            return 40001, "invalid credential, access_token is invalid or not latest"
        if self.expiry[token] <= now:
            return 42001, "access_token expired"
        return None

    def issue(self, force: bool, now: float) -> dict:
        """The answer to one stable_token call: access_token and expires_in, or an errcode."""
        if force:
            today = [t for t in self.force_calls if _day(t) == _day(now)]
            if len(today) >= FORCES_PER_DAY:
                return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
            self.force_calls.append(now)
            if self.last_refresh is None or now - self.last_refresh >= FORCE_GAP_SECONDS:
                self.expiry.clear()  # every earlier token stops working at once
                self.current = None
                self.last_refresh = now
                self.forced += 1
        current = self.current
        if current is None or self.expiry.get(current, 0) - now <= RENEW_BEFORE_SECONDS:
            # None, expired or in its last 5 minutes: a new one; the old works until it expires.
            current = secrets.token_urlsafe(24)
            self.expiry[current] = now + TOKEN_SECONDS
            self.current = current
        return {"access_token": current, "expires_in": int(self.expiry[current] - now)}

    def expire(self) -> None:
        """Invalidate every issued token, as WeChat does after 7200 s."""
        self.expiry.clear()
        self.current = None

    def age(self, seconds: float) -> None:
        """Move the book `seconds` into the past, as if that much time had gone by."""
        self.expiry = {t: at - seconds for t, at in self.expiry.items()}
        self.force_calls = [t - seconds for t in self.force_calls]
        if self.last_refresh is not None:
            self.last_refresh -= seconds

    def reset(self) -> None:
        """Forget every token and force, as a fresh account (between tests)."""
        self.expire()
        self.force_calls.clear()
        self.last_refresh = None
        self.forced = 0


def register(app: Flask, state, error) -> None:
    """Add cgi-bin/stable_token to the emulator app over a PlatformState (its tokens)."""

    @app.route("/cgi-bin/stable_token", methods=["POST"])
    def stable_token():
        body = request.get_json(force=True, silent=True) or {}
        if body.get("appid") != state.appid or body.get("secret") != state.secret:
            return error(40125, "invalid appsecret")
        with state.lock:
            state.token_fetches += 1
            answer = state.tokens.issue(body.get("force_refresh") is True, time.time())
        return jsonify(answer)
