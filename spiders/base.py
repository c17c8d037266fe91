"""What every monitor spider shares: building requests and turning answers into FetchResults."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.response import get_meta_refresh
from twisted.python.failure import Failure

from monitor.detect import documents, quality
from monitor.detect.normalize import canonical_url
from monitor.records import FetchOptions, FetchResult, PageKey
from monitor.selector import Selector
from monitor.vocab import Purpose, Role

logger = logging.getLogger(__name__)

# Network failures by exception class name, from Twisted, Scrapy and OpenSSL.
_ERROR_KINDS = {
    "TimeoutError": "timeout",
    "DownloadTimeoutError": "timeout",
    "TCPTimedOutError": "timeout",
    "DNSLookupError": "dns",
    "ConnectionRefusedError": "connection",
    "ConnectError": "connection",
    "ConnectionLost": "connection",
    "ConnectionDone": "connection",
    "ResponseNeverReceived": "connection",
    "ResponseFailed": "connection",
    "PotentialDataLoss": "truncated",
    "SSLError": "tls",
    "Error": "tls",
    "CancelledError": "cancelled",
    "DownloadCancelledError": "too_large",
    "DownloadFailedError": "connection",
    # monitor.fetch.private: a redirect from a public address into a private one.
    "PrivateAddressRefused": "private_address",
}


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def quick_title(body: bytes) -> str | None:
    """The page's <title>, found without parsing the document (for soft-404 checks)."""
    match = _TITLE.search(body[:65536])
    if match is None:
        return None
    return " ".join(match.group(1).decode("utf-8", errors="replace").split())


# A <meta http-equiv="refresh"> this quick (in seconds) is a redirect: no reader sees the
# page before it moves on. A slower one is part of the page as served.
IMMEDIATE_REFRESH = 1.0
# Hops of redirects (HTTP and meta refresh together) before a page is taken as served.
MAX_REFRESH_HOPS = 10


def meta_refresh(response: Response) -> tuple[float, str] | None:
    """The page's <meta http-equiv="refresh"> as (delay in seconds, absolute URL), if any.

    Only the document's start is read (where Scrapy and browsers look); a refresh inside
    <script> or <noscript> is ignored, and a refresh to the page itself (a reload) is none.
    """
    if not isinstance(response, TextResponse) or b"refresh" not in response.body[:8192].lower():
        return None
    delay, url = get_meta_refresh(response, ignore_tags=("script", "noscript"))
    if delay is None or url is None or url == response.url:
        return None
    return delay, url


def conditional(request: Request, etag: str | None, last_modified: str | None) -> None:
    """Make a request conditional on the validators of the last good answer (a 304 then
    costs the site and us almost nothing)."""
    if etag:
        request.headers["If-None-Match"] = etag
    if last_modified:
        request.headers["If-Modified-Since"] = last_modified


def request_headers(request: Request) -> dict[str, str]:
    """The request as sent: its method and headers (for the WARC request record).

    Secrets are not recorded: a proxy's credentials never, and header or cookie values
    taken from the environment as the target's options say (``FetchOptions.redact``).
    """
    headers = {":method": request.method}
    for name, values in request.headers.items():
        headers[name.decode("latin-1").lower()] = ", ".join(v.decode("latin-1") for v in values)
    options: FetchOptions | None = request.meta.get("monitor_options")
    if options is not None:
        return options.redact(headers)
    headers.pop("proxy-authorization", None)
    return headers


def header_dict(response: Response) -> dict[str, str]:
    """Response headers as a plain dict of lower-case names (repeated values joined)."""
    headers: dict[str, str] = {}
    for name, values in response.headers.items():
        key = name.decode("latin-1").lower()
        joined = "\n" if key == "set-cookie" else ", "
        headers[key] = joined.join(value.decode("latin-1") for value in values)
    return headers


# A page's attachments: the document links of its content region, at most this many.
MAX_ATTACHMENTS = 30
# A link to a document somewhere in the page's bytes, found without parsing it.
_DOCUMENT_HREF = re.compile(rb"(?i)\.(?:pdf|docx|odt)(?:[\"'?#\s>]|$)")
# Anchors outside the page's chrome: where its attachments are when no region is set.
_CONTENT_ANCHORS = (
    "//a[@href][not(ancestor::nav or ancestor::aside or ancestor::header or ancestor::footer"
    " or ancestor::*[@role='navigation' or @role='banner' or @role='contentinfo']"
    " or ancestor::*[@role='complementary'])]"
)


