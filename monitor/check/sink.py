"""The crawl's side of a check: where fetches arrive, on the reactor's thread.

:class:`monitor.fetch.pipeline.RecordPipeline` hands every FetchResult to the
:class:`Sink`, which only puts it on the writer's queue (:mod:`monitor.check.writer`
observes and records it in its own thread). When the writer falls behind, the crawl
waits (the pipeline awaits the sink), so fetched pages never pile up in memory. The
listing spider asks the sink which links of a listing to follow (:meth:`Sink.plan_listing`):
the one question the crawl waits on, answered from the database off the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from monitor.check.listings import Listings
from monitor.check.writer import Writer
from monitor.exceptions import StorageError
from monitor.records import FetchResult, PageKey
from monitor.storage.store import Store

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, PageJob
else:
    from monitor.spiders import ListingJob, PageJob

logger = logging.getLogger(__name__)


class Sink:
    """Hands a crawl's fetches to the check's writer; plans listings' links."""

    def __init__(
        self,
        writer: Writer,
        store: Store,
        listings: Listings,
        *,
        high_water: int = 100,
        on_planned: Callable[[int], None] | None = None,
    ) -> None:
        self.writer = writer
        self.store = store
        self.listings = listings
        # Told how many pages each listing adds to the check (`monitor check`'s progress).
        self.on_planned = on_planned
        # Fetches waiting for the writer before the crawl waits, and until when.
        self.high_water = high_water
        self.low_water = high_water // 2

    def accept(self, fetch: FetchResult) -> asyncio.Future[None] | None:
        self.writer.put(fetch)
        if self.writer.backlog > self.high_water:
            return asyncio.ensure_future(self._caught_up())
        return None

    async def _caught_up(self) -> None:
        while self.writer.backlog > self.low_water and self.writer.alive:
            await asyncio.sleep(0.02)

    def flush(self) -> None:
        self.writer.flush()

    async def plan_listing(
        self,
        job: ListingJob,
        links: list[tuple[str, str]],
        dates: Mapping[str, str] | None = None,
    ) -> list[PageJob]:
        """Judge a listing's links (all its pages read); returns the new pages to fetch.
        ``dates``: the lastmod its sitemaps or feeds gave some links."""
        urls = [url for url, _text in links]
        unknown = self.listings.unknown(job, urls)
        try:
            watching: dict[str, tuple[PageKey, int]] = (
                await asyncio.to_thread(self.store.pages_at, unknown) if unknown else {}
            )
        except StorageError as exc:
            logger.error("reading the pages behind %s's links failed: %s", job.target, exc)
            self.listings.fail(job.target, str(exc))
            return []
        pages = self.listings.plan(job, urls, unknown, watching, dates or {})
        if pages and self.on_planned is not None:
            self.on_planned(len(pages))
        return pages
