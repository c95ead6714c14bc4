"""Resized copies of a story's images for the website, named by content hash.

A variant's file name carries the source's hash and the width bucket, so a
rebuild finds it already written and skips the decode; changing the picture
changes the name, which also busts browser caches.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

COVER_THUMB = 480  # index cards: two columns on a desktop, full width on a phone
PAGE_WIDTH = 960  # twice the text column, sharp on phone screens
_KEEP = {"JPEG": ".jpg", "PNG": ".png"}


@dataclass(frozen=True)
class Variant:
    """One web-sized image: its file name beside the page and its pixel size."""

    name: str
    width: int
    height: int


@dataclass
class Assets:
    """Where a page's images go (None: only name them), and which were written or used."""

    out_dir: Path | None
    written: list[Path] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def variant(source: Path, max_width: int, assets: Assets) -> Variant:
    """Name source scaled to at most max_width wide; write it beside the page unless present."""
    data = source.read_bytes()
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()
    try:
        with Image.open(source) as img:
            # Browsers honour EXIF orientation, so the reported size must too.
            width, height = _oriented_size(img)
            fmt = img.format
    except (OSError, Image.DecompressionBombError):
        # `content check` refuses such a story; the site still builds, with the
        # file copied as it is, rather than failing every other story's page.
        width = height = 0
        fmt = None
    ext = _KEEP.get(fmt, source.suffix.lower())
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", source.stem).strip("-")[:40] or "img"
    name = f"{stem}-{digest[:12]}-{max_width}{ext}"
    if width > max_width:
        width, height = max_width, max(1, round(height * max_width / width))
    assets.used.add(name)
    if assets.out_dir is None:
        return Variant(name, width, height)
    target = assets.out_dir / name
    if not target.exists():
        assets.out_dir.mkdir(parents=True, exist_ok=True)
        _write(source, data, digest, max_width, (width, height), fmt, target)
        assets.written.append(target)
    return Variant(name, width, height)


# One process often meets the same picture many times (a station's logo, a
# shared photo); encode it once and copy the bytes afterwards.
_made: dict[tuple[str, int], Path] = {}


def _write(source, data, digest, max_width, size, fmt, target: Path) -> None:
    earlier = _made.get((digest, max_width))
    if earlier is not None and earlier.is_file():
        shutil.copyfile(earlier, target)
    else:
        try:
            _encode(source, data, size, fmt, target)
        except OSError:  # a truncated picture: publish it as it is, as above
            target.write_bytes(data)
        _made[(digest, max_width)] = target


def _encode(source: Path, data: bytes, size: tuple[int, int], fmt: str | None, target: Path):
    tmp = target.with_name(target.name + ".tmp")
    if fmt is None:
        tmp.write_bytes(data)
        tmp.replace(target)
        return
    with Image.open(source) as img:
        turned = _orientation(img) not in (0, 1)
        if fmt not in _KEEP or (img.size == size and not turned):
            tmp.write_bytes(data)  # already small enough (or not ours to re-encode)
        else:
            if fmt == "JPEG":
                # Decoding at a reduced scale is several times faster for big photos.
                w, h = size[::-1] if _orientation(img) in (5, 6, 7, 8) else size
                img.draft("RGB", (w * 2, h * 2))
            img = ImageOps.exif_transpose(img)
            img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
            if fmt == "JPEG":
                img.convert("RGB").save(tmp, "JPEG", quality=82, progressive=True, optimize=True)
            else:
                img.save(tmp, "PNG", optimize=True)
    tmp.replace(target)  # a reader never sees half an image


def _orientation(img: Image.Image) -> int:
    return img.getexif().get(0x0112, 1)


def _oriented_size(img: Image.Image) -> tuple[int, int]:
    w, h = img.size
    return (h, w) if _orientation(img) in (5, 6, 7, 8) else (w, h)
