"""The Scrapy item pipeline: every FetchResult a spider yields goes to the check's sink.

Wired the Scrapy way: :func:`use_sink` registers the sink of a crawl for its
:class:`~scrapy.crawler.Crawler` before the crawl starts (:func:`monitor.fetch.runner.crawl`
does), the pipeline finds it in :meth:`RecordPipeline.from_crawler` (and disables itself
with ``NotConfigured`` for a crawl that has none), and the ``spider_closed`` signal
flushes the sink.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from monitor.records import FetchResult

logger = logging.getLogger(__name__)


class FetchSink(Protocol):
    """Where a crawl's fetches go (:class:`monitor.check.sink.Sink`)."""

    def accept(self, fetch: FetchResult) -> Awaitable[None] | None:
        """Take one fetch; an awaitable when the crawl should wait (the sink is full)."""

    def flush(self) -> None:
        """Write what is pending (a spider closed)."""


_sinks: WeakKeyDictionary[Crawler, FetchSink] = WeakKeyDictionary()


def use_sink(crawler: Crawler, sink: FetchSink) -> None:
    """Send the fetches of ``crawler``'s crawl to ``sink``."""
    _sinks[crawler] = sink


class RecordPipeline:
    """Scrapy item pipeline handing every FetchResult to the crawl's sink."""

    def __init__(self, sink: FetchSink) -> None:
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        sink = _sinks.get(crawler)
        if sink is None:
            raise NotConfigured("no sink for this crawl (monitor.fetch.pipeline.use_sink)")
        pipeline = cls(sink)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchResult):
            waiting = self.sink.accept(item)
            if waiting is not None:
                await waiting
        return item

    def spider_closed(self, spider: Spider) -> None:
        self.sink.flush()
