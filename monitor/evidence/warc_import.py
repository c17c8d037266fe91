"""Reading pages out of WARC files: web archives, a colleague's crawl, our own exports.

Every ``response`` record of an HTTP exchange is a past capture (its URL, time, status,
headers and decoded body); a ``revisit`` record (the same payload seen again: written by
crawlers that deduplicate, such as warcio-based ones) is a capture of the body its
payload digest (or its ``WARC-Refers-To-*`` headers) points at, earlier in the files
read. ``request`` records give their response's request headers; ``warcinfo`` and
``metadata`` records are skipped. The provenance of each capture is ``file#offset`` of
its record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from monitor.evidence.warc import RENAMED_PREFIX
from monitor.exceptions import EvidenceError
from monitor.records import Imported

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class WarcReading:
    """What reading WARC files found: captures, and records left out (by reason)."""

    captures: list[Imported] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _date(value: str | None) -> datetime:
    if not value:
        raise ValueError("no WARC-Date")
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _headers(record: Any) -> dict[str, str]:
    """HTTP headers as the monitor keeps them: lower-case names, repeats joined; names our
    own WARC writer renamed (a header that no longer describes the stored body) restored."""
    headers: dict[str, str] = {}
    for name, value in record.http_headers.headers:
        key = name.lower()
        if key.startswith(RENAMED_PREFIX):
            key = key[len(RENAMED_PREFIX) :]
            if key in ("transfer-encoding", "content-length"):
                continue  # they described the bytes on the wire, not the body kept
        joined = "\n" if key == "set-cookie" else ", "
        headers[key] = f"{headers[key]}{joined}{value}" if key in headers else value
    return headers


def read_warcs(paths: Sequence[Path]) -> WarcReading:
    """The past captures in these WARC files (gzipped or not), in the order read."""
    reading = WarcReading()
    bodies: dict[str, tuple[bytes, int, dict[str, str]]] = {}  # payload digest -> answer
    by_uri_date: dict[tuple[str, str], str] = {}  # (uri, date) -> payload digest
    requests: dict[str, dict[str, str]] = {}  # response record id -> request headers
    for path in paths:
        try:
            reading.captures.extend(_read(path, reading, bodies, by_uri_date, requests))
        except (OSError, ArchiveLoadFailed, ValueError) as exc:
            raise EvidenceError(f"cannot read {path} as WARC: {exc}") from exc
    for capture in reading.captures:
        # Request records may come after their response: joined at the end.
        record_id = capture.request_headers.get(":record-id")
        if record_id is not None:
            headers = dict(requests.get(record_id, {}))
            capture.request_headers.clear()
            capture.request_headers.update(headers)
    return reading


def _read(
    path: Path,
    reading: WarcReading,
    bodies: dict[str, tuple[bytes, int, dict[str, str]]],
    by_uri_date: dict[tuple[str, str], str],
    requests: dict[str, dict[str, str]],
) -> Iterator[Imported]:
    with path.open("rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            # The payload first: warcio finds a record's offset by reading it through.
            payload = record.content_stream().read() if record.http_headers is not None else b""
            offset = records.get_record_offset()
            kind = record.rec_type
            warc = record.rec_headers
            if kind == "request" and record.http_headers is not None:
                concurrent = warc.get_header("WARC-Concurrent-To")
                if concurrent:
                    # warcio reads a request line's method as its "protocol".
                    method = record.http_headers.protocol or "GET"
                    requests[concurrent] = {":method": method, **_headers(record)}
                continue
            if kind not in ("response", "revisit"):
                continue
            uri = warc.get_header("WARC-Target-URI")
            if not uri or not uri.startswith(("http://", "https://")):
                reading.skip("not an HTTP(S) exchange")
                continue
            if record.http_headers is None:
                reading.skip("no HTTP answer in the record")
                continue
            date = warc.get_header("WARC-Date")
            digest = warc.get_header("WARC-Payload-Digest") or ""
            status = int(record.http_headers.get_statuscode() or 0)
            headers = _headers(record)
            if kind == "response":
                body = payload
                bodies.setdefault(digest, (body, status, headers))
                if date:
                    by_uri_date[(uri, date)] = digest
            else:
                referred = digest or by_uri_date.get(
                    (
                        warc.get_header("WARC-Refers-To-Target-URI") or uri,
                        warc.get_header("WARC-Refers-To-Date") or "",
                    ),
                    "",
                )
                found = bodies.get(referred)
                if found is None:
                    reading.skip("a revisit of a record not in the files read")
                    continue
                body = found[0]
                if not headers:
                    headers = found[2]
                status = status or found[1]
            try:
                when = _date(date)
            except ValueError:
                reading.skip("no readable WARC-Date")
                continue
            record_id = warc.get_header("WARC-Record-ID")
            yield Imported(
                url=uri,
                captured_at=when,
                status=status,
                headers=headers,
                body=body,
                source="warc",
                provenance=f"{path.name}#{offset}",
                request_headers={":record-id": record_id} if record_id else {},
                protocol=record.http_headers.protocol or None,
            )
