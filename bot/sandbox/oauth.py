"""The emulator's web authorisation (网页授权, OAuth2): the authorize page and the code exchange.

WeChat serves `connect/oauth2/authorize` from open.weixin.qq.com inside its own
browser, where it knows who holds the phone; it redirects to the account's page
with a one-time `code`, which the server exchanges at `sns/oauth2/access_token`
(appid and secret, no access token) for the user's openid. The emulator keeps
the rules below (docs/wechat.md, "Web authorisation"); who holds the phone is a
cookie on the emulator's host, chosen on a small sandbox page when it is unset.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask import Flask, jsonify, make_response, redirect, render_template_string, request

# The paths that take no access token.
PATHS = ("connect/oauth2/authorize", "sns/oauth2/access_token")
# WeChat matches the authorize link's query against a fixed order of parameters.
PARAMETER_ORDER = ("appid", "redirect_uri", "response_type", "scope", "state")
SCOPES = ("snsapi_base", "snsapi_userinfo")
# "code只能使用一次，5分钟未被使用自动过期"
CODE_SECONDS = 5 * 60
STATE_RULE = re.compile(r"^[A-Za-z0-9]{0,128}$")
IDENTITY_COOKIE = "wx_sandbox_openid"
OPENID_RULE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class OAuthState:
    """What web authorisation knows: the account's authorised domains and the codes issued."""

    # 网页授权域名: host[:port] of every redirect_uri the account may use.
    domains: set[str] = field(default_factory=set)
    # code -> {"openid", "scope", "appid", "at", "used"}
    codes: dict[str, dict] = field(default_factory=dict)
    # The openid the chooser page suggests (the sandbox's staff identity).
    suggested_openid: str = ""
    # Users in 朋友圈快照页 mode get a virtual openid and is_snapshotuser: 1.
    snapshot_openids: set[str] = field(default_factory=set)

    def reset(self) -> None:
        """Forget every code, domain and snapshot user."""
        self.domains.clear()
        self.codes.clear()
        self.snapshot_openids.clear()
        self.suggested_openid = ""


ERROR_PAGE = """<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信授权</title><body style="font-family:sans-serif;padding:2em;text-align:center">
<p>{{ message }}</p>{% if code %}<p>错误码：<span id="errcode">{{ code }}</span></p>{% endif %}
</body>"""

CHOOSER_PAGE = """<!doctype html><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>沙盒：模拟微信</title><body style="font-family:sans-serif;padding:1.5em;max-width:28em">
<h1 style="font-size:1.2em">沙盒：模拟在微信里打开</h1>
<p>真实的微信知道是谁在用手机；沙盒请您选一个 openid（工作人员绑定时填的那个）。</p>
<form method="post" action="/_sandbox/oauth/identity">
<input type="hidden" name="back" value="{{ back }}">
<label>openid <input name="openid" value="{{ suggested }}" required
 pattern="[A-Za-z0-9_-]{1,64}"></label>
<button type="submit">以此身份继续</button></form></body>"""


def _page(message: str, code: int | None = None):
    return make_response(render_template_string(ERROR_PAGE, message=message, code=code), 200)


def register(app: Flask, platform, error) -> None:
    """Add the authorize page, the code exchange and the sandbox identity chooser."""
    oauth: OAuthState = platform.oauth

    @app.route("/connect/oauth2/authorize")
    def authorize():
        # WeChat shows an error page rather than redirecting when the link is wrong.
        names = [pair.split("=", 1)[0] for pair in request.query_string.decode().split("&") if pair]
        args = request.args
        if not args.get("appid"):
            return _page("appid 不能为空", 10012)
        if args["appid"] != platform.appid:
            return _page("appid 无效", 40013)
        if not args.get("redirect_uri"):
            return _page("redirect_uri 不能为空", 10011)
        if not args.get("scope"):
            return _page("scope 不能为空", 10010)
        known = [name for name in names if name in PARAMETER_ORDER]
        if known not in (list(PARAMETER_ORDER), list(PARAMETER_ORDER[:4])):
            # "微信会对授权链接做正则强匹配校验，如果链接的参数顺序不对，授权页面将无法正常访问"
            return _page("参数错误，请检查链接的参数顺序")
        target = urlsplit(args["redirect_uri"])
        if target.scheme not in ("http", "https") or target.netloc not in oauth.domains:
            return _page("redirect_uri 域名与后台配置不一致", 10003)
        if args.get("response_type") != "code":
            return _page("response_type 只能是 code")
        if args["scope"] not in SCOPES:
            return _page("此公众号并没有这些 scope 的权限", 10005)
        state = args.get("state", "")
        if not STATE_RULE.match(state):
            return _page("state 只能是 a-zA-Z0-9，最多 128 字节")
        openid = request.cookies.get(IDENTITY_COOKIE, "")
        if not OPENID_RULE.match(openid):
            back = request.full_path
            return render_template_string(CHOOSER_PAGE, back=back, suggested=oauth.suggested_openid)
        code = secrets.token_urlsafe(24)
        with platform.lock:
            oauth.codes[code] = {
                "openid": openid,
                "scope": args["scope"],
                "appid": platform.appid,
                "at": time.time(),
                "used": False,
            }
        glue = "&" if target.query else "?"
        return redirect(args["redirect_uri"] + glue + urlencode({"code": code, "state": state}))

    @app.route("/sns/oauth2/access_token")
    def access_token():
        args = request.args
        if args.get("appid") != platform.appid:
            return error(40013, "invalid appid")
        if args.get("secret") != platform.secret:
            return error(40125, "invalid appsecret")
        if not args.get("code"):
            return error(41008, "missing code")
        if args.get("grant_type") != "authorization_code":
            return error(40002, "invalid grant_type")
        with platform.lock:
            issued = oauth.codes.get(args["code"])
            if issued is None or time.time() - issued["at"] > CODE_SECONDS:
                return error(40029, "invalid code")
            if issued["used"]:
                return error(40163, "code been used")
            issued["used"] = True
        answer = {
            "access_token": secrets.token_urlsafe(32),
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(32),
            "openid": issued["openid"],
            "scope": issued["scope"],
        }
        if issued["openid"] in oauth.snapshot_openids:
            answer["is_snapshotuser"] = 1
        return jsonify(answer)

    @app.route("/_sandbox/oauth/identity", methods=["POST"])
    def sandbox_identity():
        """The sandbox's stand-in for the phone's owner: remember an openid, then go back."""
        openid = request.form.get("openid", "").strip()
        back = request.form.get("back", "")
        if not OPENID_RULE.match(openid) or not back.startswith("/connect/oauth2/authorize?"):
            return _page("openid 只含字母、数字、- 和 _")
        response = redirect(back)
        response.set_cookie(IDENTITY_COOKIE, openid, httponly=True, samesite="Lax")
        return response
