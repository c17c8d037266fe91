"""Pages a browser renders (``render: browser``): scrapy-playwright driving Debian's Chromium.

Only requests of ``render: browser`` targets go to the browser, in crawls of their own
(:func:`monitor.fetch.runner.crawl`): a check without such targets never starts it.

- :func:`browser_settings`: the Scrapy settings of a browser crawl: the Playwright
  download handler, the executable (never a downloaded browser), the launch switches,
  pages and contexts at once.
- :func:`prepare`: a request's Playwright meta: its context (one per proxy and cookie set,
  so the number of contexts stays bounded), what to wait for, and a handler that keeps
  the document as the server sent it (the capture's raw body) beside the rendered DOM.
- :func:`batches`: a check's browser pages in batches of ``browser.restart_after`` pages
  and at most ``browser.max_contexts`` contexts; each batch is one crawl with a fresh
  browser, which bounds the browser's memory.

A browser that crashes is relaunched by scrapy-playwright (its in-flight pages retried);
when that does not help, the pages are fetch errors (``error_kind="browser"``), never
removals, and the next batch or check starts a new browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from scrapy import Request

from monitor import config as cfg
from monitor.records import FetchOptions

logger = logging.getLogger(__name__)

T = TypeVar("T")

HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# Chromium's switches: headless in a container, and no calls home.
LAUNCH_ARGS = (
    "--no-sandbox",  # Chromium refuses its sandbox as root (containers); harmless otherwise
    "--disable-gpu",
    "--disable-dev-shm-usage",  # a container's /dev/shm is small
    "--disable-background-networking",  # no component updates, safe browsing, ...
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-first-run",
    "--mute-audio",
)


def browser_settings(browser: cfg.Browser, contexts: int) -> dict[str, Any]:
    """The settings a browser crawl adds to the plain ones (``contexts``: how many
    distinct contexts its pages ask for, at most ``browser.max_contexts``)."""
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": browser.executable,
            "headless": True,
            "args": [*LAUNCH_ARGS, *browser.launch_args],
        },
        # Contexts stay open for the crawl: allowing fewer than the crawl asks for would
        # deadlock it, so batches() keeps each crawl within max_contexts.
        "PLAYWRIGHT_MAX_CONTEXTS": max(1, contexts),
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": browser.concurrency,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": browser.navigation_timeout * 1000,
        "CONCURRENT_REQUESTS": browser.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": browser.concurrency,
    }


def context_of(
    options: FetchOptions, url: str, with_cookies: bool = True
) -> tuple[str, dict[str, Any]]:
    """The browser context a page is rendered in: its name and its arguments.

    Pages with the same proxy and cookies share a context; the name is a hash, so no
    secret appears in it (or in Scrapy's stats and logs).
    """
    kwargs: dict[str, Any] = {}
    if options.proxy:
        parts = urlsplit(options.proxy)
        proxy: dict[str, str] = {"server": options.proxy_label or options.proxy}
        if parts.username:
            proxy["username"] = parts.username
            proxy["password"] = parts.password or ""
        kwargs["proxy"] = proxy
    if options.cookies and with_cookies:
        host = urlsplit(url).hostname or ""
        kwargs["storage_state"] = {
            "cookies": [
                {"name": name, "value": value, "domain": host, "path": "/"}
                for name, value in options.cookies
            ]
        }
    if not kwargs:
        return "monitor", kwargs
    digest = hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode()).hexdigest()[:16]
    return f"monitor-{digest}", kwargs


def _playwright_selector(wait_for: str) -> str:
    kind, _, query = wait_for.partition(":")
    return f"{kind}={query}"


def prepare(request: Request, options: FetchOptions, *, with_cookies: bool = True) -> None:
    """Make ``request`` one the browser renders (scrapy-playwright's meta keys)."""
    from scrapy_playwright.page import PageMethod

    meta = request.meta
    name, kwargs = context_of(options, request.url, with_cookies)
    meta["playwright"] = True
    meta["playwright_context"] = name
    if kwargs:
        meta["playwright_context_kwargs"] = kwargs
    timeout = options.wait_timeout * 1000
    if options.wait_for:
        meta["playwright_page_methods"] = [
            PageMethod(
                "wait_for_selector",
                _playwright_selector(options.wait_for),
                state="attached",
                timeout=timeout,
            )
        ]
    else:
        # Network idle: no request for 500 ms. A script that inserts the text later is
        # missed (the quality note of the capture then says the page is a skeleton).
        meta["playwright_page_goto_kwargs"] = {"wait_until": "networkidle", "timeout": timeout}
    meta["playwright_page_event_handlers"] = {"response": _raw_keeper(meta)}
    meta["monitor_renderer"] = "browser"


def _raw_keeper(meta: dict[str, Any]) -> Callable[[Any], None]:
    """A page ``response`` handler that reads the main document as the server sent it."""

    def keep(response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame.parent_frame is None:
            task = asyncio.ensure_future(response.body())
            task.add_done_callback(_retrieved)
            meta["monitor_raw_task"] = task

    return keep


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Read a task's outcome, so a body that could not be read is not logged as lost."""
    if not task.cancelled():
        task.exception()


def batches(items: Sequence[T], context: Callable[[T], str], browser: cfg.Browser) -> list[list[T]]:
    """``items`` in crawls of at most ``restart_after`` pages and ``max_contexts`` contexts
    (``context`` names an item's), in their order."""
    result: list[list[T]] = []
    current: list[T] = []
    names: set[str] = set()
    for item in items:
        name = context(item)
        full = len(current) >= browser.restart_after or (
            name not in names and len(names) >= browser.max_contexts
        )
        if current and full:
            result.append(current)
            current, names = [], set()
        current.append(item)
        names.add(name)
    if current:
        result.append(current)
    return result
