"""WARC records (ISO 28500, WARC/1.1) of captures, and the rotating folder they are kept in.

A capture becomes three records, written with warcio, each its own gzip member:

* ``response``: the status line, the response headers as recorded and the exact body
  (after transfer decoding, as the monitor hashed it); its WARC-Payload-Digest is the
  capture's ``body_sha256`` in WARC's ``sha256:<base32>`` form;
* ``request``: the request line and headers as sent (``WARC-Concurrent-To`` the response);
* ``metadata``: ``application/warc-fields`` tying the exchange to the monitor (target,
  page, capture, version, requested URL and redirect chain, hashes).

Every record carries WARC-Date = the capture's start time in UTC (never the write time),
WARC-Target-URI, and sha256 block and payload digests. Record ids are derived from the
capture (uuid5 of URL, time and body hash), so the records written at capture time and
the ones rebuilt later from the database (``monitor export``, ``monitor cite``) are
byte for byte the same.

Headers that no longer describe the stored bytes are renamed, never dropped: the HTTP
client removes chunking and compression, so ``Transfer-Encoding`` and a
``Content-Length`` that does not match the stored body become
``X-Monitor-Original-Transfer-Encoding`` / ``X-Monitor-Original-Content-Length``, a
correct ``Content-Length`` is added, and the metadata record lists what was adjusted.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http
import io
import logging
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from monitor import __version__
from monitor.evidence.settings import DEFAULT_MAX_FILE_SIZE as DEFAULT_MAX_FILE_SIZE
from monitor.evidence.settings import ArchiveSettings as ArchiveSettings

logger = logging.getLogger(__name__)

WARC_VERSION = "1.1"
FILE_PREFIX = "monitor-"
FILE_SUFFIX = ".warc.gz"
LOCK_NAME = ".monitor-warc.lock"
RENAMED_PREFIX = "x-monitor-original-"
# The WARC field of a response record written after its capture (a repair): when.
WRITTEN_HEADER = "Monitor-Written-Date"
# Namespace of the record ids derived from captures (uuid5).
RECORD_NAMESPACE = uuid.UUID("0b6f3c0e-4d0a-5c39-9d1e-6f1f3c2a7b55")
_STATUS_PROTOCOL = re.compile(r"^HTTP/\d(\.\d)?$")


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One HTTP exchange as the monitor recorded it: everything its WARC records need."""

    url: str  # the URL that answered (after redirects): WARC-Target-URI
    started_at: datetime  # when the capture started, UTC: WARC-Date
    status: int
    body: bytes
    body_sha256: str  # hex, as in captures.body_sha256; checked against ``body``
    response_headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    request_headers: Mapping[str, str] = field(default_factory=dict)  # incl. ":method"
    protocol: str | None = None
    requested_url: str | None = None
    redirects: Sequence[Mapping[str, Any]] = ()
    target: str | None = None
    page_url: str | None = None
    capture_id: int | None = None
    outcome: str | None = None
    version_seq: int | None = None
    content_sha256: str | None = None
    # When the records were written, if not at the capture (a repair from the stored
    # body): the records keep the capture's WARC-Date and say this beside it.
    written_at: datetime | None = None
    # How it was fetched: through a proxy (no credentials); rendered by a browser (the
    # body is then the rendered DOM, and raw_body_sha256 the document as served).
    proxy: str | None = None
    renderer: str | None = None
    raw_body_sha256: str | None = None

    def record_id(self, kind: str) -> str:
        """The WARC-Record-ID of this capture's ``kind`` record, the same every time."""
        key = f"{kind}\n{self.url}\n{warc_date(self.started_at)}\n{self.body_sha256}"
        return f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, key)}>"


def warc_date(when: datetime) -> str:
    """A WARC/1.1 date: UTC, ISO 8601 with microseconds when there are any."""
    if when.tzinfo is None:
        raise ValueError("naive datetime given; WARC dates are written from UTC-aware times")
    return str(datetime_to_iso_date(when.astimezone(UTC).replace(tzinfo=None), use_micros=True))


def warc_digest(data: bytes) -> str:
    """A WARC digest value, ``sha256:<base32>``, of ``data``."""
    return hex_to_warc_digest(hashlib.sha256(data).hexdigest())


