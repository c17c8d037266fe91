"""Real local receivers for alert tests: an HTTP webhook endpoint and an SMTP server."""

from __future__ import annotations

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
