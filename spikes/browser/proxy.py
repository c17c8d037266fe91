"""A tiny forwarding HTTP proxy (stdlib, 127.0.0.1): absolute-URI requests and CONNECT.

It records what it forwarded (method, target, Proxy-Authorization) in ``Proxy.seen`` and
answers 407 when ``auth`` is set and the client sent other credentials. Only loopback
targets are forwarded: anything else is refused with 403.
"""

from __future__ import annotations

import base64
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailers",
    "transfer-encoding", "upgrade",
}


class Proxy:
    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        expected = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None
        )
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _allowed(self, host: str) -> bool:
                given = self.headers.get("Proxy-Authorization")
                proxy.seen.append(
                    {"method": self.command, "target": self.path, "proxy_authorization": given,
                     "headers": dict(self.headers)}
                )
                if expected and given != expected:
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="spike"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                if host not in ("127.0.0.1", "localhost", "::1"):
                    self.send_error(403, "the spike proxy forwards to loopback only")
                    return False
                return True

            def do_CONNECT(self) -> None:
                host, _, port = self.path.rpartition(":")
                if not self._allowed(host):
                    return
                upstream = socket.create_connection((host, int(port)), timeout=10)
                self.send_response(200, "Connection established")
                self.end_headers()
                sockets = [self.connection, upstream]
                while True:
                    ready, _, _ = select.select(sockets, [], [], 10)
                    if not ready:
                        break
                    for sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            upstream.close()
                            return
                        (upstream if sock is self.connection else self.connection).sendall(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if not parts.hostname or not self._allowed(parts.hostname):
                    return
                upstream = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                lines = [f"GET {path or '/'} HTTP/1.1"]
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        lines.append(f"{name}: {value}")
                lines.append("Via: 1.1 spike-proxy")
                lines.append("Connection: close")
                upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                chunks = []
                while data := upstream.recv(65536):
                    chunks.append(data)
                upstream.close()
                self.connection.sendall(b"".join(chunks))
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
