"""The single-page spider: fetch each watched URL once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from scrapy.http import Request

from monitor.records import PageKey
from monitor.selector import Selector
from monitor.vocab import Role

from .base import MonitorSpider, conditional


@dataclass(frozen=True, slots=True)
class PageJob:
    """One URL to fetch in this crawl."""

    key: PageKey
    role: Role = Role.PAGE
    obey_robots: bool = True
    confirm: bool = False  # the page has content: confirm a suspected removal
    probe: bool = False  # first sight of the page: fetch twice to learn its noise
    etag: str | None = None  # sent back as If-None-Match
    last_modified: str | None = None  # sent back as If-Modified-Since
    attachments: bool = False  # fetch the documents its content links to, as attachments
    region: Selector | None = None  # where its attachments are linked (else: not in chrome)


class PageSpider(MonitorSpider):
    """Fetches a fixed list of pages; yields one FetchResult per page."""

    name = "page"

    def __init__(self, jobs: list[PageJob] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jobs = list(jobs or [])

    async def start(self) -> AsyncIterator[Request]:
        for job in self.jobs:
            request = self.make_request(
                job.key,
                job.role,
                job.key.url,
                obey_robots=job.obey_robots,
                extra={
                    "monitor_confirm": job.confirm,
                    "monitor_probe": job.probe,
                    "monitor_attachments": job.attachments,
                    "monitor_attachments_in": job.region,
                },
            )
            conditional(request, job.etag, job.last_modified)
            yield request