def hex_to_warc_digest(sha256_hex: str) -> str:
    """``sha256:<base32>`` from a hex sha256 (the form the database keeps)."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def warc_digest_to_hex(value: str) -> str | None:
    """The hex sha256 in a ``sha256:<base32>`` (or ``sha256:<hex>``) digest; None otherwise."""
    algorithm, _, encoded = value.partition(":")
    if algorithm.lower() != "sha256":
        return None
    if len(encoded) == 64:
        return encoded.lower()
    try:
        return base64.b32decode(encoded.upper()).hex()
    except ValueError:
        return None


class _ExactHeaders(StatusAndHeaders):  # type: ignore[misc]  # warcio is untyped
    """Status line and headers serialised byte for byte (warcio would %-encode non-ASCII).

    The spiders decode header bytes as latin-1, so encoding back as latin-1 restores the
    bytes that were received.
    """

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        text = self.to_str(header_filter)
        try:
            self.headers_buff = text.encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:
            self.headers_buff = text.encode("utf-8") + b"\r\n"


class _Writer(WARCWriter):  # type: ignore[misc]  # warcio is untyped
    """warcio's writer with sha256 digests (it uses sha1 unless told otherwise)."""

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def _writer(out: Any) -> _Writer:
    return _Writer(out, gzip=True, warc_version=WARC_VERSION)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def response_headers(capture: CaptureRecord) -> tuple[list[tuple[str, str]], list[str]]:
    """The HTTP headers of the response record, and what was adjusted (see module doc)."""
    headers: list[tuple[str, str]] = []
    adjusted: list[str] = []
    length = str(len(capture.body))
    has_length = False
    for name, value in capture.response_headers.items():
        if name == "transfer-encoding":
            headers.append((RENAMED_PREFIX + name, value))
            adjusted.append(f"{name}: {value} (removed by the HTTP client)")
        elif name == "content-length" and value.strip() != length:
            headers.append((RENAMED_PREFIX + name, value))
            adjusted.append(f"{name}: {value} (stored body is {length} bytes, decoded)")
        elif name == "set-cookie":
            # The spiders join repeated Set-Cookie headers with newlines.
            headers.extend((name, part) for part in value.split("\n"))
        else:
            has_length = has_length or name == "content-length"
            headers.append((name, value))
    if not has_length:
        headers.append(("content-length", length))
    return headers, adjusted


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def metadata_fields(capture: CaptureRecord, adjusted: Sequence[str]) -> bytes:
    """The metadata record's ``application/warc-fields``: the exchange in the monitor's terms."""
    fields: list[tuple[str, object]] = [
        ("software", "monitor (https://github.com/monitor-project/monitor)"),
        ("monitor-target", capture.target),
        ("monitor-page", capture.page_url),
        ("monitor-capture", capture.capture_id),
        ("monitor-outcome", capture.outcome),
        ("monitor-version", capture.version_seq),
        ("requested-url", capture.requested_url),
    ]
    fields += [
        ("redirect", f"{hop.get('status') or '-'} {hop.get('url')}") for hop in capture.redirects
    ]
    fields += [
        ("http-protocol", capture.protocol),
        ("body-sha256", capture.body_sha256),
        ("content-sha256", capture.content_sha256),
        ("proxy", capture.proxy),
        (
            "rendered-by",
            f"{capture.renderer} (the response payload is the rendered page)"
            if capture.renderer
            else None,
        ),
        ("served-body-sha256", capture.raw_body_sha256),
    ]
    fields += [("header-adjusted", note) for note in adjusted]
    if capture.written_at is not None:
        fields.append(
            (
                "written-later",
                f"{warc_date(capture.written_at)}: written from the body stored in the "
                "database after the capture (its WARC write had failed)",
            )
        )
    lines = [f"{name}: {_one_line(value)}\r\n" for name, value in fields if value is not None]
    return "".join(lines).encode("utf-8")


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def build_records(capture: CaptureRecord, writer: Any) -> list[ArcWarcRecord]:
    """The response, request and metadata records of one capture (not yet written)."""
    actual = hashlib.sha256(capture.body).hexdigest()
    if actual != capture.body_sha256:
        raise ValueError(
            f"body of {capture.url} hashes to {actual}, not the recorded {capture.body_sha256}"
        )
    date = warc_date(capture.started_at)
    protocol = (
        capture.protocol
        if capture.protocol and _STATUS_PROTOCOL.match(capture.protocol)
        else "HTTP/1.1"
    )
    headers, adjusted = response_headers(capture)
    response_id = capture.record_id("response")
    response_warc_headers = {"WARC-Record-ID": response_id, "WARC-Date": date}
    if capture.written_at is not None:
        # WARC-Date stays the capture's time; this extension field says when written.
        response_warc_headers[WRITTEN_HEADER] = warc_date(capture.written_at)
    response = writer.create_warc_record(
        capture.url,
        "response",
        payload=io.BytesIO(capture.body),
        length=len(capture.body),
        warc_headers_dict=response_warc_headers,
        http_headers=_ExactHeaders(
            f"{capture.status} {_reason(capture.status)}".rstrip(), headers, protocol=protocol
        ),
    )
    method = capture.request_headers.get(":method", "GET")
    request_headers = [(n, v) for n, v in capture.request_headers.items() if not n.startswith(":")]
    if not any(name == "host" for name, _ in request_headers):
        # The HTTP client sends Host from the URL; Scrapy does not list it on the request.
        request_headers.insert(0, ("host", urlsplit(capture.url).netloc))
    request = writer.create_warc_record(
        capture.url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        warc_headers_dict={
            "WARC-Record-ID": capture.record_id("request"),
            "WARC-Date": date,
            "WARC-Concurrent-To": response_id,
        },
        http_headers=_ExactHeaders(
            f"{method} {_request_target(capture.url)} HTTP/1.1",
            request_headers,
            is_http_request=True,
        ),
    )
    fields = metadata_fields(capture, adjusted)
    metadata = writer.create_warc_record(
        capture.url,
        "metadata",
        payload=io.BytesIO(fields),
        length=len(fields),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Record-ID": capture.record_id("metadata"),
            "WARC-Date": date,
            "WARC-Refers-To": response_id,
        },
    )
    return [response, request, metadata]


