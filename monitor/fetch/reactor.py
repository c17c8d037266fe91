"""One Twisted reactor (on asyncio) per process, shared by every crawl.

Scrapy's reactor cannot be restarted, so it is started once, in a background thread,
and work is handed to its asyncio loop. This lets one process run many checks (the
demo's rounds, the tests, the daemon's cycles) through the same in-process crawler.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _install() -> asyncio.AbstractEventLoop:
    from twisted.internet import asyncioreactor, error

    loop = asyncio.new_event_loop()
    try:
        asyncioreactor.install(eventloop=loop)  # type: ignore[no-untyped-call]
    except error.ReactorAlreadyInstalledError:
        from twisted.internet import reactor

        existing: asyncio.AbstractEventLoop | None = getattr(reactor, "_asyncioEventloop", None)
        if existing is None:
            raise RuntimeError(
                "a non-asyncio Twisted reactor is already installed; the monitor needs "
                "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
            ) from None
        loop.close()
        return existing
    return loop


def loop() -> asyncio.AbstractEventLoop:
    """The running reactor's asyncio loop, starting the reactor thread on first use."""
    global _loop, _thread
    with _lock:
        if _loop is not None:
            return _loop
        event_loop = _install()
        started = threading.Event()

        def serve() -> None:
            from twisted.internet import reactor

            asyncio.set_event_loop(event_loop)
            twisted_reactor: Any = reactor
            twisted_reactor.callWhenRunning(started.set)
            twisted_reactor.run(installSignalHandlers=False)

        _thread = threading.Thread(target=serve, name="monitor-reactor", daemon=True)
        _thread.start()
        if not started.wait(30):
            raise RuntimeError("the Twisted reactor did not start within 30 s")
        _loop = event_loop
        return _loop


def run(factory: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
    """Run ``factory()`` on the reactor's loop and wait for its result in this thread."""
    event_loop = loop()

    async def call() -> T:
        return await factory()

    future = asyncio.run_coroutine_threadsafe(call(), event_loop)
    return future.result(timeout)
