"""The web application of ``monitor serve``: routes, access control and response headers.

Bound to 127.0.0.1 it is open to whoever can reach the machine's loopback. Bound to any
other address it refuses to start unless a secret is set in the environment:

- ``MONITOR_WEB_TOKEN``: clients send ``Authorization: Bearer <token>`` (scripts, feed
  readers that can send headers), or HTTP Basic with the token as password;
- ``MONITOR_WEB_PASSWORD``: HTTP Basic (any user name), which browsers ask for themselves.

Once either is set, every request needs it, whatever the address.

Every response carries a Content-Security-Policy: the application's own pages load only
its stylesheet and run no script at all; snapshots of captured pages have a stricter one
of their own (:data:`SNAPSHOT_CSP`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from monitor.exceptions import ConfigError
from monitor.storage.store import Store

logger = logging.getLogger(__name__)

TOKEN_ENV = "MONITOR_WEB_TOKEN"
PASSWORD_ENV = "MONITOR_WEB_PASSWORD"

#: The application's own pages: its stylesheet, images as data: URLs, frames of itself.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: A captured page: no script, nothing fetched from anywhere, in a sandbox of its own.
SNAPSHOT_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Where ``monitor serve`` listens and what it requires of clients."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = None
    password: str | None = None
    public_url: str | None = None  # base of absolute links (feeds); else the request's

    @classmethod
    def from_env(
        cls, host: str = "127.0.0.1", port: int = 8080, public_url: str | None = None
    ) -> WebSettings:
        """Settings with the secrets read from the environment."""
        return cls(
            host=host,
            port=port,
            token=os.environ.get(TOKEN_ENV) or None,
            password=os.environ.get(PASSWORD_ENV) or None,
            public_url=public_url,
        )

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    def check(self) -> None:
        """Refuse to expose the monitor beyond this machine without a secret."""
        if not self.loopback and not (self.token or self.password):
            raise ConfigError(
                f"monitor serve: binding to {self.host} makes the monitor reachable from "
                f"other machines; set {TOKEN_ENV} or {PASSWORD_ENV} in the environment "
                "(or bind to 127.0.0.1)"
            )


class AccessControl:
    """Requires the token or password of :class:`WebSettings` on every request, if set."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
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


def create_app(store: Store, settings: WebSettings | None = None) -> Starlette:
    """The ASGI application serving ``store`` (read only)."""
    from importlib import resources

    from monitor.web import api, feeds, pages

    settings = settings or WebSettings()
    settings.check()
    static = str(resources.files("monitor.web") / "static")
    routes = [
        *pages.routes(),
        *feeds.routes(),
        *api.routes(),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers=pages.exception_handlers())
    app.state.store = store
    app.state.settings = settings
    app.state.templates = pages.templates()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessControl, settings=settings)
    return app


def _uvicorn_config(app: Starlette, host: str, port: int) -> Any:
    import uvicorn

    # No websockets, no lifespan events: plain HTTP is all the application speaks.
    return uvicorn.Config(app, host=host, port=port, log_level="warning", ws="none", lifespan="off")


def serve(store: Store, settings: WebSettings) -> None:
    """Run the application with uvicorn until interrupted (``monitor serve``)."""
    import uvicorn

    settings.check()
    app = create_app(store, settings)
    logger.info("serving on http://%s:%d/", settings.host, settings.port)
    uvicorn.Server(_uvicorn_config(app, settings.host, settings.port)).run()


@contextmanager
def running(store: Store, settings: WebSettings | None = None) -> Iterator[str]:
    """The application served by uvicorn in a thread on 127.0.0.1 (a free port); yields
    its base URL. For tests and benchmarks."""
    import uvicorn

    settings = settings or WebSettings(port=0)
    server = uvicorn.Server(_uvicorn_config(create_app(store, settings), settings.host, 0))
    thread = threading.Thread(target=server.run, name="monitor-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
