"""WeChat API errors: one table of what each code means, for the code and for people.

Every caller asks this table (WeChatError.transient, .reason, explain()) rather
than keeping its own list. Kinds:

- transient: the same call may succeed in a little while; retry with backoff;
- permanent: it will not succeed today; stop, record the reason, tell a person;
- token: the access token was refused; the client refreshes it once (and a
  refusal after that is a configuration fault, not worth retrying).

45009 (the daily API quota) is permanent: the quota resets tomorrow, so every
retry within the day only burns calls the rest of the bot needs (stop and
report; the platform notes in ../shared/docs/wechat-platform.md).
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSIENT, PERMANENT, TOKEN = "transient", "permanent", "token"


@dataclass(frozen=True)
class Meaning:
    """What an errcode means: its kind and a short reason in plain Chinese for staff and editors."""

    kind: str
    reason: str


# Every code the project meets (calls, tests, the sandbox emulator). Unknown codes are permanent.
CODES: dict[int | None, Meaning] = {
    None: Meaning(TRANSIENT, "网络错误或超时，稍后重试"),  # no answer from WeChat at all
    -1: Meaning(TRANSIENT, "微信系统繁忙，稍后重试"),
    40001: Meaning(TOKEN, "接口凭证（access_token）无效"),
    40014: Meaning(TOKEN, "接口凭证（access_token）不合法"),
    42001: Meaning(TOKEN, "接口凭证（access_token）已过期"),
    40003: Meaning(PERMANENT, "收件人的 openid 无效"),
    40004: Meaning(PERMANENT, "不支持的媒体文件类型"),
    40005: Meaning(PERMANENT, "不支持的文件类型"),
    40007: Meaning(PERMANENT, "素材或草稿的 media_id 无效"),
    40009: Meaning(PERMANENT, "图片大小不符合要求"),
    40016: Meaning(PERMANENT, "菜单按钮数量不符合要求"),
    40032: Meaning(PERMANENT, "一次打标签的人数超过 50 人"),
    40035: Meaning(PERMANENT, "请求参数不合法"),
    40037: Meaning(PERMANENT, "模板 id 无效：公众号没有这个模板，请核对模板设置"),
    40125: Meaning(PERMANENT, "AppSecret 无效，请核对公众号配置"),
    # Web authorisation (bot/wechat/oauth.py): a code is good once, for 5 minutes.
    40002: Meaning(PERMANENT, "grant_type 不合法"),
    40013: Meaning(PERMANENT, "AppID 无效，请核对公众号配置"),
    40029: Meaning(PERMANENT, "授权 code 无效或已过期"),
    40163: Meaning(PERMANENT, "授权 code 已被使用"),
    41008: Meaning(PERMANENT, "缺少授权 code"),
    40164: Meaning(PERMANENT, "服务器 IP 不在公众号的 IP 白名单里"),
    40247: Meaning(PERMANENT, "历史模板库已停用，只能添加类目模板"),
    41005: Meaning(PERMANENT, "缺少媒体文件"),
    43004: Meaning(PERMANENT, "对方已取消关注公众号"),
    45002: Meaning(PERMANENT, "正文超过长度上限"),
    45003: Meaning(PERMANENT, "标题超过 32 字"),
    45004: Meaning(PERMANENT, "摘要超过 128 字"),
    45009: Meaning(PERMANENT, "接口调用已达今日上限，明天才恢复，今天不再重试"),
    45011: Meaning(TRANSIENT, "接口调用太频繁，稍后重试"),
    45015: Meaning(PERMANENT, "对方 48 小时内没有与公众号互动，不能发客服消息"),
    45047: Meaning(PERMANENT, "客服消息已达条数上限，需等对方再发消息"),
    45056: Meaning(PERMANENT, "公众号的标签已达 100 个上限"),
    45059: Meaning(PERMANENT, "粉丝身上的标签已达 20 个上限"),
    45065: Meaning(PERMANENT, "相同 clientmsgid 的群发 24 小时内已发过"),
    45066: Meaning(TRANSIENT, "相同 clientmsgid 的群发刚提交过，稍后重试"),
    45067: Meaning(PERMANENT, "clientmsgid 超过 64 字节"),
    45110: Meaning(PERMANENT, "作者名太长"),
    45157: Meaning(PERMANENT, "标签名已存在"),
    45158: Meaning(PERMANENT, "标签名超过 30 个字节"),
    45159: Meaning(PERMANENT, "标签 id 无效"),
    47003: Meaning(PERMANENT, "模板消息的字段不符合模板要求"),
    48001: Meaning(PERMANENT, "公众号没有此接口权限（未认证账号不能发布）"),
}
TOKEN_ERRORS = frozenset(code for code, m in CODES.items() if m.kind == TOKEN)


def meaning(errcode: int | None) -> Meaning | None:
    """The table's entry for errcode; None for a code the project does not know."""
    return CODES.get(errcode)


def kind(errcode: int | None) -> str:
    """transient, permanent or token; a code the project does not know is permanent."""
    known = meaning(errcode)
    return known.kind if known else PERMANENT


class WeChatError(Exception):
    """An API call failed; errcode is WeChat's, or None for a transport failure."""

    def __init__(self, errcode: int | None, errmsg: str, path: str = ""):
        super().__init__(f"{path}: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path

    @property
    def transient(self) -> bool:
        """True when the same call may succeed in a little while."""
        return kind(self.errcode) == TRANSIENT

    @property
    def explanation(self) -> str:
        """What went wrong, for people, without WeChat's code: the table's reason or its errmsg."""
        known = meaning(self.errcode)
        if known is None:
            return f"{self.path}: {self.errmsg}"
        # A transport failure has no code; what failed (ReadTimeout …) tells more.
        return f"{known.reason}（{self.errmsg}）" if self.errcode is None else known.reason

    @property
    def reason(self) -> str:
        """The explanation with WeChat's code in brackets, as staff and editors see it."""
        if self.errcode is None:
            return self.explanation
        return f"{self.explanation}（{self.errcode}）"


class TokenError(WeChatError):
    """The access token was refused even after one refresh."""


class QuotaExceeded(WeChatError):
    """45009: the daily API quota is spent; stop and report rather than retry today."""


class Unsubscribed(WeChatError):
    """43004: the user has unfollowed the account."""


def classify(errcode: int, errmsg: str, path: str) -> WeChatError:
    """The typed error for a non-zero errcode."""
    cls = {45009: QuotaExceeded, 43004: Unsubscribed}.get(errcode)
    if errcode in TOKEN_ERRORS:
        cls = TokenError
    return (cls or WeChatError)(errcode, errmsg, path)
