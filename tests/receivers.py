"""Real local receivers for alert tests: an HTTP webhook endpoint and an SMTP server."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One POST as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class WebhookReceiver:
    """An HTTP server on 127.0.0.1 answering POSTs as told: a status, or a delay first."""

    answers: list[int | tuple[str, float]] = field(default_factory=list)  # consumed in order
    default: int = 200
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.requests.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                answer: int | tuple[str, float] = (
                    receiver.answers.pop(0) if receiver.answers else receiver.default
                )
                if isinstance(answer, tuple):  # ("sleep", seconds), then the default
                    time.sleep(answer[1])
                    answer = receiver.default
                if receiver.delay:
                    time.sleep(receiver.delay)
                text = b"ok" if 200 <= answer < 300 else b"nope"
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1: collects the messages it accepts; can be stopped and restarted."""

    def __init__(
        self, port: int | None = None, reject: Callable[[Any], str | None] | None = None
    ) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # the bytes as received, before parsing
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject = reject
        self.controller: Any = None

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        server = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                if server.reject is not None:
                    answer = server.reject(envelope)
                    if answer:
                        return answer
                server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                server.raw.append(envelope.original_content)
                message = message_from_bytes(envelope.original_content, policy=policy.default)
                server.messages.append(message)  # type: ignore[arg-type]
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class RedirectingReceiver:
    """An HTTP server that answers every POST with a redirect (``status``, Location:
    /landed) and a GET of /landed with 200: a client that follows the redirect re-sends
    the POST as a GET without its body and sees a 200 for a delivery that never came."""

    status: int = 301
    posts: list[Received] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                self.send_response(receiver.status)
                self.send_header("Location", f"{receiver.base}/landed")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                receiver.gets.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def url(self) -> str:
        return f"{self.base}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowReceiver:
    """A webhook receiver on a raw socket that reads each POST and then either never
    answers (``mode="hang"``) or answers one byte every ``interval`` seconds, without
    end (``mode="drip"``): a per-read timeout never fires on it."""

    def __init__(self, mode: str = "hang", interval: float = 1.0, *, smtp: bool = False) -> None:
        assert mode in ("hang", "drip")
        self.mode = mode
        self.interval = interval
        self.smtp = smtp  # speaks first, as an SMTP server does: its greeting hangs or drips
        self.requests: list[Received] = []
        self.stopped = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        connection.settimeout(5)
        data = b""
        try:
            if self.smtp:
                self.requests.append(Received("", {}, b"", time.monotonic()))
                self._answer(connection, b"220 " + b"a" * 100_000)
                return
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:])
            }
            while len(body) < int(headers.get("content-length", 0)):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                body += chunk
            self.requests.append(Received(lines[0].split(" ")[1], headers, body, time.monotonic()))
            self._answer(connection, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000)
        except OSError:
            return
        finally:
            connection.close()

    def _answer(self, connection: socket.socket, answer: bytes) -> None:
        if self.mode == "hang":
            self.stopped.wait()
            return
        for index in range(len(answer)):
            connection.sendall(answer[index : index + 1])
            if self.stopped.wait(self.interval):
                return

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.close()
