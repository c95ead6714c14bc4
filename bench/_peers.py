"""The two peers veteranbot's webhook is measured against, as gunicorn app factories.

gunicorn loads them as `_peers:werobot_app()` and `_peers:bare_app()` with
`--pythonpath bench`; the token comes from BENCH_TOKEN in the environment.
"""

from __future__ import annotations

import os

from flask import Flask, Response

# The ceiling: the smallest reply a WeChat webhook can give, with no signature
# check, no parsing and no storage.
FIXED_XML = (
    "<xml><ToUserName><![CDATA[bench]]></ToUserName>"
    "<FromUserName><![CDATA[gh_bench]]></FromUserName>"
    "<CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[ok]]></Content></xml>"
)


def werobot_app():
    """A minimal WeRoBot that echoes text, served through its own WSGI (bottle) app."""
    from werobot import WeRoBot

    # SESSION_STORAGE=False: otherwise WeRoBot reads and writes a SQLite session
    # file in the working directory on every message. Without it WeRoBot is the
    # faster (so the stricter) peer.
    robot = WeRoBot(token=os.environ["BENCH_TOKEN"], SESSION_STORAGE=False)

    @robot.text
    def echo(message):
        return message.content

    return robot.wsgi


def bare_app() -> Flask:
    """A bare Flask endpoint answering every POST /wechat with the same small XML."""
    app = Flask(__name__)

    @app.post("/wechat")
    def wechat() -> Response:
        return Response(FIXED_XML, mimetype="application/xml")

    return app
