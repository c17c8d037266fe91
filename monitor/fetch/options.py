"""A target's request options: from the config (:func:`options_for`) onto each request
(:class:`RequestOptionsMiddleware`).

The options travel with a request as ``meta["monitor_options"]`` (the spiders put them
there, by target). The middleware sets the headers, the Cookie header, the User-Agent
and the proxy, and hands requests a browser renders to :mod:`monitor.fetch.browser`. It
runs before Scrapy's own header, User-Agent and proxy middlewares, so a target's values
win over the crawl's defaults.

A redirect to another host keeps the plain headers (``Accept-Language``) but drops the
cookies and the headers whose values are secrets: a site's session is not given to
another site.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from monitor import config as cfg
from monitor.config.fetch_options import FromEnv
from monitor.records import FetchOptions

logger = logging.getLogger(__name__)

# Before DefaultHeadersMiddleware (400), UserAgentMiddleware (500), HttpProxyMiddleware (750).
PRIORITY = 350
# How long a rendered page's raw document may still be read once the DOM is taken.
RAW_BODY_WAIT = 5.0


def _value(item: str | FromEnv) -> str:
    return item.value if isinstance(item, FromEnv) else item


def _shown(item: str | FromEnv) -> str:
    return f"<env {item.env}>" if isinstance(item, FromEnv) else item


def options_for(config: cfg.Config, target: cfg.Target) -> FetchOptions:
    """The request options of ``target``: ``defaults`` merged with its own (its own win)."""
    defaults = config.defaults
    headers = {name.lower(): item for name, item in defaults.headers.items()}
    headers.update({name.lower(): item for name, item in target.headers.items()})
    cookies = {**defaults.cookies, **target.cookies}
    proxy = target.proxy if target.proxy_env is not None else defaults.proxy
    shown: dict[str, str] = {
        name: _shown(item) for name, item in headers.items() if isinstance(item, FromEnv)
    }
    if any(isinstance(item, FromEnv) for item in cookies.values()):
        shown["cookie"] = "; ".join(f"{name}={_shown(item)}" for name, item in cookies.items())
    wait_for = target.wait_for if target.wait_for != "network_idle" else None
    return FetchOptions(
        headers=tuple((name, _value(item)) for name, item in headers.items()),
        cookies=tuple((name, _value(item)) for name, item in cookies.items()),
        proxy=proxy,
        user_agent=target.user_agent or defaults.user_agent,
        render=target.render == "browser",
        wait_for=wait_for,
        wait_timeout=target.wait_timeout,
        shown=tuple(shown.items()),
    )


def _same_host(request: Request) -> bool:
    """Whether ``request`` is for the host first asked for (no redirect to elsewhere)."""
    first: str = request.meta.get("redirect_urls", [request.url])[0]
    return bool(urlsplit(first).hostname == urlsplit(request.url).hostname)


class RequestOptionsMiddleware:
    """Scrapy downloader middleware: a target's headers, cookies, User-Agent and proxy
    onto its requests; the proxy used (without credentials) into ``meta["monitor_proxy"]``.

    A site's robots.txt, which Scrapy asks for on its own, goes out with the options of
    the first target on that host: through the same proxy, so the site never sees the
    monitor's own address where a proxy was configured.
    """

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequestOptionsMiddleware:
        return cls(crawler)

    def _robots_options(self, request: Request) -> FetchOptions | None:
        parts = urlsplit(request.url)
        if parts.path != "/robots.txt" or self.crawler is None:
            return None
        known: dict[str, FetchOptions] = getattr(self.crawler.spider, "site_options", {})
        options = known.get(parts.netloc)
        if options is None:
            return None
        # The browser renders pages, not robots.txt: the same proxy and headers, plainly.
        return replace(options, render=False)

    def process_request(self, request: Request) -> None:
        options: FetchOptions | None = request.meta.get("monitor_options")
        if options is None and "monitor_key" not in request.meta:
            options = self._robots_options(request)
        if not options:
            return None
        trusted = _same_host(request)
        secret = dict(options.shown)
        for name, value in options.headers:
            if trusted or name not in secret:
                request.headers[name] = value
            else:
                request.headers.pop(name, None)
        cookie = options.cookie_header
        if cookie and trusted:
            request.headers["Cookie"] = cookie
        elif cookie:
            request.headers.pop("Cookie", None)
        if options.user_agent:
            request.headers["User-Agent"] = options.user_agent
        request.meta["monitor_proxy"] = options.proxy_label
        if options.render:
            from monitor.fetch.browser import prepare

            prepare(request, options, with_cookies=trusted)
        elif options.proxy and "proxy" not in request.meta:
            request.meta["proxy"] = options.proxy
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        task: asyncio.Future[Any] | None = request.meta.pop("monitor_raw_task", None)
        if task is not None:
            try:
                request.meta["monitor_raw_body"] = await asyncio.wait_for(task, RAW_BODY_WAIT)
            except Exception as exc:  # the page closed first: the DOM is still the capture
                logger.debug("the raw document of %s could not be read: %r", request.url, exc)
        return response
