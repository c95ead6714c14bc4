"""veteranbot: the WeChat bot of Liangshan's veterans' service network."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import load_config, read_environment


def create_app(overrides: dict | None = None) -> Flask:
    """Build the Flask app: settings, database, Redis, Celery producer, views."""
    app = Flask(__name__)
    raw = read_environment()
    raw.update(overrides or {})
    app.config.update(load_config(raw))
    # WeChat never sends more than a few KiB; anything larger is refused with 413.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if proxies := app.config["TRUSTED_PROXIES"]:
        # Behind nginx the socket's peer is the proxy; rate limits and audit lines
        # need the client. Only as many X-Forwarded-For entries as there are
        # proxies of ours are believed: anything further left the client wrote.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    from bot import crypto, db, queue, store

    db.init_app(app)
    store.init_app(app)
    queue.init_app(app)
    app.extensions["cipher"] = crypto.FieldCipher(
        app.config["DATA_KEY"], app.config["DATA_KEY_PREVIOUS"]
    )

    from bot import console, health, notice_page
    from bot.column import preview, site_view
    from bot.dialogs import station
    from bot.requests import recording_view
    from bot.wechat import views

    station.init_app(app)  # the station-card cache and the commits that drop it

    # Browsers ask every host for /favicon.ico; the chat page, previews and the
    # column would otherwise log a 404 at each page view.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    views.init_app(app)  # /wechat, and its hooks on the app's sessions
    app.register_blueprint(health.bp)
    app.register_blueprint(notice_page.bp)  # /notice: what a notice's fields cannot hold
    app.register_blueprint(site_view.bp)
    app.register_blueprint(recording_view.bp)  # call-backs' recordings, behind signed links
    preview.init_app(app)  # /preview/, in SANDBOX mode only
    console.init_app(app)  # /console/, the staff console
    if app.config["SANDBOX"]:
        from bot.sandbox import chat

        app.register_blueprint(chat.bp)
    return app
