"""A page's past from a web archive's CDX index: ``monitor backfill``.

The CDX server (the Internet Archive's CDX API by default; any server speaking its JSON
output, e.g. pywb's) lists the captures of a URL with their time and payload digest.
Only captures whose digest differs from the previous one are fetched (the same bytes
archived again say nothing new), one at a time with the configured delay between
requests, from the archive's replay server in its raw mode (``{timestamp}id_/{url}``:
the page as it was served, without the archive's banner). Each becomes a past capture
(:class:`monitor.records.Imported`) whose provenance is the archive's URL of it.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.exceptions import EvidenceError
from monitor.records import Imported

logger = logging.getLogger(__name__)

CDX_API = "https://web.archive.org/cdx/search/cdx"
REPLAY = "https://web.archive.org/web"


@dataclass(frozen=True, slots=True)
class CdxCapture:
    """One line of a CDX answer."""

    timestamp: str  # yyyyMMddhhmmss, UTC
    original: str
    status: int | None
    digest: str
    mimetype: str = ""

    @property
    def captured_at(self) -> datetime:
        return datetime.strptime(self.timestamp[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(
            tzinfo=UTC
        )


def parse_cdx(text: str) -> list[CdxCapture]:
    """The captures of a CDX answer in JSON output (a header row, then rows).

    >>> rows = [["timestamp", "original", "statuscode", "digest"],
    ...         ["20200102030405", "http://e.org/", "200", "AAA"]]
    >>> parse_cdx(json.dumps(rows))[0].captured_at.isoformat()
    '2020-01-02T03:04:05+00:00'
    """
    data = json.loads(text) if text.strip() else []
    if not data:
        return []
    header = [str(name) for name in data[0]]
    found = []
    for row in data[1:]:
        values = dict(zip(header, row, strict=False))
        status = str(values.get("statuscode", ""))
        found.append(
            CdxCapture(
                timestamp=str(values["timestamp"]),
                original=str(values["original"]),
                status=int(status) if status.isdigit() else None,
                digest=str(values.get("digest", "")),
                mimetype=str(values.get("mimetype", "")),
            )
        )
    return found


def changes_only(captures: list[CdxCapture]) -> list[CdxCapture]:
    """The captures whose digest differs from the previous one's, in time order.

    >>> rows = [CdxCapture(t, "u", 200, d) for t, d in [("1", "A"), ("2", "A"), ("3", "B")]]
    >>> [c.timestamp for c in changes_only(rows)]
    ['1', '3']
    """
    chosen: list[CdxCapture] = []
    last = None
    for capture in sorted(captures, key=lambda c: c.timestamp):
        if capture.digest and capture.digest == last:
            continue
        last = capture.digest
        chosen.append(capture)
    return chosen


class Archive:
    """A CDX server and its replay server, asked politely (``delay`` between requests)."""

    def __init__(
        self,
        cdx: str = CDX_API,
        replay: str = REPLAY,
        *,
        user_agent: str = "monitor",
        delay: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cdx = cdx
        self.replay = replay.rstrip("/")
        self.user_agent = user_agent
        self.delay = delay
        self.timeout = timeout
        self._sleep = sleep
        self._last = 0.0
        self.requests = 0

    def _get(self, url: str) -> tuple[int, dict[str, str], bytes]:
        wait = self._last + self.delay - time.monotonic()
        if self.requests and wait > 0:
            self._sleep(wait)
        self.requests += 1
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, headers, body = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, dict(exc.headers or {}), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise EvidenceError(f"cannot reach {url}: {exc}") from exc
        finally:
            self._last = time.monotonic()
        return status, {k.lower(): v for k, v in headers.items()}, body

    def captures(self, url: str, since: datetime | None = None) -> list[CdxCapture]:
        """Every capture of ``url`` the CDX server lists (since ``since``)."""
        query = {
            "url": url,
            "output": "json",
            "fl": "timestamp,original,statuscode,digest,mimetype",
        }
        if since is not None:
            query["from"] = since.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        status, _headers, body = self._get(f"{self.cdx}?{urllib.parse.urlencode(query)}")
        if status != 200:
            raise EvidenceError(f"the CDX server {self.cdx} answered {status} for {url}")
        try:
            return parse_cdx(body.decode("utf-8"))
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise EvidenceError(f"the CDX server {self.cdx} gave no CDX JSON: {exc}") from exc

    def archive_url(self, capture: CdxCapture) -> str:
        """Where a person sees the capture in the archive."""
        return f"{self.replay}/{capture.timestamp}/{capture.original}"

    def fetch(self, capture: CdxCapture) -> Imported:
        """The page as archived (raw: ``id_``), as a past capture."""
        status, headers, body = self._get(
            f"{self.replay}/{capture.timestamp}id_/{capture.original}"
        )
        if status >= 500 or (
            status >= 400 and capture.status is not None and status != capture.status
        ):
            raise EvidenceError(f"the archive answered {status} for {self.archive_url(capture)}")
        kept = {
            name: value
            for name, value in headers.items()
            if name in ("content-type", "content-language", "last-modified", "etag")
        }
        return Imported(
            url=capture.original,
            captured_at=capture.captured_at,
            status=capture.status or status,
            headers=kept,
            body=body,
            source="archive",
            provenance=self.archive_url(capture),
        )

    def backfill(self, url: str, since: datetime | None = None) -> Iterator[Imported]:
        """The archive's captures of ``url`` whose content changed, oldest first."""
        listed = self.captures(url, since)
        chosen = changes_only(listed)
        logger.info(
            "%s: %d captures in the archive, %d with new content", url, len(listed), len(chosen)
        )
        for capture in chosen:
            yield self.fetch(capture)
