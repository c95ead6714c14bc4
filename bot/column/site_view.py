"""GET /column/...: the built 风采录 website, straight from SITE_DIR.

The site is plain files (see publisher/site.py), so this only maps URLs to
them: a folder answers with its index.html, and a folder asked for without
its trailing slash is redirected, because the pages' links are relative.
"""

from __future__ import annotations

import os

from flask import Blueprint, abort, current_app, redirect, request, send_from_directory
from werkzeug.security import safe_join

bp = Blueprint("column", __name__, url_prefix="/column")


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
def serve(path: str):
    """A file of the site, a folder's index.html, or 404."""
    # Dotfiles (the build manifest) and half-written *.tmp files are not the site.
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") or p.endswith(".tmp") for p in parts):
        abort(404)
    root = os.path.abspath(current_app.config["SITE_DIR"])
    target = safe_join(root, *parts) if parts else root
    if target is None:
        abort(404)
    if os.path.isdir(target):
        if path and not path.endswith("/"):
            return redirect(f"{request.script_root}{request.path}/", code=308)
        parts.append("index.html")
    return send_from_directory(root, "/".join(parts))
