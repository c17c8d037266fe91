"""A page's past through real parts: WARC files written by warcio and by our own export,
and a local CDX server with its replay server standing in for the Internet Archive.

Imported captures become versions at their original times, marked imported (source and
provenance) in history and evidence bundles; no alert is queued unless asked.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from monitor.cli import main
from monitor.evidence import backfill
from monitor.storage.models import Capture, Change, Delivery, Version
from monitor.storage.store import Store
from tests.sites import LocalSite

PAGE = """<html><head><title>Statement on visas</title></head><body>
<main><article><h1>Statement on visas</h1>
<p>The embassy informs citizens that visa applications are accepted {when}.</p>
<p>Documents must be presented in person at the consular section with a valid passport,
and decisions are announced within {days} working days of the application.</p>
</article></main></body></html>"""


def page(when: str, days: int) -> bytes:
    return PAGE.format(when=when, days=days).encode()


def write_config(tmp_path: Path, database: str, url: str, **extra: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
                "channels": {"desk": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
                "defaults": {"notify": ["desk"]},
                "targets": [{"name": "visa", "url": url}],
                **extra,
            }
        )
    )
    return path


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "-c", str(config)])
    return result.exit_code, result.output


def _rows(database: str) -> list[tuple[datetime, str | None, str | None, int]]:
    store = Store(database)
    try:
        with store.session() as session:
            return [
                (row[0], row[1], row[2], row[3])
                for row in session.execute(
                    select(Version.captured_at, Capture.source, Capture.provenance, Version.seq)
                    .join(Capture, Capture.id == Version.capture_id)
                    .order_by(Version.seq)
                )
            ]
    finally:
        store.close()


def _count(database: str, model: Any) -> int:
    store = Store(database)
    try:
        with store.session() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        store.close()


# --- a CDX server and a replay server, on 127.0.0.1 ---------------------------------------


class Wayback:
    """A CDX API (JSON output) and a replay server (``/web/{timestamp}id_/{url}``)."""

    def __init__(self, url: str, captures: list[tuple[str, bytes]]) -> None:
        self.url = url
        self.captures = dict(captures)
        self.requests: list[str] = []
        wayback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                wayback.requests.append(self.path)
                status, body, kind = wayback.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str) -> tuple[int, bytes, str]:
        parts = urlsplit(path)
        if parts.path == "/cdx":
            query = parse_qs(parts.query)
            assert query["url"] == [self.url] and query["output"] == ["json"]
            rows: list[list[str]] = [["timestamp", "original", "statuscode", "digest", "mimetype"]]
            for stamp, body in sorted(self.captures.items()):
                if "from" in query and stamp < query["from"][0]:
                    continue
                digest = hashlib.sha1(body).hexdigest().upper()
                rows.append([stamp, self.url, "200", digest, "text/html"])
            return 200, json.dumps(rows).encode(), "application/json"
        prefix = "/web/"
        if parts.path.startswith(prefix):
            stamp, _, original = path[len(prefix) :].partition("id_/")
            if original == self.url and stamp in self.captures:
                return 200, self.captures[stamp], "text/html; charset=utf-8"
        return 404, b"not archived", "text/plain"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def wayback(site: LocalSite) -> Iterator[Wayback]:
    archive = Wayback(
        site.url("/visa"),
        [
            ("20240105090000", page("on Mondays", 10)),
            ("20240301120000", page("on Mondays", 10)),  # the same bytes: not fetched
            ("20240611083000", page("on Mondays and Tuesdays", 10)),
            ("20241120170500", page("on Mondays and Tuesdays", 15)),
            ("20250214101010", page("by appointment only", 15)),
        ],
    )
    yield archive
    archive.stop()


def test_backfill_from_a_cdx_server_records_changed_captures_only(
    site: LocalSite, wayback: Wayback, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'm.db'}"
    config = write_config(tmp_path, database, site.url("/visa"))
    code, output = cli(
        config,
        "backfill",
        "visa",
        "--cdx",
        wayback.base + "/cdx",
        "--replay",
        wayback.base + "/web",
    )
    assert code == 0, output
    assert "5 requests to the archive" in output and "4 versions" in output
    # One CDX query, then only the four captures whose digest changed.
    assert len(wayback.requests) == 5 and "20240301120000" not in "".join(wayback.requests)
    rows = _rows(database)
    stamps = ["20240105090000", "20240611083000", "20241120170500", "20250214101010"]
    assert [row[0] for row in rows] == [
        datetime.strptime(s, "%Y%m%d%H%M%S").replace(tzinfo=UTC) for s in stamps
    ]
    assert [(row[1], row[2]) for row in rows] == [
        ("archive", f"{wayback.base}/web/{s}/{site.url('/visa')}") for s in stamps
    ]
    assert [row[3] for row in rows] == [1, 2, 3, 4]
    # Events as if observed then, and no alert for the past.
    store = Store(database)
    try:
        with store.session() as session:
            kinds = sorted(session.scalars(select(Change.kind)))
            detected = sorted(session.scalars(select(Change.detected_at)))
    finally:
        store.close()
    assert kinds == ["changed", "changed", "changed"]
    assert detected[0] == rows[1][0]
    assert _count(database, Delivery) == 0
    # Marked imported where versions are shown, and in evidence bundles.
    code, shown = cli(config, "history", "visa")
    assert code == 0 and shown.count("imported from archive") == 4, shown
    bundle = tmp_path / "bundle"
    code, output = cli(config, "cite", "visa", "1", "2", "-o", str(bundle))
    assert code == 0, output
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert [(c["source"], c["provenance"]) for c in manifest["captures"]] == [
        ("archive", f"{wayback.base}/web/{s}/{site.url('/visa')}") for s in stamps[:2]
    ]

    # ... and on the page's web page.
    from monitor.web.app import running
    from tests.test_web import get

    store = Store(database)
    try:
        page_id = store.resolve("visa")[0].id
        with running(store) as base:
            html = get(f"{base}/pages/{page_id}").text
    finally:
        store.close()
    assert html.count("imported (archive)") == 4
    assert f"{wayback.base}/web/{stamps[0]}/{site.url('/visa')}" in html

    # --since narrows the listing; the page already has history: nothing older is added.
    code, output = cli(
        config,
        "backfill",
        "visa",
        "--since",
        "2024-06-01",
        "--cdx",
        wayback.base + "/cdx",
        "--replay",
        wayback.base + "/web",
    )
    assert code == 0, output
    assert len(_rows(database)) == 4


def test_backfill_alerts_only_when_asked(site: LocalSite, wayback: Wayback, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'm.db'}"
    config = write_config(tmp_path, database, site.url("/visa"))
    args = ["backfill", "visa", "--cdx", wayback.base + "/cdx", "--replay", wayback.base + "/web"]
    code, output = cli(config, *args, "--alert")
    assert code == 0, output
    assert _count(database, Delivery) == 3


def test_cdx_parsing_and_digest_changes() -> None:
    import doctest

    assert doctest.testmod(backfill).failed == 0


# --- WARC files --------------------------------------------------------------------------


def _warcio_file(path: Path, url: str) -> None:
    """A crawl written by warcio: request + response records, and a revisit of an
    unchanged page (deduplicated by payload digest)."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        bodies = [
            ("2023-03-01T10:00:00Z", page("on Mondays", 10)),
            ("2023-04-01T10:00:00Z", page("on Fridays", 10)),
        ]
        digests: dict[bytes, str] = {}
        for date, body in bodies:
            _exchange(writer, url, date, body)
            digests[body] = (
                "sha1:" + __import__("base64").b32encode(hashlib.sha1(body).digest()).decode()
            )
        # The second page again on 2023-05-01: a revisit record, no payload.
        revisit = writer.create_revisit_record(
            url,
            digest=digests[bodies[1][1]],
            refers_to_uri=url,
            refers_to_date="2023-04-01T10:00:00Z",
            warc_headers_dict={"WARC-Date": "2023-05-01T10:00:00Z"},
            http_headers=StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            ),
        )
        writer.write_record(revisit)
        _exchange(writer, "http://127.0.0.1:9/not-watched", "2023-05-02T10:00:00Z", b"<p>x</p>")


