"""gunicorn's settings for the web process: `gunicorn -c python:bot.gunicorn_conf bot.wsgi:app`.

The Procfile and `veteranbot run` both load it. Its one job beyond the
defaults: no log line may hold the query string of /wechat. WeChat signs the
URL (signature, timestamp, nonce, openid), and in plaintext mode that
signature does not cover the body, so a logged URL would let its reader post
messages as the follower until the timestamp goes stale. gunicorn writes the
full URL when a worker times out or a request fails ("Error handling request
POST /wechat?signature=…") and in the access log's %(r)s.

Its other job: a few slow clients must not hold anyone else's answer up.
A sync worker serves one connection at a time, so two clients trickling a
body tied both workers up for 30 s and ended in gunicorn's own 500. gthread
workers serve THREADS connections each, a body read waits at most
BODY_READ_SECONDS between packets (werkzeug then answers 400), and the worker
timeout only watches the worker's main loop, which never blocks on a client.
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


def pre_request(worker, req) -> None:
    """Bound the wait for each packet of the body: a client that stalls gets 400, not a thread."""
    worker.log.debug("%s %s", req.method, req.path)
    # gthread reads the body in a blocking thread with no timeout of its own;
    # the timeout turns werkzeug's read into ClientDisconnected (400).
    sock = getattr(req.unreader, "sock", None)  # HTTP/2 streams have none
    if sock is not None:
        sock.settimeout(BODY_READ_SECONDS)


def post_worker_init(_worker) -> None:
    """Filter the app's own handlers too (bot.wsgi sets them up as the worker loads it)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(DropSignedQueries())
    logging.getLogger("werkzeug").addFilter(DropSignedQueries())


# Per worker: the database pool (5 + 10 overflow) covers them all.
THREADS = 8
# WeChat posts a message of a few KiB in one go; 2 s between packets is generous.
BODY_READ_SECONDS = 2.0

logger_class = SafeLogger
worker_class = "gthread"
threads = THREADS
# gthread's worker timeout is a heartbeat of the main loop, not of requests.
timeout = 30
# An idle kept-alive connection waits in the poller, not in a thread; short anyway.
keepalive = 2
