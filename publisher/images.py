"""Images brought within WeChat's limits: JPG or PNG, small enough to upload.

A file already within the limits is sent as it is, byte for byte, so its
content hash (the upload cache key) stays stable; anything else is re-encoded
with Pillow, shrinking quality and then size until it fits.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# media/uploadimg: JPG/PNG "under 1 MB"; taken as decimal so the limit is never touched.
BODY_LIMIT = 1_000_000
# material/add_material?type=image: 10 MB; a cover never needs to be wider than a phone.
COVER_LIMIT = 10_000_000
COVER_WIDTH = 1080
# Re-encoded body images need no more than a phone's width at 2x either.
BODY_WIDTH = 1080
KEPT_FORMATS = {"JPEG": ".jpg", "PNG": ".png"}
QUALITIES = (85, 75, 65)
SCALES = (1.0, 0.75, 0.5, 0.35)


class ImageError(ValueError):
    """An image cannot be read or brought within WeChat's limits; str() is the reason."""


def for_body(path: Path) -> tuple[bytes, str]:
    """A body image as JPG/PNG bytes under 1 MB for media/uploadimg, with its filename."""
    return _fit(Path(path), BODY_LIMIT, None, BODY_WIDTH)


def for_cover(path: Path) -> tuple[bytes, str]:
    """A cover as JPG/PNG bytes within the image-material limit, at most 1080 px wide."""
    return _fit(Path(path), COVER_LIMIT, COVER_WIDTH, COVER_WIDTH)


def _fit(path: Path, limit: int, max_width: int | None, shrink_to: int) -> tuple[bytes, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path.name}：无法读取（{exc.strerror or exc}）") from exc
    try:
        image = Image.open(io.BytesIO(data))
        image.load()  # a truncated file opens fine and fails only here
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path.name}：像素太多，无法安全打开") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path.name}：不是可读的图片（应为 JPG 或 PNG）") from exc
    with image:
        fits = len(data) < limit and (max_width is None or image.width <= max_width)
        if image.format in KEPT_FORMATS and fits:
            return data, path.stem + KEPT_FORMATS[image.format]
        return _reencode(image, path, limit, shrink_to)


def _reencode(image: Image.Image, path: Path, limit: int, width: int) -> tuple[bytes, str]:
    image = ImageOps.exif_transpose(image)
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    for scale in SCALES:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        scaled = image if scale == 1.0 else image.resize(size, Image.LANCZOS)
        if transparent:
            # Keep transparency when PNG can; otherwise it goes onto white as JPEG.
            data = _encode(scaled.convert("RGBA"), "PNG", optimize=True)
            if len(data) < limit:
                return data, path.stem + ".png"
        flat = _on_white(scaled) if transparent else scaled.convert("RGB")
        for quality in QUALITIES:
            data = _encode(flat, "JPEG", quality=quality, optimize=True, progressive=True)
            if len(data) < limit:
                return data, path.stem + ".jpg"
    raise ImageError(f"{path.name}：无法压缩到 {limit / 1_000_000:g} MB 以下")


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGB", rgba.size, "white")
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()
