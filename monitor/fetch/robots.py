"""robots.txt: obeyed by every request (:class:`RobotsMiddleware`), and shared between
crawls (:class:`SharedRobotsMiddleware`).

Scrapy 2.19's ``RobotsTxtMiddleware`` lets the requests that wait for a site's
robots.txt share one Deferred, turned into an asyncio future per waiter; the first
conversion consumes the Deferred's result, so every other request that was waiting gets
``None`` ("no robots.txt") and goes out whatever robots.txt says. A crawl starts all its
pages at once, so on every check all the pages of a site but one ignored a ``Disallow``
(seen: a disallowed page fetched on each check, only its probe refused).
:class:`RobotsMiddleware` takes Scrapy's place and gives those waiters the parsed
robots.txt.

Scrapy's ``RobotsTxtMiddleware`` fetches a site's robots.txt once per crawl. A cluster
worker runs one crawl per batch, and a site's batches run on any worker: without
sharing, the site would serve its robots.txt once per batch. A crawl given a
:class:`RobotsCache` (:func:`use_robots`) answers Scrapy's robots.txt request from the
cache while the cached copy is fresh, and puts every robots.txt it does fetch into the
cache. What is cached is what the site answered (status and body, below 500); a failed
fetch (no answer, 5xx) is not cached, so the next crawl asks again. The cache itself
(where it lives, how long a copy is fresh) is the caller's: the cluster keeps it in its
database (:mod:`monitor.cluster.robots`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

#: Before the robots.txt middleware (100): a cached answer costs the site nothing.
PRIORITY = 70
#: Where Scrapy's RobotsTxtMiddleware sits, which :class:`RobotsMiddleware` replaces.
ROBOTS_PRIORITY = 100

_FROM_CACHE = "monitor_robots_cached"


@dataclass(frozen=True, slots=True)
class CachedRobots:
    status: int
    body: bytes


class RobotsCache(Protocol):
    """Where crawls share robots.txt: fresh copies by site (``scheme://host[:port]``)."""

    def get(self, site: str) -> CachedRobots | None: ...

    def put(self, site: str, robots: CachedRobots) -> None: ...


_caches: WeakKeyDictionary[Crawler, RobotsCache] = WeakKeyDictionary()


def use_robots(crawler: Crawler, cache: RobotsCache) -> None:
    """Share ``crawler``'s robots.txt fetches through ``cache``."""
    _caches[crawler] = cache


def site_of(request: Request) -> str:
    """The site a robots.txt request is for (the first URL asked, before redirects)."""
    parts = urlsplit(request.meta.get("redirect_urls", [request.url])[0])
    return f"{parts.scheme}://{parts.netloc}".lower()


def _is_robots(request: Request) -> bool:
    return bool(
        request.meta.get("dont_obey_robotstxt") and urlparse_cached(request).path == "/robots.txt"
    )


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, where every request that waited for a site's
    robots.txt is judged by it (not only the first)."""

    async def robot_parser(self, request: Request) -> Any:
        parser = await super().robot_parser(request)
        if parser is None:
            # A waiter whose share of the Deferred was consumed: the parsed robots.txt is
            # stored by now (None only when robots.txt could not be had).
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser


class SharedRobotsMiddleware:
    """Scrapy downloader middleware: robots.txt from and into the crawl's cache."""

    def __init__(self, cache: RobotsCache) -> None:
        self.cache = cache

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRobotsMiddleware:
        cache = _caches.get(crawler)
        if cache is None:
            raise NotConfigured("no robots cache for this crawl (monitor.fetch.robots)")
        return cls(cache)

    async def process_request(self, request: Request) -> Response | None:
        if not _is_robots(request) or request.meta.get("redirect_urls"):
            return None
        site = site_of(request)
        try:
            cached = await asyncio.to_thread(self.cache.get, site)
        except Exception as exc:  # the cache is a saving, never a reason to fail a crawl
            logger.warning("could not read the shared robots.txt of %s: %s", site, exc)
            return None
        if cached is None:
            return None
        logger.debug("robots.txt of %s from the shared cache", site)
        request.meta[_FROM_CACHE] = True
        return Response(request.url, status=cached.status, body=cached.body, request=request)

    async def process_response(self, request: Request, response: Response) -> Response:
        if (
            _is_robots(request)
            and not request.meta.get(_FROM_CACHE)
            and response.status < 500
            and not 300 <= response.status < 400
        ):
            site = site_of(request)
            try:
                await asyncio.to_thread(
                    self.cache.put, site, CachedRobots(response.status, response.body)
                )
            except Exception as exc:
                logger.warning("could not share the robots.txt of %s: %s", site, exc)
        return response
