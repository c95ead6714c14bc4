"""Fitting a listed reply into WeChat's 2,048 bytes (bot.dialogs.reply.fitted)."""

from __future__ import annotations

import pytest

from bot.dialogs.reply import MAX_BYTES, fitted


@pytest.mark.parametrize("count", [0, 3, 15, 60, 400])
def test_a_township_list_of_any_length_fits_and_keeps_its_numbering(app, count):
    labels = [f"阿尔拉则觉洛彝族乡{i}（木里藏族自治县）" for i in range(count)]
    with app.test_request_context():
        text = fitted("replies/station_choose_township.txt", "options", labels, note="", intro="")

    assert len(text.encode()) <= MAX_BYTES
    shown = [label for label in labels if label in text]
    assert shown == labels[: len(shown)]
    for number, label in enumerate(shown, 1):
        assert f"{number} {label}" in text
    if len(shown) < count:
        assert f"还有 {count - len(shown)} 个未列出" in text
    # As many as fit: not one more line's room is left.
    if len(shown) < count:
        next_line = f"{len(shown) + 1} {labels[len(shown)]}\n"
        assert len(text.encode()) + len(next_line.encode()) > MAX_BYTES
