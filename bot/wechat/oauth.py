"""WeChat web authorisation (网页授权, OAuth2 snsapi_base): the authorize link, the code exchange.

A page opened inside WeChat learns who opened it without a password: it sends
the browser to WeChat's authorize page, which comes back to `redirect_uri` with a
one-time code, and the server trades the code (with the AppSecret) for the openid.
"""

from __future__ import annotations

from urllib.parse import quote

import requests

from bot.wechat.errors import WeChatError, classify

TIMEOUT = (3, 10)
EXCHANGE_PATH = "sns/oauth2/access_token"


def authorize_url(oauth_base: str, appid: str, redirect_uri: str, state: str) -> str:
    """The authorize link for snsapi_base, its parameters in the order WeChat insists on."""
    # WeChat matches the link against a fixed pattern: this order, redirect_uri encoded,
    # and the #wechat_redirect fragment.
    return (
        f"{oauth_base}/connect/oauth2/authorize?appid={appid}"
        f"&redirect_uri={quote(redirect_uri, safe='')}&response_type=code"
        f"&scope=snsapi_base&state={state}#wechat_redirect"
    )


def openid_for_code(api_base: str, appid: str, secret: str, code: str) -> str:
    """Trade a code for the openid of whoever authorised; WeChatError when WeChat refuses.

    A snapshot-page visitor (朋友圈快照页) gets a virtual openid that is nobody's:
    it is refused like a bad code.
    """
    params = {"appid": appid, "secret": secret, "code": code, "grant_type": "authorization_code"}
    try:
        answer = requests.get(f"{api_base}/{EXCHANGE_PATH}", params=params, timeout=TIMEOUT)
        answer.raise_for_status()
        body = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise WeChatError(None, type(exc).__name__, EXCHANGE_PATH) from exc
    if body.get("errcode"):
        raise classify(int(body["errcode"]), body.get("errmsg", ""), EXCHANGE_PATH)
    if body.get("is_snapshotuser") == 1 or not body.get("openid"):
        raise WeChatError(None, "snapshot user", EXCHANGE_PATH)
    return body["openid"]
