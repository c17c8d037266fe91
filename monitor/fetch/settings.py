"""Scrapy settings from the config's ``fetch`` section: polite by default.

Redirects and meta refreshes from a public address into a private one are refused by
:class:`monitor.fetch.private.PrivateRedirectMiddleware`, told by ``MONITOR_ALLOW_PRIVATE``
(``fetch.allow_private``), ``MONITOR_ALLOW_PRIVATE_TARGETS`` (the targets with
``allow_private: true``) and ``MONITOR_PUBLIC_NETWORKS`` (``fetch.public_networks``).

Two settings of the monitor's own carry the ``detect`` section to the spiders (read in
their ``from_crawler``): ``MONITOR_CONFIRM_DELAY`` (seconds before a suspected removal is
fetched again) and ``MONITOR_PROBE_DELAY`` (seconds before a new page is fetched again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy.settings import default_settings

from monitor import __version__
from monitor import config as cfg
from monitor.fetch.options import PRIORITY as OPTIONS_PRIORITY
from monitor.fetch.politeness import PRIORITY as GATE_PRIORITY
from monitor.fetch.robots import PRIORITY as SHARED_ROBOTS_PRIORITY
from monitor.fetch.robots import ROBOTS_PRIORITY

logger = logging.getLogger(__name__)

RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

#: With DOWNLOAD_DELAY 0, Scrapy 2.19 hands every queued request of a site to the
#: download handler at once (a request counts as transferring only once its coroutine
#: runs), so CONCURRENT_REQUESTS_PER_DOMAIN does not hold: 12-14 in flight measured with
#: a limit of 2. Any delay above 0 makes it take them one at a time and the limit holds.
MIN_DELAY = 0.001

#: Scrapy components a check never uses (switched off below as well): left out of
#: Scrapy's base lists so that their modules are not imported.
UNUSED_EXTENSIONS = frozenset(
    {
        "scrapy.extensions.remote_control.RemoteControl",
        "scrapy.extensions.telnet.TelnetConsole",
        "scrapy.extensions.memdebug.MemoryDebugger",
        "scrapy.extensions.feedexport.FeedExporter",
        "scrapy.extensions.spiderstate.SpiderState",
    }
)
UNUSED_MIDDLEWARES = frozenset(
    {
        "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
        "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
    }
)


def _without(base: dict[str, int], unused: frozenset[str]) -> dict[str, int]:
    """``base`` without the ``unused`` components."""
    return {name: order for name, order in base.items() if name not in unused}


def scrapy_settings(
    fetch: cfg.Fetch,
    *,
    obey_robots: bool,
    detect: cfg.Detect | None = None,
    allow_private: Iterable[str] = (),
) -> dict[str, Any]:
    """Scrapy settings from the ``fetch`` section (and ``detect``'s delays);
    ``allow_private``: the targets that may be redirected into private addresses."""
    monitor: dict[str, Any] = {}
    if detect is not None:
        monitor = {
            "MONITOR_CONFIRM_DELAY": detect.confirm_removal_after,
            "MONITOR_PROBE_DELAY": detect.probe_delay,
        }
    return {
        **monitor,
        "BOT_NAME": "monitor",
        "USER_AGENT": fetch.user_agent.format(version=__version__, contact=fetch.contact),
        "ROBOTSTXT_OBEY": obey_robots,
        "CONCURRENT_REQUESTS": fetch.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": fetch.per_domain_concurrency,
        "DOWNLOAD_DELAY": max(fetch.delay, MIN_DELAY),
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "DOWNLOAD_TIMEOUT": fetch.timeout,
        "DOWNLOAD_MAXSIZE": fetch.max_body_size,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_ENABLED": fetch.retries > 0,
        "RETRY_TIMES": fetch.retries,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "HTTPERROR_ALLOW_ALL": True,
        "REDIRECT_MAX_TIMES": 10,
        # A meta refresh is judged by the spiders (spiders.base.meta_refresh): an immediate
        # one on the same site is followed like a redirect, any other is recorded as served.
        "METAREFRESH_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy 2.19 opens a remote-control port by default: never in a monitor.
        "REMOTE_CONTROL_ENABLED": False,
        # Components that are off are left out of Scrapy's base lists, so they are not
        # even imported (Scrapy imports every listed one, None or not): the remote
        # control's module (aiohttp) and the cookie middleware's (tldextract) cost ~150 ms
        # of every check's start-up. A target's cookies are a header (monitor.fetch.options).
        "EXTENSIONS_BASE": _without(default_settings.EXTENSIONS_BASE, UNUSED_EXTENSIONS),
        "DOWNLOADER_MIDDLEWARES_BASE": _without(
            default_settings.DOWNLOADER_MIDDLEWARES_BASE, UNUSED_MIDDLEWARES
        ),
        "AUTOTHROTTLE_ENABLED": fetch.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(fetch.delay, 1.0),
        "HTTPCACHE_ENABLED": False,
        "LOG_ENABLED": False,
        "ITEM_PIPELINES": {"monitor.fetch.pipeline.RecordPipeline": 100},
        # Before robots.txt (100): a refused hop costs the private host no request at all,
        # and a robots.txt the crawl's shared cache holds costs the site none
        # (monitor.fetch.robots, given by the cluster's workers). Scrapy's robots.txt
        # middleware lets all but one of the requests that waited for robots.txt through
        # unjudged: monitor.fetch.robots.RobotsMiddleware takes its place.
        # Then a target's headers, cookies, User-Agent, proxy and rendering
        # (monitor.fetch.options). Last before the download: the per-site limit, held
        # exactly (monitor.fetch.politeness).
        "DOWNLOADER_MIDDLEWARES": {
            "monitor.fetch.private.PrivateRedirectMiddleware": 60,
            "monitor.fetch.robots.SharedRobotsMiddleware": SHARED_ROBOTS_PRIORITY,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "monitor.fetch.robots.RobotsMiddleware": ROBOTS_PRIORITY,
            "monitor.fetch.options.RequestOptionsMiddleware": OPTIONS_PRIORITY,
            "monitor.fetch.politeness.SiteGateMiddleware": GATE_PRIORITY,
        },
        "MONITOR_ALLOW_PRIVATE": fetch.allow_private,
        "MONITOR_ALLOW_PRIVATE_TARGETS": sorted(set(allow_private)),
        "MONITOR_PUBLIC_NETWORKS": list(fetch.public_networks),
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "STATS_DUMP": False,
        # A response yields at most a few items; Scrapy's default of 100 parallel item
        # slots per response costs ~100 asyncio tasks per page for nothing.
        "CONCURRENT_ITEMS": 8,
        "LOGSTATS_INTERVAL": 0,
    }
