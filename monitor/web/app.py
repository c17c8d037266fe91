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

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from monitor.exceptions import ConfigError
from monitor.storage.store import Store
from monitor.web.security import PAGE_CSP as PAGE_CSP
from monitor.web.security import SNAPSHOT_CSP as SNAPSHOT_CSP
from monitor.web.security import AccessControl, SecurityHeaders

logger = logging.getLogger(__name__)

TOKEN_ENV = "MONITOR_WEB_TOKEN"
PASSWORD_ENV = "MONITOR_WEB_PASSWORD"


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
