"""Writing and removing the site's files so that a reader never meets half of one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_if_changed(path: Path, text: str) -> bool:
    """Write text to path unless it already holds exactly that; say whether it wrote."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False  # an unchanged file keeps its mtime, so caches and rsync skip it
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    # A name of this writer's own: a second build into the shared SITE_DIR (one whose
    # lock lapsed) must not write into, or rename away, this one's half-written file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic on POSIX: the web server serves the old page or the new one
    return True


def remove_files(out_dir: Path, stale: set[str]) -> list[str]:
    """Delete these files (relative to out_dir) and any folders they leave empty."""
    removed = []
    for rel in sorted(stale):
        path = out_dir / rel
        if path.is_file():
            path.unlink()
            removed.append(rel)
            parent = path.parent
            while parent != out_dir and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return removed