def _exchange(writer: WARCWriter, url: str, date: str, body: bytes) -> None:
    response = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        warc_headers_dict={"WARC-Date": date},
        http_headers=StatusAndHeaders(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
            protocol="HTTP/1.1",
        ),
    )
    request = writer.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        warc_headers_dict={
            "WARC-Date": date,
            "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
        },
        http_headers=StatusAndHeaders(
            f"GET {urlsplit(url).path} HTTP/1.1",
            [("User-Agent", "a colleague's crawler"), ("Host", urlsplit(url).netloc)],
            is_http_request=True,
        ),
    )
    writer.write_record(response)
    writer.write_record(request)


def test_warc_import_of_a_warcio_crawl_and_round_trip_of_our_export(
    site: LocalSite, tmp_path: Path
) -> None:
    url = site.url("/visa")
    crawl = tmp_path / "crawl.warc.gz"
    _warcio_file(crawl, url)
    database = f"sqlite:///{tmp_path / 'm.db'}"
    config = write_config(tmp_path, database, url)
    code, output = cli(config, "import", "warc", str(crawl))
    assert code == 0, output
    assert "3 captures of 1 pages recorded, 2 versions" in output, output
    assert "skipped 1: no watched page or target has this URL" in output
    rows = _rows(database)
    assert [row[0].isoformat() for row in rows] == [
        "2023-03-01T10:00:00+00:00",
        "2023-04-01T10:00:00+00:00",
    ]
    assert all(row[1] == "warc" and row[2].startswith("crawl.warc.gz#") for row in rows)
    assert _count(database, Capture) == 3 and _count(database, Delivery) == 0
    store = Store(database)
    try:
        with store.session() as session:
            captures = session.scalars(select(Capture).order_by(Capture.started_at)).all()
            revisit = captures[-1]
            assert revisit.outcome == "unchanged" and revisit.body_sha256 == captures[1].body_sha256
            assert captures[0].request_headers == {
                ":method": "GET",
                "user-agent": "a colleague's crawler",
                "host": urlsplit(url).netloc,
            }
    finally:
        store.close()

    # Our own export of those versions, imported into a fresh database: the same versions.
    exported = tmp_path / "export.warc.gz"
    code, output = cli(config, "export", "visa", "-o", str(exported))
    assert code == 0, output
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    other = tmp_path / "other"
    other.mkdir()
    fresh_config = write_config(other, fresh, url)
    code, output = cli(fresh_config, "import", "warc", str(exported))
    assert code == 0, output
    assert "2 versions" in output

    def versions(database_url: str) -> list[tuple[int, datetime, str, str | None]]:
        store = Store(database_url)
        try:
            with store.session() as session:
                return [
                    (row[0], row[1], row[2], row[3])
                    for row in session.execute(
                        select(
                            Version.seq,
                            Version.captured_at,
                            Version.content_sha256,
                            Capture.body_sha256,
                        )
                        .join(Capture, Capture.id == Version.capture_id)
                        .order_by(Version.seq)
                    )
                ]
        finally:
            store.close()

    assert versions(fresh) == versions(database)
