"""The listing spider: read a listing page (and its next pages), follow its article links.

Every listing page and every article is fetched and yielded as a FetchResult; listing
results carry the article links found on them, so the monitor can tell which articles
are new and which have left the listing. Known articles that are no longer listed are
still fetched: they stay under watch.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from monitor.normalize import canonical_url
from monitor.records import FetchResult, PageKey
from spiders.base import MonitorSpider, meta_refresh


@dataclass(frozen=True, slots=True)
class ListingJob:
    """One listing target: where to start, which links are articles, what is known."""

    target: str
    url: str
    links: str | None = None  # "css:..." / "xpath:..." selecting <a> elements
    pattern: str | None = None  # regex an article URL must match
    next_page: str | None = None
    max_pages: int = 1
    same_domain: bool = True
    max_articles: int = 500
    known_articles: tuple[str, ...] = field(default=())
    # Known articles that have content: a suspected removal of these is confirmed.
    articles_with_content: frozenset[str] = field(default=frozenset())
    obey_robots: bool = True


def _anchors(response: TextResponse, expression: str | None) -> list[Any]:
    if expression is None:
        return list(response.xpath("//a[@href]"))
    kind, _, query = expression.partition(":")
    found = response.css(query) if kind == "css" else response.xpath(query)
    anchors = []
    for node in found:
        # A selector may point at the <a> itself or at a container holding it.
        anchors.extend([node] if node.root.tag == "a" else node.xpath(".//a[@href]"))
    return anchors


def article_links(response: TextResponse, job: ListingJob) -> list[tuple[str, str]]:
    """The article links on a listing page, in page order, without duplicates."""
    pattern = re.compile(job.pattern) if job.pattern else None
    host = urlsplit(job.url).netloc.lower()
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for anchor in _anchors(response, job.links):
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = canonical_url(urljoin(response.url, href))
        if job.same_domain and urlsplit(url).netloc.lower() != host:
            continue
        if pattern is not None and not pattern.search(url):
            continue
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

    def __init__(self, jobs: list[ListingJob] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs = {job.target: job for job in jobs or []}
        self._fetched: set[tuple[str, str]] = set()

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            key = PageKey(job.target, job.url)
            request = self.make_request(
                key,
                "listing",
                job.url,
                obey_robots=job.obey_robots,
                callback=self.parse_listing,
                extra={"monitor_page_number": 1, "monitor_chain": {"first": None, "links": {}}},
            )
            request.errback = self.listing_failed
            yield request
            for url in job.known_articles:
                # Known articles are checked whatever the listing says this time.
                yield self._article(job, url)

    def _article(self, job: ListingJob, url: str) -> Request:
        self._fetched.add((job.target, url))
        known = url in job.known_articles
        return self.make_request(
            PageKey(job.target, url),
            "article",
            url,
            obey_robots=job.obey_robots,
            extra={"monitor_confirm": url in job.articles_with_content, "monitor_probe": not known},
        )

    def _finish(self, chain: dict[str, Any], job: ListingJob, complete: bool) -> FetchResult:
        first: FetchResult = chain["first"]
        links = list(chain["links"].items())[: job.max_articles]
        first.article_links = links
        first.listing_complete = complete
        return first

    def parse_listing(self, response: Response, **kwargs: Any) -> Iterator[Any]:
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
            result.role = "part"
            yield result
        if not isinstance(response, TextResponse) or not 200 <= response.status < 300:
            if number == 1:
                yield result  # the listing itself failed: recorded as such
            else:
                yield self._finish(chain, job, complete=False)
            return
        for url, text in article_links(response, job):
            chain["links"].setdefault(url, text)
            if (job.target, url) not in self._fetched:
                yield self._article(job, url)
        next_url = None
        if job.next_page and number < job.max_pages:
            kind, _, query = job.next_page.partition(":")
            nodes = response.css(query) if kind == "css" else response.xpath(query)
            hrefs = nodes.xpath("descendant-or-self::a/@href").getall()
            if hrefs:
                next_url = urljoin(response.url, hrefs[0])
        if next_url is None:
            yield self._finish(chain, job, complete=True)
            return
        request = self.make_request(
            PageKey(job.target, canonical_url(next_url)),
            "part",
            next_url,
            obey_robots=job.obey_robots,
            callback=self.parse_listing,
            extra={"monitor_page_number": number + 1, "monitor_chain": chain},
        )
        request.errback = self.listing_failed
        yield request

    def listing_failed(self, failure: Failure) -> Iterator[Any]:
        """A listing page could not be fetched: record it, and close its chain."""
        request = failure.request  # type: ignore[attr-defined]
        results = list(self.failed(failure))
        number = int(request.meta.get("monitor_page_number", 1))
        chain: dict[str, Any] = request.meta["monitor_chain"]
        yield from results
        if number > 1 and chain.get("first") is not None:
            job = self.jobs[request.meta["monitor_key"].target]
            yield self._finish(chain, job, complete=False)
