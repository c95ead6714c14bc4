"""Resized copies of a story's images for the website, named by content hash.

A variant's file name carries the source's hash and the width bucket, so a
rebuild finds it already written and skips the decode; changing the picture
changes the name, which also busts browser caches. A file that does not decode
whole (a truncated photo, an SVG renamed .jpg) is never copied: the page goes
without it and the build names it, as `content check` does.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

COVER_THUMB = 480  # index cards: two columns on a desktop, full width on a phone
PAGE_WIDTH = 960  # twice the text column, sharp on phone screens
_KEEP = {"JPEG": ".jpg", "PNG": ".png"}
UNREADABLE = "不是可读的图片，网站上未放出"


@dataclass(frozen=True)
class Variant:
    """One web-sized image: its file name beside the page and its pixel size (0 if unknown)."""

    name: str
    width: int
    height: int


@dataclass(frozen=True)
class _Probe:
    digest: str
    width: int
    height: int
    fmt: str | None  # None: Pillow cannot read it


@dataclass
class Assets:
    """Where a page's images go (None: only name them); which were written, used or skipped."""

    out_dir: Path | None
    written: list[Path] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)  # `source: reason`, for the build report
    ready: bool = False  # out_dir exists


def variant(source: Path, max_width: int, assets: Assets) -> Variant | None:
    """Name source scaled to at most max_width wide; write it beside the page unless present.

    None when the picture does not decode: the page must go without it.
    """
    probe = _probe(source)
    if probe.fmt is None:
        assets.skipped.add(f"{source}: {UNREADABLE}")
        return None
    ext = _KEEP.get(probe.fmt, source.suffix.lower())
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", source.stem).strip("-")[:40] or "img"
    name = f"{stem}-{probe.digest[:12]}-{max_width}{ext}"
    width, height = probe.width, probe.height
    if width > max_width:
        width, height = max_width, max(1, round(height * max_width / width))
    if assets.out_dir is not None and not (assets.out_dir / name).exists():
        if not assets.ready:
            assets.out_dir.mkdir(parents=True, exist_ok=True)
            assets.ready = True
        target = assets.out_dir / name
        if not _write(source, probe, max_width, (width, height), target):
            assets.skipped.add(f"{source}: {UNREADABLE}")
            return None
        assets.written.append(target)
    assets.used.add(name)
    return Variant(name, width, height)


# A process meets the same file twice per story (cover and thumbnail) and often
# the same picture in many stories (a station's photo). Remember each file's
# hash and size by inode, size and mtime (as make does), and each encoded
# variant by content hash, so each is read and encoded once per process.
_probed: dict[tuple[int, int, int, int], _Probe] = {}
_made: dict[tuple[str, int], Path] = {}


def _probe(source: Path) -> _Probe:
    st = source.stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _probed:
        return _probed[key]
    data = source.read_bytes()
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as img:
            # Browsers honour EXIF orientation, so the reported size must too.
            width, height = _oriented_size(img)
            probe = _Probe(digest, width, height, img.format)
    except (OSError, Image.DecompressionBombError):
        # `content check` refuses such a story; the site leaves the picture out
        # rather than fail every other story's page, or publish what is not a picture.
        probe = _Probe(digest, 0, 0, None)
    _probed[key] = probe
    return probe


def _write(source: Path, probe: _Probe, max_width: int, size, target: Path) -> bool:
    """Write the variant; False, with nothing written, when the picture does not decode."""
    earlier = _made.get((probe.digest, max_width))
    if earlier is not None and earlier.is_file():
        try:
            # Pages never change a file in place (new content, new name), so
            # sharing one inode is safe, and far cheaper than copying.
            os.link(earlier, target)
        except OSError:
            shutil.copyfile(earlier, target)
        return True
    tmp = target.with_name(target.name + ".tmp")
    data = source.read_bytes()
    try:
        _encode(data, probe, size, tmp)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # Truncated or corrupt after a good header; remembered, so the
        # thumbnail of the same cover does not decode it again.
        tmp.unlink(missing_ok=True)
        st = source.stat()
        _probed[(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)] = _Probe(
            probe.digest, 0, 0, None
        )
        return False
    tmp.replace(target)  # a reader never sees half an image
    _made[(probe.digest, max_width)] = target
    return True


def _encode(data: bytes, probe: _Probe, size: tuple[int, int], tmp: Path) -> None:
    with Image.open(io.BytesIO(data)) as img:
        if probe.fmt not in _KEEP or (img.size == size and _orientation(img) in (0, 1)):
            # Not ours to re-encode (a GIF keeps its frames), or already small
            # enough: published byte for byte, once it is known to decode whole.
            img.load()
            tmp.write_bytes(data)
            return
        turned = _orientation(img) in (5, 6, 7, 8)
        if probe.fmt == "JPEG":
            # Decoding at a reduced scale is several times faster for big photos.
            w, h = size[::-1] if turned else size
            img.draft("RGB", (w * 2, h * 2))
        img = ImageOps.exif_transpose(img)
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        if probe.fmt == "JPEG":
            img.convert("RGB").save(tmp, "JPEG", quality=82, progressive=True, optimize=True)
        else:
            img.save(tmp, "PNG", optimize=True)


def _orientation(img: Image.Image) -> int:
    return img.getexif().get(0x0112, 1)


def _oriented_size(img: Image.Image) -> tuple[int, int]:
    w, h = img.size
    return (h, w) if _orientation(img) in (5, 6, 7, 8) else (w, h)
