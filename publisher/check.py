"""Everything WeChat would refuse, found before publishing: `path: field: reason`."""

from __future__ import annotations

from pathlib import Path

from publisher.images import ImageError, for_body, for_cover
from publisher.markdown import image_sources, is_external
from publisher.story import Fault, Story, load_all
from publisher.wechat_html import local_image, render_wechat

# draft/add: content "under 20,000 characters" (and 1 MB, which 20,000 characters never reach).
CONTENT_LIMIT = 20_000
# The length of a real media/uploadimg URL, so the length check counts what WeChat will get.
SAMPLE_IMAGE_URL = (
    "https://mmbiz.qpic.cn/mmbiz_jpg/"
    + "x" * 88
    + "/0?wx_fmt=jpeg&from=appmsg&tp=webp&wxfrom=5&wx_lazy=1&wx_co=1"
)


def check_story(story: Story) -> list[Fault]:
    """Every fault of a loaded story: cover, body images and the WeChat HTML's length."""
    where = str(story.source)
    faults: list[Fault] = []
    try:
        for_cover(story.cover)
    except ImageError as exc:
        faults.append(Fault(where, "cover", str(exc)))
    for src in dict.fromkeys(image_sources(story.body)):
        faults += _body_image(story, src, where)
    html = render_wechat(story, lambda path: SAMPLE_IMAGE_URL)
    if len(html) >= CONTENT_LIMIT:
        faults.append(
            Fault(
                where,
                "body",
                f"WeChat HTML is {len(html):,} characters, must stay under {CONTENT_LIMIT:,}",
            )
        )
    return faults


def check_all(content_dir: str | Path) -> tuple[list[Story], list[Fault]]:
    """The stories that pass every check, oldest first, and every fault of the others."""
    loaded = load_all(content_dir)
    good, faults = [], list(loaded.faults)
    for story in loaded.stories:
        found = check_story(story)
        faults += found
        if not found:
            good.append(story)
    return good, faults


def _body_image(story: Story, src: str, where: str) -> list[Fault]:
    if is_external(src):
        return [Fault(where, "body", f"image {src}: WeChat drops images from other sites")]
    path = local_image(story.folder, src)
    if path is None:
        return [Fault(where, "body", f"image {src}: must be a file in the story folder")]
    if not path.is_file():
        return [Fault(where, "body", f"image {src} not found beside index.md")]
    try:
        for_body(path)
    except ImageError as exc:
        return [Fault(where, "body", f"image {exc}")]
    return []
