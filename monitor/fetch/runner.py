"""Running the spiders in-process: one crawl per spider kind on the shared reactor.

A check cycle is one Scrapy crawl per spider kind, run by ``AsyncCrawlerRunner`` on the
process's shared reactor (see :mod:`monitor.fetch.reactor`). Each FetchResult goes through
:class:`monitor.fetch.pipeline.RecordPipeline` into the check's sink.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from scrapy.crawler import AsyncCrawlerRunner

from monitor import config as cfg
from monitor.fetch.pipeline import FetchSink
from monitor.fetch.settings import scrapy_settings

if TYPE_CHECKING:
    # mypy reads the repository's spiders/ as `spiders`; installed (and in an editable
    # install) it is monitor.spiders (pyproject.toml maps the folder).
    from spiders import ListingJob, ListingSpider, PageJob, PageSpider
else:
    from monitor.spiders import ListingJob, ListingSpider, PageJob, PageSpider


logger = logging.getLogger(__name__)


class ListingSink(FetchSink, Protocol):
    """A sink that also judges a listing's links once all its pages are read."""

    def plan_listing(self, job: ListingJob, links: list[tuple[str, str]]) -> list[PageJob]: ...


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
    runner = AsyncCrawlerRunner(scrapy_settings(fetch, obey_robots=obey))
    delays: dict[str, float] = {}
    if detect is not None:
        delays = {"confirm_delay": detect.confirm_removal_after, "probe_delay": detect.probe_delay}
    crawls = []
    if page_jobs:
        crawls.append(runner.crawl(PageSpider, jobs=page_jobs, sink=sink, **delays))
    if listing_jobs:
        crawls.append(
            runner.crawl(
                ListingSpider,
                jobs=listing_jobs,
                sink=sink,
                plan_articles=sink.plan_listing,
                **delays,
            )
        )
    # gather, not runner.join(): a crawl that fails to start must fail the check loudly.
    try:
        await asyncio.wait_for(asyncio.gather(*crawls), timeout)
    except TimeoutError:
        # A crawl that hangs past its budget is stopped; the pages it fetched are kept.
        logger.error("crawl still running after %.0fs: stopping it", timeout or 0)
        await runner.stop()
