"""menu/create's rules, and the menu as a phone shows it.

WeChat's createCustomMenu page: 1 to 3 buttons with at most 5 sub-buttons each
(40016); a name is at most 16 bytes, a sub-button's at most 60 (40018, 40025);
and a phone shows "一级菜单最多4个汉字，二级菜单最多8个汉字，多出来的部分将会以“...”代替".
The byte limits refuse the call; the display limits are accepted and cut, so
the emulator keeps the menu as shown for tests and the chat page to compare.
"""

from __future__ import annotations

TOP_BYTES, SUB_BYTES = 16, 60
# Shown width in Chinese characters; a Latin letter or digit takes half of one.
TOP_SHOWN, SUB_SHOWN = 4, 8
ELLIPSIS = "..."


def fault(body: dict) -> tuple[int, str] | None:
    """The (errcode, errmsg) WeChat answers for this menu/create body, or None when valid."""
    buttons = body.get("button") or []
    if not 1 <= len(buttons) <= 3 or any(len(b.get("sub_button", [])) > 5 for b in buttons):
        return 40016, "invalid button size"
    for top in buttons:
        if not 0 < len(top.get("name", "").encode()) <= TOP_BYTES:
            return 40018, "invalid button name size"
        for sub in top.get("sub_button", []):
            if not 0 < len(sub.get("name", "").encode()) <= SUB_BYTES:
                return 40025, "invalid sub button name size"
    return None


def shown(name: str, limit: int) -> str:
    """The name as a phone shows it: cut to `limit` Chinese characters' width, then "..."."""
    width, kept = 0.0, []
    for ch in name:
        width += 0.5 if ch.isascii() else 1
        if width > limit:
            return "".join(kept) + ELLIPSIS
        kept.append(ch)
    return name


def as_shown(menu: dict) -> dict:
    """The menu with every name as a phone shows it."""
    return {
        "button": [
            {
                **top,
                "name": shown(top["name"], TOP_SHOWN),
                "sub_button": [
                    {**sub, "name": shown(sub["name"], SUB_SHOWN)}
                    for sub in top.get("sub_button", [])
                ],
            }
            for top in menu.get("button", [])
        ]
    }
