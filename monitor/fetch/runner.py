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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from scrapy.crawler import AsyncCrawlerRunner

from monitor import config as cfg
from monitor.fetch.pipeline import FetchSink, use_sink
from monitor.fetch.robots import RobotsCache, use_robots
from monitor.fetch.settings import scrapy_settings
from monitor.records import NO_OPTIONS, FetchOptions, FetchResult, PageKey
from monitor.vocab import Role

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
    allow_private: frozenset[str] = frozenset(),
    options: Mapping[str, FetchOptions] | None = None,
    browser: cfg.Browser | None = None,
    robots: RobotsCache | None = None,
) -> None:
    """Run the page and listing spiders concurrently until both are done.

    ``allow_private``: targets that may be redirected into private addresses.
    ``options``: each target's request options (:func:`monitor.fetch.options.options_for`).
    ``robots``: where the crawls share robots.txt (:mod:`monitor.fetch.robots`).
    Pages fetched through a SOCKS proxy go to a crawl of their own (Scrapy's httpx
    download handler speaks SOCKS; its default one does not), and pages a browser
    renders to crawls of their own (:mod:`monitor.fetch.browser`), all concurrently.
    """
    options = options or {}

    def kind(target: str) -> str:
        chosen = options.get(target, NO_OPTIONS)
        if chosen.render:
            return "browser"
        return "socks" if (chosen.proxy or "").startswith("socks") else "plain"

    obey = (
        fetch.obey_robots
        or any(job.obey_robots for job in page_jobs)
        or any(job.obey_robots for job in listing_jobs)
    )
    base = scrapy_settings(fetch, obey_robots=obey, detect=detect, allow_private=allow_private)
    runners: list[AsyncCrawlerRunner] = []
    crawls: list[Awaitable[Any]] = []
    for group, extra in (("plain", {}), ("socks", {"DOWNLOAD_HANDLERS": SOCKS_HANDLERS})):
        pages = [job for job in page_jobs if kind(job.key.target) == group]
        listings = [job for job in listing_jobs if kind(job.target) == group]
        if pages or listings:
            runner = AsyncCrawlerRunner({**base, **extra})
            runners.append(runner)
            crawls.extend(_start(runner, sink, pages, listings, options, robots))
    rendered = [job for job in page_jobs if kind(job.key.target) == "browser"]
    rendered_listings = [job for job in listing_jobs if kind(job.target) == "browser"]
    if rendered or rendered_listings:
        crawls.append(
            _browser_crawls(
                base,
                browser or cfg.Browser(),
                sink,
                rendered,
                rendered_listings,
                options,
                runners,
                robots,
            )
        )
    # gather, not runner.join(): a crawl that fails to start must fail the check loudly.
    # asyncio.timeout, not wait_for: a crawl cancelled by a stopping daemon ends with
    # its gather awaited here, where wait_for left it to be logged as "exception was
    # never retrieved".
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*crawls)
    except TimeoutError:
        # A crawl that hangs past its budget is stopped; the pages it fetched are kept.
        logger.error("crawl still running after %.0fs: stopping it", timeout or 0)
        for runner in runners:
            await runner.stop()


# Scrapy's own (experimental in 2.19) httpx handler: the one of its handlers with SOCKS.
SOCKS_HANDLER = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
SOCKS_HANDLERS = {"http": SOCKS_HANDLER, "https": SOCKS_HANDLER}


def _start(
    runner: AsyncCrawlerRunner,
    sink: ListingSink,
    page_jobs: list[PageJob],
    listing_jobs: list[ListingJob],
    options: Mapping[str, FetchOptions],
    robots: RobotsCache | None = None,
) -> list[Awaitable[Any]]:
    """Start the page and listing crawls of ``runner``."""
    crawls: list[Awaitable[Any]] = []
    if page_jobs:
        crawler = runner.create_crawler(PageSpider)
        use_sink(crawler, sink)
        if robots is not None:
            use_robots(crawler, robots)
        crawls.append(runner.crawl(crawler, jobs=page_jobs, options=options))
    if listing_jobs:
        crawler = runner.create_crawler(ListingSpider)
        use_sink(crawler, sink)
        if robots is not None:
            use_robots(crawler, robots)
        use_planner(crawler, sink.plan_listing)
        crawls.append(runner.crawl(crawler, jobs=listing_jobs, options=options))
    return crawls


