"""The Scrapy item pipeline: every FetchResult a spider yields goes to the check's sink."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from scrapy.crawler import Crawler

from monitor.records import FetchResult

logger = logging.getLogger(__name__)


class FetchSink(Protocol):
    """Where a crawl's fetches go (:class:`monitor.check.sink.Sink`)."""

    def accept(self, fetch: FetchResult) -> None: ...

    def flush(self) -> None: ...


class RecordPipeline:
    """Scrapy item pipeline handing every FetchResult to the crawl's Sink."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    @property
    def sink(self) -> FetchSink:
        sink: FetchSink = self.crawler.spider.sink  # type: ignore[union-attr]
        return sink

    def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchResult):
            self.sink.accept(item)
        return item

    def close_spider(self) -> None:
        self.sink.flush()
