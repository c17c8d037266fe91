"""Scrapy spiders of the monitor: single pages and listing pages with their articles.

Spiders only fetch: each response or network failure becomes a plain
:class:`monitor.records.FetchResult`; deciding what it means is the pipeline's job.
"""

from spiders.listing import ListingJob, ListingSpider
from spiders.page import PageJob, PageSpider

__all__ = ["ListingJob", "ListingSpider", "PageJob", "PageSpider"]
