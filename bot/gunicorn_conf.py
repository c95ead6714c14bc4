"""gunicorn's settings for the web process: `gunicorn -c python:bot.gunicorn_conf bot.wsgi:app`.

The Procfile and `veteranbot run` both load it. Its one job beyond the
defaults: no log line may hold the query string of /wechat. WeChat signs the
URL (signature, timestamp, nonce, openid), and in plaintext mode that
signature does not cover the body, so a logged URL would let its reader post
messages as the follower until the timestamp goes stale. gunicorn writes the
full URL when a worker times out or a request fails ("Error handling request
POST /wechat?signature=…") and in the access log's %(r)s.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

# The query string after any path ending in /wechat, and any query that holds a
# signature wherever it appears (an absolute URL, a proxy's rewrite).
_SIGNED_QUERY = re.compile(r"(/wechat/?)\?[^\s\"']*|\?[^\s\"']*signature=[^\s\"']*", re.I)
_DROPPED = "?[query dropped]"


def scrub(text: str) -> str:
    """The text with the query string of every /wechat URL (or signed URL) dropped."""
    return _SIGNED_QUERY.sub(lambda m: (m.group(1) or "") + _DROPPED, text)


class DropSignedQueries(logging.Filter):
    """Rewrites a record's message so it carries no signed query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the formatted message in place; never drops the record."""
        message = record.getMessage()
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


class SafeLogger(Logger):
    """gunicorn's logger, with /wechat's query string dropped from the error and access logs."""

    def setup(self, cfg) -> None:
        """Set gunicorn's handlers up, then filter every one of them."""
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(DropSignedQueries())

    def atoms(self, resp, req, environ, request_time) -> dict:
        """The access log's fields, with the query string of /wechat dropped from each."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: scrub(v) if isinstance(v, str) else v for k, v in atoms.items()}


def post_worker_init(_worker) -> None:
    """Filter the app's own handlers too (bot.wsgi sets them up as the worker loads it)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropSignedQueries())
    logging.getLogger("werkzeug").addFilter(DropSignedQueries())


logger_class = SafeLogger
