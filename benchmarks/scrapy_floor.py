"""The floor of any check built on Scrapy: a process that only fetches a list of URLs.

``python benchmarks/scrapy_floor.py CONCURRENCY URLS_FILE`` starts Python, imports Scrapy,
starts one crawler with plain Scrapy settings (no delay, no robots.txt, no retries, every
status handed to the spider, ``CONCURRENCY`` requests in flight per domain) and fetches
every URL of the file once, keeping nothing but the sha256 of each body and its status.
No parsing, no database, no config. ``peers.py`` times it beside ``monitor check`` and
urlwatch on the same pages: no tool that fetches with Scrapy (as the monitor's design
requires) can finish a cycle faster than this process does.

It prints one line: ``fetched N: S x 200, T x 404, F failed``.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    concurrency, urls = int(argv[1]), Path(argv[2]).read_text().split()

    import scrapy
    from scrapy.crawler import AsyncCrawlerProcess

    statuses: Counter[str] = Counter()

    class FloorSpider(scrapy.Spider):
        name = "floor"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, dont_filter=True, errback=self.failed)

        def parse(self, response: Any, **kwargs: Any) -> Any:
            hashlib.sha256(response.body).hexdigest()
            statuses[str(response.status)] += 1
            return None

        def failed(self, failure: Any) -> None:
            statuses["failed"] += 1

    process = AsyncCrawlerProcess(
        {
            "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": False,
            "RETRY_ENABLED": False,
            "HTTPERROR_ALLOW_ALL": True,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "REMOTE_CONTROL_ENABLED": False,
            "LOG_ENABLED": False,
        }
    )
    process.crawl(FloorSpider)
    process.start(install_signal_handlers=False)
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
    print(f"fetched {sum(statuses.values())}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
