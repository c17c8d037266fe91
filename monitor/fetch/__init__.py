"""Fetching: the bridge between a check and Scrapy (the spiders live in ``spiders/``).

- :mod:`monitor.fetch.reactor`: the one Twisted reactor of the process, on asyncio
- :mod:`monitor.fetch.settings`: Scrapy settings from the config's ``fetch`` section
- :mod:`monitor.fetch.runner`: one crawl per spider kind (``AsyncCrawlerRunner``)
- :mod:`monitor.fetch.pipeline`: the item pipeline handing FetchResults to the check's sink

Nothing here decides or stores: a FetchResult leaves through :class:`FetchSink`.
"""

from __future__ import annotations

__all__: list[str] = []
