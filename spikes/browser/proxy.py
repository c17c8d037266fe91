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
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
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
                    {
                        "method": self.command,
                        "target": self.path,
                        "proxy_authorization": given,
                        "headers": dict(self.headers),
                    }
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


class Socks5:
    """A tiny SOCKS5 server (RFC 1928, CONNECT only; RFC 1929 username/password when
    ``auth`` is set). Loopback destinations only; records each CONNECT in ``seen``."""

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.auth = auth
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client went away")
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
                _v, ulen = self._read(client, 2)
                user = self._read(client, ulen).decode()
                (plen,) = self._read(client, 1)
                password = self._read(client, plen).decode()
                ok = (user, password) == self.auth
                client.sendall(b"\x01\x00" if ok else b"\x01\x01")
                if not ok:
                    self.seen.append({"user": user, "refused": "bad credentials"})
                    return
            else:
                client.sendall(b"\x05\x00")
            _v, command, _rsv, kind = self._read(client, 4)
            if kind == 1:
                host = socket.inet_ntoa(self._read(client, 4))
            elif kind == 3:
                (length,) = self._read(client, 1)
                host = self._read(client, length).decode()
            else:
                host = socket.inet_ntop(socket.AF_INET6, self._read(client, 16))
            port = int.from_bytes(self._read(client, 2), "big")
            self.seen.append({"user": user, "command": command, "target": f"{host}:{port}"})
            if command != 1 or host not in ("127.0.0.1", "localhost", "::1"):
                client.sendall(b"\x05\x02\x00\x01" + bytes(6))  # not allowed
                return
            upstream = socket.create_connection((host, port), timeout=10)
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + bytes(2))
            sockets = [client, upstream]
            while True:
                ready, _, _ = select.select(sockets, [], [], 10)
                if not ready:
                    break
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        upstream.close()
                        return
                    (upstream if sock is client else client).sendall(data)
        except (ConnectionError, OSError):
            pass
        finally:
            client.close()

    def __enter__(self) -> Socks5:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()
