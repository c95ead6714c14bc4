"""The WeChat API client: every call goes to WECHAT_API_BASE_URL with a shared token.

One access token serves every process (gunicorn workers, Celery worker and
beat). It lives in Redis and is refreshed under a Redis lock through
`cgi-bin/stable_token`, which, unlike `cgi-bin/token`, does not invalidate the
token other processes hold.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import redis
import requests
from flask import current_app

from bot import store
from bot.wechat import tags as user_tags
from bot.wechat.errors import TOKEN_ERRORS, WeChatError, classify

log = logging.getLogger(__name__)
TIMEOUT = (3, 10)
HTTP_POOL = 16
TOKEN_MARGIN = 300  # ask again when WeChat starts renewing: 5 minutes before expiry
# stable_token's force_refresh refreshes at most once per 30 s (and 20 times a day);
# one force per FORCE_GAP across every process (api_getstableaccesstoken; docs/wechat.md).
FORCE_GAP = 30
# A mass send repeated (same clientmsgid) within about a minute of the first is answered
# 45066, "retry later"; only a repeat after that gets 45065 with the first msg_id.
MASS_REPEAT_WAIT = timedelta(seconds=60)


class RetryLater(WeChatError):
    """A transient refusal that must not be retried before `wait` has passed."""

    def __init__(self, errcode: int, errmsg: str, path: str, wait: timedelta):
        super().__init__(errcode, errmsg, path)
        self.wait = wait


class WeChatClient:
    """A small client over the endpoints this project calls."""

    def __init__(self, base_url: str, appid: str, secret: str, r: redis.Redis):
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.redis = r
        self.http = requests.Session()
        # The outbox sends from a thread pool (bot.wechat.outbox); keep a connection per thread.
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=HTTP_POOL)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.token_key = f"wechat:token:{appid}"
        self.force_key = f"wechat:token:{appid}:forced"

    # -- token -------------------------------------------------------------
    def access_token(self, refused: str | None = None) -> str:
        """The shared token; fetched under a lock when missing or when `refused` was rejected.

        A refused token is first asked for again in normal mode, which costs nothing
        and returns the platform's current token (docs/wechat.md, "Access tokens").
        Only when that is the very token refused is a refresh forced, and never within
        FORCE_GAP seconds of another process's force.
        """
        token = self.redis.get(self.token_key)
        if token and token != refused:
            return token
        with self.redis.lock(f"{self.token_key}:lock", timeout=15, blocking_timeout=15):
            token = self.redis.get(self.token_key)
            if token and token != refused:  # another process refreshed while we waited
                return token
            data = self._stable_token(force=False)
            if refused is not None and data["access_token"] == refused:
                data = self._force_refresh(data)
            ttl = max(int(data.get("expires_in", 7200)) - TOKEN_MARGIN, 60)
            self.redis.set(self.token_key, data["access_token"], ex=ttl)
            return data["access_token"]

    def _force_refresh(self, current: dict) -> dict:
        """A forced new token, or `current` when a force went out less than FORCE_GAP ago.

        The mark (the time of the force) is set before the call, atomically across
        processes: a force whose answer was lost still counts, as it does for WeChat.
        """
        if not self.redis.set(self.force_key, f"{time.time():.3f}", nx=True, ex=FORCE_GAP):
            log.warning("wechat token refused again within %ss of a forced refresh", FORCE_GAP)
            return current
        log.warning("wechat still issues the refused token; forcing a refresh")
        return self._stable_token(force=True)

    def _stable_token(self, force: bool) -> dict:
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": force,
        }
        return self._send("POST", "cgi-bin/stable_token", json_body=body)

    # -- transport ---------------------------------------------------------
    def get(self, path: str, **params) -> dict:
        """GET an API path with the token; return the decoded JSON."""
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict | None = None, files=None, **params) -> dict:
        """POST JSON (or files) to an API path with the token; return the decoded JSON."""
        return self.call("POST", path, params=params, json_body=body, files=files)

    def call(self, method: str, path: str, params=None, json_body=None, files=None) -> dict:
        """Call once; on a token error refresh once and call once more, never looping."""
        token = self.access_token()
        try:
            return self._send(method, path, params, json_body, files, token)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("wechat token refused on %s (%s); refreshing once", path, exc.errcode)
        return self._send(method, path, params, json_body, files, self.access_token(refused=token))

    def _send(self, method, path, params=None, json_body=None, files=None, token=None) -> dict:
        query = dict(params or {})
        if token:
            query["access_token"] = token
        data = None
        headers = {}
        if json_body is not None:
            # WeChat wants UTF-8 JSON with Chinese left unescaped.
            data = json.dumps(json_body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            resp = self.http.request(
                method,
                f"{self.base_url}/{path}",
                params=query,
                data=data,
                files=files,
                headers=headers,
                timeout=TIMEOUT,
            )
            resp.raise_for_status()
            result = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise WeChatError(None, type(exc).__name__, path) from exc
        if result.get("errcode"):
            exc = classify(int(result["errcode"]), result.get("errmsg", ""), path)
            exc.body = result  # 45065 names the earlier mass send's msg_id
            raise exc
        return result

    # -- endpoints ---------------------------------------------------------
    def send_template(
        self, openid: str, template_id: str, data: dict, url: str = "", client_msg_id: str = ""
    ) -> dict:
        """Send a template message (service notice) to one follower.

        client_msg_id is the idempotency key: WeChat sends one message per openid
        and id within 10 minutes, so a repeat after a lost answer is harmless.
        """
        body = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self.post("cgi-bin/message/template/send", body)

    def send_text(self, openid: str, content: str) -> dict:
        """Send a customer-service text message (within the 48 h window)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return self.post("cgi-bin/message/custom/send", body)

    def tags(self) -> list[dict]:
        """Every user tag on the account."""
        return self.get("cgi-bin/tags/get").get("tags", [])

    def ensure_tag(self, name: str) -> int:
        """The id of the tag called name, created if missing (cached in Redis; bot.wechat.tags)."""
        return user_tags.tag_id(self, name)

    def tag_users(self, tag_id: int, openids: list[str]) -> list[str]:
        """Put followers under a tag id, 50 a call; the openids refused for carrying 20 tags."""
        return user_tags.batch(self, tag_id, openids)

    def tag(self, name: str, openids: list[str]) -> list[str]:
        """Put followers under the tag called name, recovering a stale or fresh id (45159)."""
        return user_tags.tag(self, name, openids)

    def create_menu(self, menu: dict) -> dict:
        """Install the custom menu."""
        return self.post("cgi-bin/menu/create", menu)

    def mass_send(self, tag_id: int, message: dict, clientmsgid: str) -> str | None:
        """message/mass/sendall to one tag (never to all): the msg_id, also of an earlier send.

        message carries msgtype and its content, e.g. {"msgtype": "text", "text":
        {"content": …}}. clientmsgid is the idempotency key: a repeat within 24 h
        sends nothing and WeChat answers 45065 naming the first send's msg_id,
        which is this send's outcome. None when WeChat names no msg_id.

        A repeat too soon after the first is answered 45066: RetryLater, to be
        retried (by a Celery countdown or a saved retry time, never a sleep here)
        no sooner than MASS_REPEAT_WAIT; that retry gets the 45065.
        """
        body = {"filter": {"is_to_all": False, "tag_id": tag_id}, **message}
        body["clientmsgid"] = clientmsgid
        try:
            answer = self.post("cgi-bin/message/mass/sendall", body)
        except WeChatError as exc:
            if exc.errcode == 45066:
                raise RetryLater(exc.errcode, exc.errmsg, exc.path, MASS_REPEAT_WAIT) from exc
            if exc.errcode != 45065:
                raise
            answer = getattr(exc, "body", None) or {}
        msg_id = answer.get("msg_id")
        return str(msg_id) if msg_id else None

    def download_media(self, media_id: str, timeout: float | tuple = TIMEOUT) -> tuple[bytes, str]:
        """media/get: a temporary media file's bytes and content type (a voice message's audio).

        The file comes back as it is; a refusal (40007 for an unknown or expired
        id, WeChat keeps temporary media 3 days) comes back as JSON, whatever
        the Content-Type says. A refused token is refreshed once, as call() does.
        """
        token = self.access_token()
        try:
            return self._fetch_media(media_id, token, timeout)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        return self._fetch_media(media_id, self.access_token(refused=token), timeout)

    def _fetch_media(self, media_id: str, token: str, timeout) -> tuple[bytes, str]:
        path = "cgi-bin/media/get"
        try:
            resp = self.http.get(
                f"{self.base_url}/{path}",
                params={"access_token": token, "media_id": media_id},
                timeout=timeout,
            )
            resp.raise_for_status()
        except requests.RequestException as exc:
            raise WeChatError(None, type(exc).__name__, path) from exc
        kind = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if kind in ("application/json", "text/plain") or resp.content[:1] == b"{":
            try:
                result = resp.json()
            except ValueError as exc:
                raise WeChatError(None, type(exc).__name__, path) from exc
            raise classify(int(result.get("errcode") or -1), result.get("errmsg", ""), path)
        return resp.content, kind


def client() -> WeChatClient:
    """The current app's client: one per app, so one per process, sharing one HTTP pool."""
    app = current_app._get_current_object()
    found = app.extensions.get("wechat")
    if found is None:
        # Two threads racing here each build one and one wins: both are equivalent.
        cfg = app.config
        found = WeChatClient(
            cfg["WECHAT_API_BASE_URL"],
            cfg["WECHAT_APP_ID"],
            cfg["WECHAT_APP_SECRET"],
            store.client(app),
        )
        app.extensions["wechat"] = found
    return found
