"""Scrapy spiders of the monitor: single pages and listing pages with their articles.

Spiders only fetch: each response or network failure becomes a plain
:class:`monitor.records.FetchResult`; deciding what it means is the pipeline's job.
"""

from .listing import ListingJob, ListingSpider
from .page import PageJob, PageSpider

__all__ = ["ListingJob", "ListingSpider", "PageJob", "PageSpider"]
