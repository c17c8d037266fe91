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

from monitor.normalize import canonical_url
from monitor.records import PageKey
from spiders.base import MonitorSpider


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
    """Fetches listing pages, follows their article links and fetches every article."""

    name = "listing"

    def __init__(self, jobs: list[ListingJob] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs = {job.target: job for job in jobs or []}
        self._fetched: set[tuple[str, str]] = set()

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs.values():
            key = PageKey(job.target, job.url)
            yield self.make_request(
                key,
                "listing",
                job.url,
                obey_robots=job.obey_robots,
                callback=self.parse_listing,
                extra={"monitor_page_number": 1},
            )
            for url in job.known_articles:
                # Known articles are checked whatever the listing says this time.
                yield self._article(job, url)

    def _article(self, job: ListingJob, url: str) -> Request:
        self._fetched.add((job.target, url))
        return self.make_request(
            PageKey(job.target, url), "article", url, obey_robots=job.obey_robots
        )

    def parse_listing(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        result = self.result(response)
        job = self.jobs[result.key.target]
        if not isinstance(response, TextResponse) or not 200 <= response.status < 300:
            yield result
            return
        links = article_links(response, job)[: job.max_articles]
        result.article_links = links
        yield result
        for url, _text in links:
            if (job.target, url) not in self._fetched:
                yield self._article(job, url)
        number = int(response.meta.get("monitor_page_number", 1))
        if job.next_page and number < job.max_pages:
            kind, _, query = job.next_page.partition(":")
            nodes = response.css(query) if kind == "css" else response.xpath(query)
            hrefs = nodes.xpath("descendant-or-self::a/@href").getall()
            if hrefs:
                url = urljoin(response.url, hrefs[0])
                yield self.make_request(
                    PageKey(job.target, canonical_url(url)),
                    "listing",
                    url,
                    obey_robots=job.obey_robots,
                    callback=self.parse_listing,
                    extra={"monitor_page_number": number + 1},
                )
