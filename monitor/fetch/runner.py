"""Running the spiders in-process: one crawl per spider kind on the shared reactor.

A check cycle is one Scrapy crawl per spider kind, run by ``AsyncCrawlerRunner`` on the
process's shared reactor (see :mod:`monitor.fetch.reactor`). The config reaches the
spiders as settings (:mod:`monitor.fetch.settings`: ``MONITOR_CONFIRM_DELAY``,
``MONITOR_PROBE_DELAY``); the check's sink is registered for each crawler
(:func:`monitor.fetch.pipeline.use_sink`), and its listing planner for the listing
crawler (:func:`spiders.listing.use_planner`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Protocol

from scrapy.crawler import AsyncCrawlerRunner

from monitor import config as cfg
from monitor.fetch.pipeline import FetchSink, use_sink
from monitor.fetch.settings import scrapy_settings

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, ListingSpider, PageJob, PageSpider
    from spiders.listing import use_planner
else:
    from monitor.spiders import ListingJob, ListingSpider, PageJob, PageSpider
    from monitor.spiders.listing import use_planner

logger = logging.getLogger(__name__)


class ListingSink(FetchSink, Protocol):
    """A sink that also judges a listing's links once all its pages are read."""

    def plan_listing(
        self,
        job: ListingJob,
        links: list[tuple[str, str]],
        dates: Mapping[str, str] | None = None,
    ) -> Awaitable[list[PageJob]]: ...


async def crawl(
    fetch: cfg.Fetch,
    sink: ListingSink,
    page_jobs: list[PageJob],
    listing_jobs: list[ListingJob],
    detect: cfg.Detect | None = None,
    *,
    timeout: float | None = None,
) -> None:
    """Run the page and listing spiders concurrently until both are done."""
    obey = (
        fetch.obey_robots
        or any(job.obey_robots for job in page_jobs)
        or any(job.obey_robots for job in listing_jobs)
    )
    runner = AsyncCrawlerRunner(scrapy_settings(fetch, obey_robots=obey, detect=detect))
    crawls = []
    if page_jobs:
        crawler = runner.create_crawler(PageSpider)
        use_sink(crawler, sink)
        crawls.append(runner.crawl(crawler, jobs=page_jobs))
    if listing_jobs:
        crawler = runner.create_crawler(ListingSpider)
        use_sink(crawler, sink)
        use_planner(crawler, sink.plan_listing)
        crawls.append(runner.crawl(crawler, jobs=listing_jobs))
    # gather, not runner.join(): a crawl that fails to start must fail the check loudly.
    try:
        await asyncio.wait_for(asyncio.gather(*crawls), timeout)
    except TimeoutError:
        # A crawl that hangs past its budget is stopped; the pages it fetched are kept.
        logger.error("crawl still running after %.0fs: stopping it", timeout or 0)
        await runner.stop()
