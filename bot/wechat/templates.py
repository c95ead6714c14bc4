"""Template-message data: the one builder of the fields message/template/send takes.

Since 2023-05 WeChat shows each field of a template message on one line, at most
20 characters, and no longer shows `first` and `remark`
(../shared/docs/wechat-platform.md). Every staff and editor notice builds its
data here, so what a field can hold is decided once. Keys are still the
historical first / keyword1…n / remark; switching to a category template's
typed keys (thing2, time4 …) is a change to this module.
"""

from __future__ import annotations

# Characters a field shows; longer values are cut to this, ending in "…".
FIELD_CHARS = 20
# Not shown by WeChat any more: kept whole (on one line) for templates and pages that still do.
UNSHOWN = frozenset({"first", "remark"})
ELLIPSIS = "…"


def one_line(value: object) -> str:
    """The value as text on one line: line breaks become single spaces."""
    return " ".join(part.strip() for part in str(value).splitlines() if part.strip())


def fit(value: object, limit: int = FIELD_CHARS) -> str:
    """The value on one line, cut to limit characters with "…" when longer."""
    line = one_line(value)
    return line if len(line) <= limit else line[: limit - 1] + ELLIPSIS


def fields(**values: object) -> dict:
    """Template data {"key": {"value": text}}: each shown field one line of at most 20 chars."""
    return {
        key: {"value": one_line(value) if key in UNSHOWN else fit(value)}
        for key, value in values.items()
    }
