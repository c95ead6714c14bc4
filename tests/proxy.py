"""A TCP proxy that tests can cut and restore, to make a real server "go away"."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from urllib.parse import urlparse


class CuttableProxy:
    """Listens on a loopback port and relays to an upstream TCP or unix-socket server."""

    def __init__(self, upstream: str):
        parsed = urlparse(upstream)
        if parsed.scheme == "unix":
            self.family, self.address = socket.AF_UNIX, parsed.path
        else:
            self.family, self.address = socket.AF_INET, (parsed.hostname, parsed.port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> int:
        """Accept connections (again) on the same port; return the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self.port

    def cut(self) -> None:
        """Stop listening and drop every open connection, as a crashed server would."""
        with self._lock:
            conns, self._conns = self._conns, []
            listener, self._listener = self._listener, None
        for sock in [*conns, listener]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(self.family, socket.SOCK_STREAM)
            upstream.connect(self.address)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in sel.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            for sock in (a, b):
                sock.close()
