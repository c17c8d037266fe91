"""Access control and response headers of ``monitor serve`` (ASGI middleware).

Every response carries a Content-Security-Policy: the application's own pages load only
its stylesheet and run no script at all; snapshots of captured pages have a stricter one
of their own (:data:`SNAPSHOT_CSP`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: The application's own pages: its stylesheet, images as data: URLs, frames of itself.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: A captured page: no script, nothing fetched from anywhere, in a sandbox of its own.
SNAPSHOT_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


class Secrets(Protocol):
    """What access control needs of the settings (:class:`monitor.web.app.WebSettings`)."""

    @property
    def token(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AccessControl:
    """Requires the token or password of the settings on every request, if set."""

    def __init__(self, app: ASGIApp, settings: Secrets) -> None:
        self.app = app
        self.secrets = [s.encode() for s in (settings.token, settings.password) if s]
        self.token = settings.token.encode() if settings.token else None

    def _allowed(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name != b"authorization":
                continue
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and self.token is not None:
                return hmac.compare_digest(credentials.strip(), self.token)
            if scheme.lower() == b"basic":
                try:
                    decoded = base64.b64decode(credentials.strip(), validate=True)
                except (binascii.Error, ValueError):
                    return False
                password = decoded.partition(b":")[2]
                return any(hmac.compare_digest(password, secret) for secret in self.secrets)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.secrets or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"www-authenticate", b'Basic realm="monitor", charset="UTF-8"'),
                    (b"content-security-policy", PAGE_CSP.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"authentication required\n"})


class SecurityHeaders:
    """Adds the page CSP (unless a route set its own), nosniff and no-referrer, and a
    ``Server-Timing`` header with the time the application took (benchmarks read it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                took = (time.perf_counter() - started) * 1000
                headers.append((b"server-timing", f"app;dur={took:.1f}".encode()))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if b"x-frame-options" not in names:
                    headers.append((b"x-frame-options", b"DENY"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
