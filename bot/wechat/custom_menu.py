"""The account's custom menu: what followers tap at the bottom of the chat."""

from __future__ import annotations

# WeChat allows 3 top buttons of up to 5 sub-buttons each. Registration and help
# requests are the things a veteran does, so they share one "办事" button; the
# station is one tap away; the showcase column opens the website.
# A phone shows 4 Chinese characters of a top button and 8 of a sub-button and
# cuts the rest to "..." (docs/wechat.md, "Menu"): "联系服务站" showed as "联系服务...".
BUSINESS = "办事"
STATION = "找服务站"


def layout(site_url: str) -> dict:
    """The menu/create body; click keys are those bot.dialogs.router.MENU_KEYS answers."""
    return {
        "button": [
            {
                "name": BUSINESS,
                "sub_button": [
                    {"type": "click", "name": "登记", "key": "REGISTER"},
                    {"type": "click", "name": "求助", "key": "HELP"},
                    {"type": "click", "name": "我的求助", "key": "MY_REQUESTS"},
                ],
            },
            {"type": "click", "name": STATION, "key": "STATION"},
            {"type": "view", "name": "风采录", "url": site_url.rstrip("/") + "/"},
        ]
    }


def click_keys(menu: dict) -> dict[str, str]:
    """Every click button's key, with the words it shows."""
    buttons = [b for top in menu["button"] for b in [top, *top.get("sub_button", [])]]
    return {b["key"]: b["name"] for b in buttons if b.get("type") == "click"}