def attachment_links(response: Response, region: Selector | None = None) -> list[str]:
    """The addresses of the documents (.pdf, .docx, .odt) a page links to from its content
    region (``region``; else the page less its navigation, header, footer and asides),
    canonical, each once, in page order."""
    if not isinstance(response, TextResponse) or _DOCUMENT_HREF.search(response.body) is None:
        return []  # most pages link no document: they are not parsed here (the loop's time)
    if region is None:
        anchors = list(response.xpath(_CONTENT_ANCHORS))
    else:
        nodes = response.css(region.query) if region.kind == "css" else response.xpath(region.query)
        anchors = [
            a
            for node in nodes
            for a in ([node] if node.root.tag == "a" else node.xpath(".//a[@href]"))
        ]
    found: dict[str, None] = {}
    for anchor in anchors:
        href = (anchor.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = canonical_url(urljoin(response.url, href))
        if documents.is_document_link(url):
            found[url] = None
    return list(found)[:MAX_ATTACHMENTS]


class MonitorSpider(scrapy.Spider):
    """Base spider: requests carry their page key; every outcome yields a FetchResult."""

    name = "monitor-base"
    # Each target's request options (headers, cookies, proxy, rendering), by target name:
    # given to the crawl with the jobs; monitor.fetch.options applies them to requests.
    options: Mapping[str, FetchOptions] = MappingProxyType({})

    @property
    def site_options(self) -> dict[str, FetchOptions]:
        """The options of the first target seen on each host (``host:port``)."""
        known: dict[str, FetchOptions] | None = self.__dict__.get("_site_options")
        if known is None:
            known = self.__dict__["_site_options"] = {}
        return known

    def make_request(
        self,
        key: PageKey,
        role: Role,
        url: str,
        *,
        obey_robots: bool = True,
        callback: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> Request:
        meta: dict[str, Any] = {"monitor_key": key, "monitor_role": role, **(extra or {})}
        options = self.options.get(key.target)
        if options:
            meta["monitor_options"] = options
            # The site's robots.txt is asked for the same way (same proxy, same headers).
            self.site_options.setdefault(urlsplit(url).netloc, options)
        if not obey_robots:
            meta["dont_obey_robotstxt"] = True
        return Request(
            url,
            callback=callback or self.parse,
            errback=self.failed,
            dont_filter=True,
            meta=meta,
        )

    def follow_refresh(
        self, response: Response, refresh: tuple[float, str] | None
    ) -> Request | None:
        """The request that follows an immediate meta refresh to the same site, as a
        redirect would be followed (the hop joins the capture's redirect chain)."""
        if refresh is None or not 200 <= response.status < 300:
            return None
        delay, url = refresh
        request = response.request
        hops = len(response.meta.get("redirect_urls", []))
        if (
            request is None
            or delay > IMMEDIATE_REFRESH
            or not quality.same_site(response.url, url)
            or hops >= MAX_REFRESH_HOPS
            or url in response.meta.get("redirect_urls", [])
        ):
            return None
        meta = {
            **request.meta,
            "redirect_urls": [*response.meta.get("redirect_urls", []), response.url],
            "redirect_reasons": [*response.meta.get("redirect_reasons", []), "meta refresh"],
        }
        followed = request.replace(url=url, meta=meta, dont_filter=True)
        for validator in (b"If-None-Match", b"If-Modified-Since"):
            followed.headers.pop(validator, None)  # they belong to the first URL
        logger.debug("following the meta refresh of %s to %s", response.url, url)
        return followed

    def result(self, response: Response, refresh: tuple[float, str] | None = None) -> FetchResult:
        meta = response.meta
        latency = float(meta.get("download_latency", 0.0))
        redirect_urls = meta.get("redirect_urls", [])
        reasons = meta.get("redirect_reasons", [])
        redirects = [
            {"url": url, "status": reasons[index] if index < len(reasons) else None}
            for index, url in enumerate(redirect_urls)
        ]
        requested = redirect_urls[0] if redirect_urls else response.url
        return FetchResult(
            purpose=meta.get("monitor_purpose", Purpose.CHECK),
            key=meta["monitor_key"],
            role=meta["monitor_role"],
            requested_url=requested,
            started_at=datetime.now(UTC) - timedelta(seconds=latency),
            duration_ms=latency * 1000.0,
            final_url=response.url,
            redirects=redirects,
            status=response.status,
            headers=header_dict(response),
            body=response.body,
            request_headers=request_headers(response.request) if response.request else {},
            protocol=response.protocol,
            refresh=refresh,
            proxy=meta.get("monitor_proxy"),
            renderer=meta.get("monitor_renderer"),
            raw_body=meta.get("monitor_raw_body"),
            parent=meta.get("monitor_parent"),
        )

    # Seconds before a second fetch: from the settings MONITOR_CONFIRM_DELAY and
    # MONITOR_PROBE_DELAY when the crawler has them (the monitor's config), else these.
    confirm_delay: float = 10.0
    probe_delay: float = 5.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.confirm_delay = settings.getfloat("MONITOR_CONFIRM_DELAY", cls.confirm_delay)
        spider.probe_delay = settings.getfloat("MONITOR_PROBE_DELAY", cls.probe_delay)
        return spider

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        refresh = meta_refresh(response)
        followed = self.follow_refresh(response, refresh)
        if followed is not None:
            yield followed
            return
        result = self.result(response, refresh)
        yield result
        for request in self.attachments(response, result):
            yield request
        follow_up = self.follow_up(response, result)
        if follow_up is not None:
            delay, request = follow_up
            await asyncio.sleep(delay)
            yield request

    def attachments(self, response: Response, result: FetchResult) -> list[Request]:
        """Requests for the documents a checked page links to from its content (when its
        target watches attachments): each is a page of role ``attachment`` whose fetch
        names the page it belongs to (``FetchResult.parent``)."""
        meta = response.meta
        if (
            not meta.get("monitor_attachments")
            or result.purpose != Purpose.CHECK
            or result.role not in (Role.PAGE, Role.ARTICLE)
            or result.status is None
            or not 200 <= result.status < 300
        ):
            return []
        parent: PageKey = meta["monitor_key"]
        requests = []
        for url in attachment_links(response, meta.get("monitor_attachments_in")):
            if url == parent.url:
                continue
            requests.append(
                self.make_request(
                    PageKey(parent.target, url),
                    Role.ATTACHMENT,
                    url,
                    obey_robots=not meta.get("dont_obey_robotstxt", False),
                    extra={"monitor_parent": parent, "monitor_confirm": True},
                )
            )
        return requests

    def follow_up(self, response: Response, result: FetchResult) -> tuple[float, Request] | None:
        """A second fetch, when one is due: confirm a suspected removal, or probe a new page.

        A single failed fetch is never a removal: a page that had content and now looks
        removed is fetched again after ``confirm_delay``. A page seen for the first time
        is fetched again after ``probe_delay``, to learn what changes on every visit.
        """
        meta = response.meta
        if result.purpose != Purpose.CHECK or result.role in (Role.LISTING, Role.PART):
            return None
        title = None
        body = None
        if meta.get("monitor_confirm") and result.status and result.status < 300:
            # Whatever the target's selector, the page as a whole is what was removed.
            title = quick_title(result.body)
            body = result.body
        removal = quality.quick_removal(
            result.status,
            result.requested_url,
            result.final_url,
            title,
            len(result.body),
            body=body,
        )
        if removal and meta.get("monitor_confirm"):
            return self.confirm_delay, self.again(response, Purpose.CONFIRM)
        if (
            not removal
            and meta.get("monitor_probe")
            and result.status is not None
            and 200 <= result.status < 300
        ):
            return self.probe_delay, self.again(response, Purpose.PROBE)
        return None

    def again(self, response: Response, purpose: str) -> Request:
        meta = response.meta
        key: PageKey = meta["monitor_key"]
        request = self.make_request(
            key,
            meta["monitor_role"],
            key.url,
            obey_robots=not meta.get("dont_obey_robotstxt", False),
            extra={"monitor_purpose": purpose, "monitor_parent": meta.get("monitor_parent")},
        )
        return request

    def failed(self, failure: Failure) -> Iterator[Any]:
        request: Request = failure.request  # type: ignore[attr-defined]
        exc = failure.value
        kind = _ERROR_KINDS.get(type(exc).__name__, "error")
        message = str(exc) or type(exc).__name__
        if isinstance(exc, IgnoreRequest) and kind == "error":
            if "robots.txt" in message.lower():
                kind = "robots"
                message = "forbidden by the site's robots.txt"
            elif "redirect" in message.lower():
                kind = "redirect_loop"
            else:
                kind = "ignored"
        if "dataloss" in message.lower().replace(" ", "").replace("_", ""):
            kind = "truncated"
            message = "the body was truncated: fewer bytes arrived than Content-Length announced"
        if kind in ("cancelled", "too_large") and "max size" in message:
            kind = "too_large"
            message = f"the body is larger than fetch.max_body_size ({message})"
        if kind == "redirect_loop":
            message = f"too many redirects, probably a redirect loop ({message})"
        if type(exc).__module__.startswith("playwright"):
            # The browser: a wait condition never met, a crash it did not recover from.
            kind = "browser"
            message = f"the browser: {message.strip().splitlines()[0] if message.strip() else kind}"
        if kind == "timeout":
            message = f"timed out: {message}"
        logger.debug("fetch of %s failed: %s (%s)", request.url, message, kind)
        key: PageKey = request.meta["monitor_key"]
        yield FetchResult(
            purpose=request.meta.get("monitor_purpose", Purpose.CHECK),
            key=key,
            role=request.meta["monitor_role"],
            requested_url=request.meta.get("redirect_urls", [request.url])[0],
            started_at=datetime.now(UTC),
            duration_ms=0.0,
            final_url=request.url,
            error=f"{type(exc).__name__}: {message}",
            error_kind=kind,
            proxy=request.meta.get("monitor_proxy"),
            renderer=request.meta.get("monitor_renderer"),
            parent=request.meta.get("monitor_parent"),
        )