def warcinfo_record(writer: Any, filename: str, description: str | None = None) -> ArcWarcRecord:
    """The ``warcinfo`` record that opens every WARC file the monitor writes."""
    import warcio

    info = {
        "software": f"monitor/{__version__} (warcio/{getattr(warcio, '__version__', '?')})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
        "warc-format/warc-1.1/",
        "description": description,
    }
    return writer.create_warcinfo_record(filename, info)


def write_captures(
    out: BinaryIO, captures: Sequence[CaptureRecord], *, start: int = 0
) -> list[int]:
    """Write the records of ``captures`` to ``out``; returns each response record's offset.

    ``start`` is the position of ``out``'s first byte in the file it will end up in.
    """
    counter = _Counting(out)
    writer = _writer(counter)
    offsets: list[int] = []
    position = start
    for capture in captures:
        offsets.append(position + counter.written)
        for record in build_records(capture, writer):
            writer.write_record(record)
    return offsets


class _Counting:
    """A write-only wrapper that counts bytes (warcio's gzip wrapper hides positions)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.written = 0

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        self.out.flush()


def new_warc_file(out: BinaryIO, filename: str, description: str | None = None) -> None:
    """Start a WARC file: its ``warcinfo`` record."""
    writer = _writer(out)
    writer.write_record(warcinfo_record(writer, filename, description))


@dataclass(frozen=True, slots=True)
class Location:
    """Where a record is: a WARC file (by name, within the archive folder) and an offset."""

    filename: str
    offset: int

    def __str__(self) -> str:
        return f"{self.filename}#{self.offset}"

    @classmethod
    def parse(cls, value: str) -> Location:
        filename, separator, offset = value.rpartition("#")
        if not separator or not filename or not offset.isdigit():
            raise ValueError(f"{value!r} is not a WARC record location (file.warc.gz#offset)")
        return cls(filename, int(offset))


class WarcArchive:
    """A folder of rotating, gzip-compressed WARC files that captures are appended to.

    Writers in several processes may share the folder: a batch is appended under an
    exclusive lock (``flock`` on a lock file), each capture's records in one write, then
    fsync'd. The newest file (names sort by creation time) is appended to while it stays
    under ``max_bytes``; then a new one is started, opening with its ``warcinfo`` record.
    A capture's records are never split across files, and a capture larger than
    ``max_bytes`` gets a file of its own.
    """

    def __init__(self, folder: str | Path, max_bytes: int = DEFAULT_MAX_FILE_SIZE) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def write(
        self, captures: Sequence[CaptureRecord], *, description: str | None = None
    ) -> list[str]:
        """Append the records of ``captures``; returns each one's location ("file#offset").

        With a ``description``, they go in a new file whose ``warcinfo`` record says it
        (records written late, by a repair, are kept apart and say so)."""
        if not captures:
            return []
        chunks: list[bytes] = []
        for capture in captures:
            buffer = io.BytesIO()
            write_captures(buffer, [capture])
            chunks.append(buffer.getvalue())
        self.folder.mkdir(parents=True, exist_ok=True)
        locations: list[str] = []
        with self._locked():
            path = self._current() if description is None else None
            out: BinaryIO | None = open(path, "ab") if path is not None else None  # noqa: SIM115
            try:
                for chunk in chunks:
                    if out is None or out.tell() + len(chunk) > self.max_bytes:
                        if out is not None:
                            self._close(out)
                        out = self._create(description)
                    locations.append(str(Location(Path(out.name).name, out.tell())))
                    out.write(chunk)
            finally:
                if out is not None:
                    self._close(out)
        return locations

    def files(self) -> list[Path]:
        """The WARC files of the folder, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(
            path
            for path in self.folder.iterdir()
            if path.name.startswith(FILE_PREFIX) and path.name.endswith(FILE_SUFFIX)
        )

    def path(self, location: str) -> tuple[Path, int]:
        """The file and offset of a location returned by :meth:`write`."""
        parsed = Location.parse(location)
        return self.folder / parsed.filename, parsed.offset

    def _current(self) -> Path | None:
        files = self.files()
        if not files or files[-1].stat().st_size >= self.max_bytes:
            return None
        return files[-1]

    def _create(self, description: str | None = None) -> BinaryIO:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        serial = len(self.files()) + 1
        while True:
            path = self.folder / f"{FILE_PREFIX}{stamp}-{serial:05d}{FILE_SUFFIX}"
            try:
                out = open(path, "xb")  # noqa: SIM115
            except FileExistsError:
                serial += 1
                continue
            new_warc_file(out, path.name, description or "captures of the monitor's watched pages")
            logger.info("started WARC file %s", path)
            return out

    @staticmethod
    def _close(out: BinaryIO) -> None:
        out.flush()
        os.fsync(out.fileno())
        out.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.folder / LOCK_NAME, "a+b") as lock:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: one writer at a time
                yield
                return
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
