"""Everything WeChat would refuse, found before publishing: `path: field: reason`."""

from __future__ import annotations

from collections.abc import Collection
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


BODY = "正文"  # the field of faults in the Markdown below the front matter


def check_story(story: Story, stations: Collection[str] | None = None) -> list[Fault]:
    """Every fault of a loaded story: station, cover, body images and the WeChat HTML's length.

    stations: the codes of the station directory. The story's station must be one
    of them; with None or an empty directory any code passes (the caller warns).
    """
    where = str(story.source)
    faults: list[Fault] = []
    if story.station and stations and story.station not in stations:
        reason = (
            f"服务站目录里没有编号 {story.station}，请核对"
            "（目录由 veteranbot stations import 导入）"
        )
        faults.append(Fault(where, "station", reason))
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
                BODY,
                f"微信正文 HTML 有 {len(html):,} 个字符，须少于 {CONTENT_LIMIT:,}，请删减",
            )
        )
    return faults


def check_all(
    content_dir: str | Path, stations: Collection[str] | None = None
) -> tuple[list[Story], list[Fault]]:
    """The stories that pass every check, oldest first, and every fault of the others."""
    loaded = load_all(content_dir)
    good, faults = [], list(loaded.faults)
    for story in loaded.stories:
        found = check_story(story, stations)
        faults += found
        if not found:
            good.append(story)
    return good, faults


def _body_image(story: Story, src: str, where: str) -> list[Fault]:
    if is_external(src):
        return [Fault(where, BODY, f"图片 {src}：微信不显示其他网站的图片，请把图片放进稿件目录")]
    path = local_image(story.folder, src)
    if path is None:
        return [Fault(where, BODY, f"图片 {src}：应为稿件目录里的文件")]
    if not path.is_file():
        return [Fault(where, BODY, f"找不到图片 {src}（应和 index.md 放在同一目录）")]
    try:
        for_body(path)
    except ImageError as exc:
        return [Fault(where, BODY, f"图片 {exc}")]
    return []
