"""The inline-style theme of WeChat articles: short, phone-first, one accent colour.

WeChat keeps only style="" attributes, and inlined CSS inflates the body two to
three times against a 20,000-character limit, so the base font and colour sit
once on the wrapper and each element carries only what differs.
"""

from __future__ import annotations

ACCENT = "#a8322d"  # the bureau's red, for headings and rules
LINK = "#576b95"  # WeChat's own link blue, so references read as links

WRAPPER = "font-size:16px;line-height:1.75;color:#333;letter-spacing:.5px;word-break:break-word"

# Opening tag -> style, for every element the renderer emits.
STYLES = {
    "p": "margin:0 0 1em",
    "h1": f"font-size:20px;margin:1.5em 0 .8em;color:{ACCENT}",
    "h2": f"font-size:18px;margin:1.5em 0 .8em;padding-left:8px;border-left:4px solid {ACCENT}",
    "h3": "font-size:17px;margin:1.2em 0 .6em",
    "h4": "font-size:16px;margin:1em 0 .5em",
    "h5": "font-size:16px;margin:1em 0 .5em",
    "h6": "font-size:16px;margin:1em 0 .5em",
    "blockquote": "margin:0 0 1em;padding:.5em 1em;border-left:3px solid #c9a063;"
    "background:#faf6ee;color:#555",
    "ul": "margin:0 0 1em;padding-left:1.5em",
    "ol": "margin:0 0 1em;padding-left:1.5em",
    "li": "margin:.2em 0",
    "table": "width:100%;border-collapse:collapse;font-size:14px",
    "th": "border:1px solid #ddd;padding:4px 6px;background:#f5efe6",
    "td": "border:1px solid #ddd;padding:4px 6px",
    "img": "display:block;max-width:100%;height:auto;margin:0 auto",
    "hr": "border:0;border-top:1px solid #ddd;margin:1.5em 0",
    "code": "font-size:14px;background:#f5f5f5;padding:0 2px",
    "pre": "font-size:14px;background:#f5f5f5;padding:.5em;white-space:pre-wrap;margin:0 0 1em",
    "a": f"color:{LINK}",
}
NESTED_P = "margin:.3em 0"  # paragraphs inside quotes and list items
NESTED_LIST = "margin:0;padding-left:1.2em"
TABLE_FRAME = "overflow-x:auto;margin:0 0 1em"  # wide tables scroll instead of squeezing
FLAT_ITEM = "margin:.2em 0 .2em 1em"  # list items deeper than WeChat's two levels
REF_MARK = f"color:{LINK};font-size:12px"
REFS = "margin-top:2em;padding-top:.5em;border-top:1px solid #ddd;font-size:13px;color:#888;"
REFS += "word-break:break-all"
REFS_TITLE = "margin:0 0 .3em"
REF = "margin:0"
