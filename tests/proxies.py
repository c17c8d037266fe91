"""Proxies for tests, on 127.0.0.1: a forwarding HTTP proxy and a SOCKS5 server.

Each records what it forwarded (``seen``) and forwards to loopback addresses only: a
request for any other host is refused, so a test can never reach the network through it.
"""

from __future__ import annotations

import base64
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Headers that concern one hop, not the request: never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)


def _pipe(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes (a tunnel)."""
    sockets = [one, other]
    while True:
        ready, _, _ = select.select(sockets, [], [], 10)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (other if sock is one else one).sendall(data)


class HttpProxy:
    """A forwarding HTTP proxy: absolute-URI requests and CONNECT tunnels; with ``auth``,
    other credentials get 407. It adds ``Via: 1.1 test-proxy`` to what it forwards."""

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
                    {"method": self.command, "target": self.path, "authorization": given}
                )
                if expected and given != expected:
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return False
                if host not in LOOPBACK:
                    self.send_error(403, "this proxy forwards to loopback only")
                    return False
                return True

            def do_CONNECT(self) -> None:
                host, _, port = self.path.rpartition(":")
                if not self._allowed(host):
                    return
                with socket.create_connection((host, int(port)), timeout=10) as upstream:
                    self.send_response(200, "Connection established")
                    self.end_headers()
                    _pipe(self.connection, upstream)
                self.close_connection = True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if not parts.hostname or not self._allowed(parts.hostname):
                    return
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                lines = [f"GET {path} HTTP/1.1"]
                lines += [
                    f"{name}: {value}"
                    for name, value in self.headers.items()
                    if name.lower() not in HOP_BY_HOP
                ]
                lines += ["Via: 1.1 test-proxy", "Connection: close"]
                with socket.create_connection(
                    (parts.hostname, parts.port or 80), timeout=10
                ) as upstream:
                    upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                    chunks = []
                    while data := upstream.recv(65536):
                        chunks.append(data)
                self.connection.sendall(b"".join(chunks))
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Socks5Proxy:
    """A SOCKS5 server (RFC 1928, CONNECT only; RFC 1929 username and password when
    ``auth`` is set); ``seen`` holds each CONNECT's destination."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.auth = auth
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the client went away")
            data += chunk
        return data

    def _handle(self, client: socket.socket) -> None:
        try:
            _version, count = self._read(client, 2)
            methods = self._read(client, count)
            user = None
            if self.auth:
                if 2 not in methods:
                    client.sendall(b"\x05\xff")
                    return
                client.sendall(b"\x05\x02")
                _sub, length = self._read(client, 2)
                user = self._read(client, length).decode()
                (length,) = self._read(client, 1)
                password = self._read(client, length).decode()
                if (user, password) != self.auth:
                    client.sendall(b"\x01\x01")
                    self.seen.append({"user": user, "refused": True})
                    return
                client.sendall(b"\x01\x00")
            else:
                client.sendall(b"\x05\x00")
            _version, command, _reserved, kind = self._read(client, 4)
            if kind == 1:
                host = socket.inet_ntoa(self._read(client, 4))
            elif kind == 3:
                (length,) = self._read(client, 1)
                host = self._read(client, length).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, self._read(client, 16))
            port = int.from_bytes(self._read(client, 2), "big")
            self.seen.append({"user": user, "command": command, "target": f"{host}:{port}"})
            if command != 1 or host not in LOOPBACK:
                client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed
                return
            with socket.create_connection((host, port), timeout=10) as upstream:
                client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + bytes(2))
                _pipe(client, upstream)
        except (ConnectionError, OSError):
            pass
        finally:
            client.close()

    def __enter__(self) -> Socks5Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(2)
        self.listener.close()
