"""The listing spider: read a listing page (and its next pages), follow its article links.

Every listing page and every article is fetched and yielded as a FetchResult; listing
results carry the article links found on them, so the monitor can tell which articles
are new and which have left the listing. Known articles that are no longer listed are
still fetched: they stay under watch. Which new links are fetched is the planner's
choice (the monitor's: new, shared with another target, or over ``max_articles``).

A listing may take its links from sitemaps and feeds instead of its page's anchors
(``ListingJob.sources``, read by :mod:`spiders.sources`): its page is fetched and
recorded as usual, then every source (and every sitemap a sitemap index or robots.txt
names) is read, off the reactor's loop, and their links with their ``lastmod`` dates go
to the planner together.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, cast
from urllib.parse import urljoin, urlsplit
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from monitor.detect.normalize import canonical_url
from monitor.detect.patterns import TimedPatterns
from monitor.exceptions import PatternTimeoutError
from monitor.records import FetchResult, PageKey
from monitor.selector import Selector
from monitor.vocab import Role

from .base import MonitorSpider, meta_refresh
from .page import PageJob
from .sources import Entry, Source, SourceKind, entries, robots_url

logger = logging.getLogger(__name__)

# The sitemaps read for one listing, at most (an index of indexes stops there), and how
# deep sitemap indexes may nest.
MAX_SITEMAPS = 1000
MAX_SITEMAP_DEPTH = 3

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ListingJob:
    """One listing target: where to start, which links are articles, what is known."""

    target: str
    url: str
    links: Selector | None = None  # selecting <a> elements
    # The listing's own region (its target's ``selector``) and what it leaves out
    # (``exclude``): without ``links``, article links are taken from that region only.
    region: Selector | None = None
    exclude: tuple[Selector, ...] = ()
    pattern: str | None = None  # regex an article URL must match
    next_page: Selector | None = None
    max_pages: int = 1
    same_domain: bool = True
    max_articles: int = 500
    # The pages this listing watches, checked whatever the listing shows this time (its
    # own articles, and pages of other targets it lists when no other job fetches them).
    pages: tuple[PageJob, ...] = field(default=())
    obey_robots: bool = True
    # Its articles' attachments: watched (where its articles link them, ``region``).
    attachments: bool = False
    attachments_in: Selector | None = None
    # Sitemaps and feeds the links are read from, instead of the page's anchors.
    sources: tuple[Source, ...] = ()


class ArticlePlanner(Protocol):
    """Which of a listing's links to fetch as new pages: given the job, every article link
    of the listing (url, text) in page order, and the dates its sources gave some of them
    (url -> lastmod); the answer may be awaited. The monitor decides
    (monitor.detect.listing); alone, the spider follows every link up to max_articles."""

    def __call__(
        self,
        job: ListingJob,
        links: list[tuple[str, str]],
        dates: Mapping[str, str] | None = None,
    ) -> list[PageJob] | Awaitable[list[PageJob]]: ...


_planners: WeakKeyDictionary[Crawler, ArticlePlanner] = WeakKeyDictionary()


def use_planner(crawler: Crawler, planner: ArticlePlanner) -> None:
    """Let ``planner`` choose the new pages the listing spider of ``crawler`` fetches."""
    _planners[crawler] = planner


def follow_all(
    job: ListingJob, links: list[tuple[str, str]], dates: Mapping[str, str] | None = None
) -> list[PageJob]:
    """The planner of a spider run alone: every link, up to ``max_articles`` pages."""
    known = {page.key.url for page in job.pages}
    room = max(0, job.max_articles - len(known))
    fresh = [url for url, _text in links if url not in known][:room]
    return [
        PageJob(PageKey(job.target, url), Role.ARTICLE, job.obey_robots, probe=True)
        for url in fresh
    ]


def _select(response: TextResponse, selector: Selector) -> list[Any]:
    if selector.kind == "css":
        return list(response.css(selector.query))
    return list(response.xpath(selector.query))


_LOWER = (
    "translate(concat(' ', @class, ' ', @id), "
    "'ABCDEFGHIJKLMNOPQRSTUVWXYZ-_', 'abcdefghijklmnopqrstuvwxyz  ')"
)
# Where a listing's article links are not: page chrome, and blocks of links to other
# content that rotate on every visit ("Related", "Most read", sidebars). A link there that
# the monitor has never seen would otherwise look like a newly published article.
_ASIDE_WORDS = (
    "related",
    "popular",
    "most read",
    "mostread",
    "sidebar",
    "trending",
    "recommend",
    "also like",
    "read more",
    "readmore",
    "widget",
    "promo",
)
_OUTSIDE_LISTING = (
    "ancestor::nav | ancestor::aside"
    " | ancestor::header[not(ancestor::main or ancestor::article)]"
    " | ancestor::footer[not(ancestor::main or ancestor::article)]"
    " | ancestor::*[@role='navigation' or @role='banner' or @role='contentinfo'"
    " or @role='complementary']"
    " | ancestor::*[" + " or ".join(f"contains({_LOWER}, '{word}')" for word in _ASIDE_WORDS) + "]"
)
_LISTING_ANCHORS = f"//a[@href][not({_OUTSIDE_LISTING})]"


def _anchors(response: TextResponse, job: ListingJob) -> list[Any]:
    """The anchors that may be article links: those ``links`` selects; else those in the
    listing's region (its ``selector``, less ``exclude``); else every anchor of the page
    outside its chrome and its related/popular/sidebar blocks."""
    if job.links is None and job.region is None:
        found = list(response.xpath(_LISTING_ANCHORS))
    else:
        found = []
        chosen = job.links or job.region
        assert chosen is not None
        for node in _select(response, chosen):
            # A selector may point at the <a> itself or at a container holding it.
            found.extend([node] if node.root.tag == "a" else node.xpath(".//a[@href]"))
    if job.exclude:
        excluded = {
            node.root for expression in job.exclude for node in _select(response, expression)
        }
        found = [
            anchor
            for anchor in found
            if anchor.root not in excluded
            and not any(parent in excluded for parent in anchor.root.iterancestors())
        ]
    return found


def article_links(response: TextResponse, job: ListingJob) -> list[tuple[str, str]]:
    """The article links on a listing page, in page order, without duplicates."""
    # A person's regex: run with a time limit (a catastrophic one would block the loop).
    pattern = TimedPatterns((job.pattern,)) if job.pattern else None
    host = urlsplit(job.url).netloc.lower()
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for anchor in _anchors(response, job):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = canonical_url(urljoin(response.url, href))
        if job.same_domain and urlsplit(url).netloc.lower() != host:
            continue
        if pattern is not None:
            try:
                if not pattern.search(url):
                    continue
            except PatternTimeoutError as exc:
                logger.error("%s: follow.pattern: %s; no further links taken", job.target, exc)
                break
        if url in seen or url == canonical_url(response.url):
            continue
        seen.add(url)
        links.append((url, " ".join(" ".join(anchor.xpath(".//text()").getall()).split())))
    return links


class ListingSpider(MonitorSpider):
    """Fetches listing pages, follows their article links and fetches every article.

    The pages of one listing are read in order (page 1, its next page, ...) and page 1's
    FetchResult is yielded last, carrying the article links of all pages: a listing is a
    set of articles, whatever page each one sits on. Continuation pages are recorded as
    captures of role ``part``.
    """

    name = "listing"

    def __init__(
        self,
        jobs: list[ListingJob] | None = None,
        plan_articles: ArticlePlanner | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.jobs = {job.target: job for job in jobs or []}
        self.plan_articles: ArticlePlanner = plan_articles or follow_all
        self._fetched: set[PageKey] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        planner = _planners.get(crawler)
        if planner is not None and kwargs.get("plan_articles") is None:
            spider.plan_articles = planner
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            key = PageKey(job.target, job.url)
            request = self.make_request(
                key,
                Role.LISTING,
                job.url,
                obey_robots=job.obey_robots,
                callback=self.parse_listing,
                extra={"monitor_page_number": 1, "monitor_chain": {"first": None, "links": {}}},
            )
            request.errback = self.listing_failed
            yield request
            for page in job.pages:
                # Known pages are checked whatever the listing says this time.
                if page.key not in self._fetched:
                    yield self._page(page)

    def _page(self, page: PageJob) -> Request:
        self._fetched.add(page.key)
        return self.make_request(
            page.key,
            page.role,
            page.key.url,
            obey_robots=page.obey_robots,
            extra={
                "monitor_confirm": page.confirm,
                "monitor_probe": page.probe,
                "monitor_attachments": page.attachments,
                "monitor_attachments_in": page.region,
            },
        )

    async def _finish(
        self, chain: dict[str, Any], job: ListingJob, complete: bool
    ) -> AsyncIterator[Any]:
        """The listing's first page, carrying every article link; then the new articles."""
        first: FetchResult = chain["first"]
        links = list(chain["links"].items())
        first.article_links = links[: job.max_articles]
        first.listing_complete = complete
        # Planned before the result is handed on: the plan tells the pipeline which of
        # these links are new, shared or cut.
        dates: dict[str, str] = chain.get("dates", {})
        planned = self.plan_articles(job, links, dates) if dates else self.plan_articles(job, links)
        pages = await planned if inspect.isawaitable(planned) else planned
        yield first
        for page in pages:
            if page.key not in self._fetched:
                yield self._page(page)

    async def parse_listing(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        refresh = meta_refresh(response)
        followed = self.follow_refresh(response, refresh)
        if followed is not None:
            yield followed
            return
        result = self.result(response, refresh)
        job = self.jobs[result.key.target]
        number = int(response.meta.get("monitor_page_number", 1))
        chain: dict[str, Any] = response.meta["monitor_chain"]
        if number == 1:
            chain["first"] = result
        else:
            result.role = Role.PART
            yield result
        if not isinstance(response, TextResponse) or not 200 <= response.status < 300:
            if number == 1:
                yield result  # the listing itself failed: recorded as such
            else:
                async for item in self._finish(chain, job, complete=False):
                    yield item
            return
        if job.sources:
            for request in self._sources(job, chain):
                yield request
            return
        # New articles are followed once every page of the listing is read: whether a
        # link is new, or an old one moving up, depends on the whole list (monitor.detect.listing).
        for url, text in article_links(response, job):
            chain["links"].setdefault(url, text)
        next_url = None
        if job.next_page and number < job.max_pages:
            nodes = _select(response, job.next_page)
            hrefs = [
                href
                for node in nodes
                for href in node.xpath("descendant-or-self::a/@href").getall()
            ]
            if hrefs:
                next_url = urljoin(response.url, hrefs[0])
        if next_url is None:
            async for item in self._finish(chain, job, complete=True):
                yield item
            return
        request = self.make_request(
            PageKey(job.target, canonical_url(next_url)),
            Role.PART,
            next_url,
            obey_robots=job.obey_robots,
            callback=self.parse_listing,
            extra={"monitor_page_number": number + 1, "monitor_chain": chain},
        )
        request.errback = self.listing_failed
        yield request

    async def listing_failed(self, failure: Failure) -> AsyncIterator[Any]:
        """A listing page could not be fetched: record it, and close its chain."""
        request = failure.request  # type: ignore[attr-defined]
        number = int(request.meta.get("monitor_page_number", 1))
        chain: dict[str, Any] = request.meta["monitor_chain"]
        for result in self.failed(failure):
            yield result
        if number > 1 and chain.get("first") is not None:
            job = self.jobs[request.meta["monitor_key"].target]
            async for item in self._finish(chain, job, complete=False):
                yield item

    # --- sitemaps and feeds ------------------------------------------------------------

    def _sources(self, job: ListingJob, chain: dict[str, Any]) -> list[Request]:
        chain.update(pending=0, failed=False, dates={}, sitemaps=set())
        requests = []
        for source in job.sources:
            if source.kind == "robots":
                requests.append(self._source_request(job, chain, "robots", robots_url(job.url)))
            else:
                requests.append(self._source_request(job, chain, source.kind, source.url))
        return requests

    def _source_request(
        self, job: ListingJob, chain: dict[str, Any], kind: str, url: str, depth: int = 0
    ) -> Request:
        chain["pending"] += 1
        meta: dict[str, Any] = {
            "monitor_chain": chain,
            "monitor_target": job.target,
            "monitor_source": kind,
            "monitor_depth": depth,
        }
        if not job.obey_robots:
            meta["dont_obey_robotstxt"] = True
        return Request(
            url,
            callback=self.parse_source,
            errback=self.source_failed,
            dont_filter=True,
            meta=meta,
        )

    async def parse_source(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """A sitemap, feed or robots.txt of a listing: its links joined to the listing's
        (parsed in a worker thread: a big sitemap must not hold up the loop)."""
        meta = response.meta
        chain: dict[str, Any] = meta["monitor_chain"]
        job = self.jobs[meta["monitor_target"]]
        kind = meta["monitor_source"]
        found: list[Entry] = []
        if not 200 <= response.status < 300:
            logger.warning(
                "listing %s: its %s %s answered %s", job.target, kind, response.url, response.status
            )
            chain["failed"] = kind != "robots" or response.status != 404
        else:
            try:
                found = await asyncio.to_thread(_read, kind, response.body, response.url, job)
            except ValueError as exc:
                logger.warning("listing %s: its %s %s: %s", job.target, kind, response.url, exc)
                chain["failed"] = True
        for entry in found:
            if entry.sitemap:
                if entry.url in chain["sitemaps"]:
                    continue
                depth = int(meta["monitor_depth"]) + (kind != "robots")
                if depth > MAX_SITEMAP_DEPTH or len(chain["sitemaps"]) >= MAX_SITEMAPS:
                    logger.warning("listing %s: sitemap %s not read (limit)", job.target, entry.url)
                    continue
                chain["sitemaps"].add(entry.url)
                yield self._source_request(job, chain, "sitemap", entry.url, depth)
                continue
            chain["links"].setdefault(entry.url, entry.title)
            if entry.lastmod:
                chain["dates"][entry.url] = entry.lastmod
        async for item in self._source_done(chain, job):
            yield item

    async def source_failed(self, failure: Failure) -> AsyncIterator[Any]:
        """A source could not be fetched: the listing is incomplete this time."""
        request = failure.request  # type: ignore[attr-defined]
        chain: dict[str, Any] = request.meta["monitor_chain"]
        job = self.jobs[request.meta["monitor_target"]]
        logger.warning("listing %s: could not fetch %s: %s", job.target, request.url, failure.value)
        chain["failed"] = True
        async for item in self._source_done(chain, job):
            yield item

    async def _source_done(self, chain: dict[str, Any], job: ListingJob) -> AsyncIterator[Any]:
        chain["pending"] -= 1
        if chain["pending"] > 0:
            return
        async for item in self._finish(chain, job, complete=not chain["failed"]):
            yield item


def _read(kind: str, body: bytes, base: str, job: ListingJob) -> list[Entry]:
    """A source's entries that may be the listing's: pages on its site matching its
    ``pattern`` (sitemaps named by an index are kept whatever their URL)."""
    pattern = re.compile(job.pattern) if job.pattern else None
    host = urlsplit(job.url).netloc.lower()
    kept: list[Entry] = []
    for entry in entries(cast(SourceKind, kind), body, base):
        if entry.sitemap:
            kept.append(entry)
            continue
        url = canonical_url(entry.url)
        if job.same_domain and urlsplit(url).netloc.lower() != host:
            continue
        if pattern is not None and not pattern.search(url):
            continue
        kept.append(Entry(url, entry.lastmod, entry.title))
    return kept
