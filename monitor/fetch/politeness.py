"""A site's requests in flight never exceed ``per_domain_concurrency``, whatever Scrapy's
downloader does (:class:`SiteGateMiddleware`).

Scrapy 2.19 counts a request against its download slot only once the coroutine that
sends it has started (``Slot.transferring``). Between the slot handing a request over and
that coroutine running, the slot's next delayed turn (``DOWNLOAD_DELAY``, with jitter)
may hand over one more: with several crawls sharing one reactor (a cluster worker runs
several batches at once) a site was seen with 3 requests in flight under a limit of 2.
For a monitor that promises site owners a polite rate, the limit is a promise, not a
tendency: this middleware, the last before the download handler, lets a request through
only while fewer than the limit of its site are past it, and frees the place when the
response or the failure comes back.

The site is Scrapy's own slot key (``meta["download_slot"]``, else the host); the
limit is ``DOWNLOAD_SLOTS[key]["concurrency"]`` when set, else
``CONCURRENT_REQUESTS_PER_DOMAIN``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)

#: After every other downloader middleware (Scrapy's highest is 950): the request goes
#: from here to the download handler.
PRIORITY = 990

_HELD = "monitor_site_gate"


class SiteGateMiddleware:
    """Scrapy downloader middleware: at most the site's limit of requests past it."""

    def __init__(self, per_site: int, slots: dict[str, dict[str, Any]]) -> None:
        self.per_site = max(1, per_site)
        self.slots = slots
        self._gates: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteGateMiddleware:
        settings = crawler.settings
        return cls(
            settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
            settings.getdict("DOWNLOAD_SLOTS"),
        )

    def _key(self, request: Request) -> str:
        slot: str | None = request.meta.get("download_slot")
        return slot if slot is not None else urlparse_cached(request).hostname or ""

    def _gate(self, key: str) -> asyncio.Semaphore:
        gate = self._gates.get(key)
        if gate is None:
            limit = self.slots.get(key, {}).get("concurrency", self.per_site)
            gate = self._gates[key] = asyncio.Semaphore(max(1, int(limit)))
        return gate

    async def process_request(self, request: Request) -> None:
        key = self._key(request)
        await self._gate(key).acquire()
        request.meta[_HELD] = key

    def _free(self, request: Request) -> None:
        key = request.meta.pop(_HELD, None)
        if key is not None:
            self._gates[key].release()

    def process_response(self, request: Request, response: Response) -> Response:
        self._free(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._free(request)
