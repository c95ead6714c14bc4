"""A maker of story folders in tmp_path: a valid story unless a test says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from PIL import Image

FRONT = {
    "title": "九都镇服务站的一天",
    "author": "州退役军人事务局",
    "digest": "走进布拖县九都镇退役军人服务站。",
    "publish_at": "2025-08-01 09:00",
    "cover": "cover.jpg",
    "station": "513429-107",
    "tags": ["布拖县", "九都镇"],
}
BODY = "九都镇服务站每天早上开门。\n\n![服务站](photo.png)\n"


def write_image(path: Path, size=(120, 60), fmt: str | None = None, noise: bool = False) -> Path:
    """A small picture (or, with noise, one that does not compress) at path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (168, 50, 45))
    image.save(path, fmt, **({"compress_level": 1} if noise else {}))
    return path


@pytest.fixture
def content_dir(tmp_path) -> Path:
    """CONTENT_DIR for the test (the same folder conftest's app_settings uses)."""
    return tmp_path / "content"


@pytest.fixture
def make_story(content_dir):
    """Write content/articles/<slug>/ with index.md, cover.jpg and photo.png; return the folder.

    Front-matter fields are replaced by keyword (None leaves one out); `body`
    replaces the Markdown; `text` replaces the whole index.md; `images=False`
    writes no pictures.
    """

    def make(
        slug: str = "jiudu",
        *,
        body: str = BODY,
        text: str | None = None,
        images: bool = True,
        **front,
    ) -> Path:
        folder = content_dir / "articles" / slug
        folder.mkdir(parents=True, exist_ok=True)
        if images:
            write_image(folder / "cover.jpg", (900, 383))
            write_image(folder / "photo.png")
        meta = {k: v for k, v in {**FRONT, **front}.items() if v is not None}
        if text is None:
            head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
            text = f"---\n{head}---\n{body}"
        (folder / "index.md").write_text(text, encoding="utf-8")
        return folder

    return make
