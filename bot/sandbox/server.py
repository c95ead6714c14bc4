"""Serve a WSGI app on loopback in a background thread (the emulator, in tests and `run`)."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """Start a threaded server; port 0 picks a free one (see server.server_port)."""
    server = make_server(host, port, app, threaded=True)
    threading.Thread(
        target=server.serve_forever, name=f"wsgi:{server.server_port}", daemon=True
    ).start()
    return server