class _Tracking:
    """A sink that notes which pages got a result (the others of a browser batch that
    ran out of time become errors)."""

    def __init__(self, sink: ListingSink) -> None:
        self.sink = sink
        self.seen: set[PageKey] = set()

    def accept(self, fetch: FetchResult) -> Awaitable[None] | None:
        self.seen.add(fetch.key)
        return self.sink.accept(fetch)

    def flush(self) -> None:
        self.sink.flush()

    def plan_listing(
        self,
        job: ListingJob,
        links: list[tuple[str, str]],
        dates: Mapping[str, str] | None = None,
    ) -> Awaitable[list[PageJob]]:
        return self.sink.plan_listing(job, links, dates)


async def _browser_crawls(
    base: dict[str, Any],
    browser: cfg.Browser,
    sink: ListingSink,
    page_jobs: list[PageJob],
    listing_jobs: list[ListingJob],
    options: Mapping[str, FetchOptions],
    runners: list[AsyncCrawlerRunner],
    robots: RobotsCache | None = None,
) -> None:
    """The browser's pages, batch after batch, each batch a crawl with a fresh browser
    and a deadline; a page of a batch that ended without its result is a fetch error."""
    from monitor.fetch.browser import batches, browser_settings, context_of

    items: list[PageJob | ListingJob] = [*page_jobs, *listing_jobs]

    def url_of(item: PageJob | ListingJob) -> tuple[str, str]:
        if isinstance(item, PageJob):
            return item.key.target, item.key.url
        return item.target, item.url

    def context(item: PageJob | ListingJob) -> str:
        target, url = url_of(item)
        return context_of(options.get(target, NO_OPTIONS), url)[0]

    for number, batch in enumerate(batches(items, context, browser), start=1):
        pages = [item for item in batch if isinstance(item, PageJob)]
        listings = [item for item in batch if isinstance(item, ListingJob)]
        names = {context(item) for item in batch}
        runner = AsyncCrawlerRunner({**base, **browser_settings(browser, len(names))})
        runners.append(runner)
        tracking = _Tracking(sink)
        expected = [item.key for item in pages] + [
            key
            for job in listings
            for key in (PageKey(job.target, job.url), *(page.key for page in job.pages))
        ]
        wait = max(
            (options.get(key.target, NO_OPTIONS).wait_timeout for key in expected), default=0
        )
        rounds = -(-len(expected) // browser.concurrency)
        # A page may be fetched twice (a removal confirmed, a new page probed).
        deadline = rounds * 2 * (browser.navigation_timeout + wait + 10) + 60
        logger.info(
            "browser crawl %d: %d pages, %d contexts, deadline %.0fs",
            number,
            len(expected),
            len(names),
            deadline,
        )
        try:
            await asyncio.wait_for(
                asyncio.gather(*_start(runner, tracking, pages, listings, options, robots)),
                deadline,
            )
        except TimeoutError:
            logger.error(
                "browser crawl %d still running after %.0fs: stopping it", number, deadline
            )
            try:
                await asyncio.wait_for(runner.stop(), 30)
            except TimeoutError:
                logger.error("browser crawl %d did not stop", number)
        missing = [key for key in expected if key not in tracking.seen]
        for key in missing:
            waiting = sink.accept(
                FetchResult(
                    key=key,
                    role=Role.LISTING
                    if any(key == PageKey(j.target, j.url) for j in listings)
                    else _role(pages, key),
                    requested_url=key.url,
                    started_at=datetime.now(UTC),
                    duration_ms=0.0,
                    final_url=key.url,
                    error="BrowserError: the browser did not render the page "
                    f"(its crawl ended after {deadline:.0f}s without it)",
                    error_kind="browser",
                    proxy=options.get(key.target, NO_OPTIONS).proxy_label,
                    renderer="browser",
                )
            )
            if waiting is not None:
                await waiting
        if missing:
            sink.flush()


def _role(pages: list[PageJob], key: PageKey) -> Role:
    return next((page.role for page in pages if page.key == key), Role.PAGE)


def preload() -> None:
    """Import the Scrapy components a crawl loads by name (middlewares, extensions,
    download handlers), before the loop starts: the first crawl of a long-lived process
    would otherwise import them on the loop, holding it for seconds on a busy machine."""
    import importlib

    from scrapy.settings import default_settings

    names: set[str] = set()
    for attribute in dir(default_settings):
        value = getattr(default_settings, attribute)
        candidates = value.keys() if isinstance(value, dict) else [value]
        for name in candidates:
            if isinstance(name, str) and name.startswith("scrapy.") and " " not in name:
                names.add(name.rsplit(".", 1)[0])
    for module in sorted(names):
        try:
            importlib.import_module(module)
        except ImportError:  # optional components (e.g. a missing extra)
            logger.debug("not preloaded: %s", module)
