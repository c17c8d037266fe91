"""Evidence: WARC records read back with warcio, verify after corruption, bundles checked
by an independent script, Save Page Now against a local stand-in server."""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from warcio.archiveiterator import ArchiveIterator

from monitor import config as cfg
from monitor.check import run_check
from monitor.check.record import record as record_batch
from monitor.cli import evidence as evidence_cli
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe
from monitor.evidence import (
    EvidenceError,
    SavePageNow,
    SavePageNowError,
    archive_for,
    archive_recorded,
    canonical_json,
    manifest_hash,
    save_versions,
    verify,
    wants_warc,
)
from monitor.evidence.warc import (
    ArchiveSettings,
    CaptureRecord,
    WarcArchive,
    hex_to_warc_digest,
    warc_date,
    write_captures,
)
from monitor.records import FetchResult, PageKey, RecordedCapture
from monitor.storage.models import Blob, Capture, Version
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite

ROOT = Path(__file__).resolve().parents[1]
VERIFY_BUNDLE = ROOT / "scripts" / "verify_bundle.py"

# --- plain records ------------------------------------------------------------------------

BODY = "<html><head><title>Заявление</title></head><body><p>Текст.</p></body></html>".encode()
CAPTURED = datetime(2020, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)


def _capture(body: bytes = BODY, **changes: Any) -> CaptureRecord:
    record = CaptureRecord(
        url="https://mfa.example/statement?id=7",
        started_at=CAPTURED,
        status=200,
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        response_headers={
            "content-type": "text/html; charset=utf-8",
            "content-length": "57",  # the gzipped length: the body was decoded
            "transfer-encoding": "chunked",
            "set-cookie": "a=1; Path=/\nb=2; Path=/",
            "x-note": "caf\xe9",  # a latin-1 byte, as received
        },
        request_headers={":method": "GET", "user-agent": "monitor/0.1.0", "accept": "*/*"},
        protocol="HTTP/1.1",
        requested_url="https://mfa.example/statement",
        redirects=({"url": "https://mfa.example/statement", "status": 301},),
        target="mfa",
        page_url="https://mfa.example/statement",
        capture_id=7,
        outcome="new",
        version_seq=3,
        content_sha256="c" * 64,
    )
    return replace(record, **changes)


def _read(data: bytes | Path) -> list[tuple[Any, bytes, int]]:
    """Every record (digests checked) with its payload and offset; asserts each digest passed."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
    found = []
    with stream:
        records = ArchiveIterator(stream, check_digests=True)
        for record in records:
            payload = record.content_stream().read()
            found.append((record, payload, records.get_record_offset()))
            assert record.digest_checker.passed is True, record.digest_checker.problems
    return found


def test_capture_becomes_response_request_and_metadata_records() -> None:
    out = io.BytesIO()
    write_captures(out, [_capture()])
    records = _read(out.getvalue())
    assert [record.rec_type for record, _, _ in records] == ["response", "request", "metadata"]
    (response, body, _), (request, _, _), (metadata, fields, _) = records
    for record, _, _ in records:
        # The capture's time in UTC, never the time of writing.
        assert record.rec_headers.get_header("WARC-Date") == "2020-02-29T23:59:58.123456Z"
        assert record.rec_headers.get_header("WARC-Target-URI") == _capture().url
        assert record.rec_headers.get_header("WARC-Block-Digest").startswith("sha256:")
        assert record.rec_headers.protocol == "WARC/1.1"
    assert body == BODY
    assert response.rec_headers.get_header("WARC-Payload-Digest") == hex_to_warc_digest(
        hashlib.sha256(BODY).hexdigest()
    )
    http = response.http_headers
    assert http.statusline == "200 OK"
    assert http.get_header("content-length") == str(len(BODY))
    assert http.get_header("x-monitor-original-content-length") == "57"
    assert http.get_header("transfer-encoding") is None
    assert [v for n, v in http.headers if n == "set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    response_id = response.rec_headers.get_header("WARC-Record-ID")
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response_id
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/statement?id=7 HTTP/1.1"
    assert request.http_headers.get_header("host") == "mfa.example"
    assert metadata.rec_headers.get_header("WARC-Refers-To") == response_id
    text = fields.decode()
    assert "monitor-target: mfa\r\n" in text and "monitor-version: 3\r\n" in text
    assert "redirect: 301 https://mfa.example/statement\r\n" in text
    assert f"body-sha256: {hashlib.sha256(BODY).hexdigest()}" in text
    # Header bytes are kept as received, not %-encoded.
    assert b"x-note: caf\xe9\r\n" in gzip.decompress(out.getvalue())


def test_records_are_the_same_bytes_every_time() -> None:
    """Record ids come from the capture, so an export reproduces the archive's records."""
    first, second = io.BytesIO(), io.BytesIO()
    write_captures(first, [_capture()])
    write_captures(second, [_capture()])
    assert first.getvalue() == second.getvalue()


def test_body_that_does_not_match_its_hash_is_refused() -> None:
    with pytest.raises(ValueError, match="hashes to"):
        write_captures(io.BytesIO(), [_capture(body_sha256="0" * 64)])


def test_archive_rotates_files_and_locations_point_at_responses(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path / "warc", max_bytes=3000)
    captures = [
        _capture(body=BODY + b"<!-- %d -->" % n, started_at=CAPTURED.replace(second=n))
        for n in range(6)
    ]
    locations = archive.write(captures[:3]) + archive.write(captures[3:])
    files = archive.files()
    assert len(files) > 1
    for path in files:
        assert _read(path)[0][0].rec_type == "warcinfo"
        assert path.stat().st_size < 3000 + 2000  # closed once past max_bytes
    for capture, location in zip(captures, locations, strict=True):
        path, offset = archive.path(location)
        with open(path, "rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_type == "response"
            assert record.content_stream().read() == capture.body
            assert record.rec_headers.get_header("WARC-Date") == warc_date(capture.started_at)


# --- the hook ----------------------------------------------------------------------------


def _target() -> cfg.Target:
    return cfg.parse(
        {"targets": [{"name": "embassy", "url": "https://embassy.example/s"}]}
    ).targets[0]


def _page(text: str) -> str:
    return f"<html><head><title>Statement</title></head><body><p>{text}</p></body></html>"


def _record(store: Store, target: cfg.Target, body: str) -> RecordedCapture:
    """Record one fetch of ``target`` the way the check cycle does."""
    states = store.states(store.sync_targets([target]).values())
    key = PageKey(target.name, target.url)
    fetch = FetchResult(
        key=key,
        role="page",
        requested_url=target.url,
        started_at=datetime.now(UTC),
        duration_ms=10.0,
        final_url=target.url,
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=body.encode(),
        request_headers={":method": "GET", "user-agent": "monitor-test"},
        protocol="HTTP/1.1",
    )
    return record_batch(
        store, [observe(fetch, ProcessRules(extract=Rules()), states[key])], states
    )[0]


def _recorded(**fields: Any) -> RecordedCapture:
    return RecordedCapture(
        key=PageKey("t", "https://x.example/"), page_id=1, capture_id=1, **fields
    )


@pytest.mark.parametrize(
    "fields,all_captures,expected",
    [
        ({"outcome": "new", "status": 200, "version_id": 4, "version_seq": 2}, False, True),
        ({"outcome": "unchanged", "status": 200}, False, False),
        ({"outcome": "unchanged", "status": 200}, True, True),
        ({"outcome": "removed", "status": 404, "event": "removed"}, False, True),
        ({"outcome": "error", "status": None, "error": "timeout"}, True, False),
    ],
)
def test_which_captures_are_written(
    fields: dict[str, Any], all_captures: bool, expected: bool
) -> None:
    assert wants_warc(_recorded(**fields), all_captures) is expected


def test_hook_writes_captures_and_notes_their_location(store: Store, tmp_path: Path) -> None:
    target = _target()
    first = _record(store, target, _page("The embassy is open."))
    unchanged_body = _page("The embassy is open.") + "<!-- cache 1 -->"
    unchanged = _record(store, target, unchanged_body)
    second = _record(store, target, _page("The embassy is closed."))
    assert (first.outcome, unchanged.outcome, second.outcome) == ("new", "unchanged", "new")
    archive = WarcArchive(tmp_path / "warc")

    # An unchanged capture's body is not in the database: without its bytes it is skipped.
    written = archive_recorded(
        store, archive, [(first.capture_id, None), (unchanged.capture_id, None)]
    )
    assert set(written) == {first.capture_id}
    written = archive_recorded(
        store,
        archive,
        [
            (unchanged.capture_id, unchanged_body.encode()),
            (second.capture_id, b"not the body that was captured"),
        ],
    )
    assert set(written) == {unchanged.capture_id}
    written = archive_recorded(store, archive, [(second.capture_id, None)])
    again = archive_recorded(store, archive, [(second.capture_id, None)])
    assert again == written  # written once

    with store.session() as session:
        rows = {c.id: c for c in session.scalars(select(Capture))}
        versions = {v.capture_id: v.seq for v in session.scalars(select(Version))}
    for capture_id in (first.capture_id, unchanged.capture_id, second.capture_id):
        capture = rows[capture_id]
        assert capture.warc_record is not None
        path, offset = archive.path(capture.warc_record)
        with open(path, "rb") as stream:
            stream.seek(offset)
            records = ArchiveIterator(stream, check_digests=True)
            response = next(iter(records))
            assert hashlib.sha256(response.content_stream().read()).hexdigest() == (
                capture.body_sha256
            )
            assert response.digest_checker.passed is True
            assert response.rec_headers.get_header("WARC-Date") == warc_date(capture.started_at)
            next(iter(records))  # the request
            metadata = next(iter(records)).content_stream().read().decode()
        seq = versions.get(capture_id)
        assert (f"monitor-version: {seq}\r\n" in metadata) is (seq is not None)
    assert len(_read(archive.files()[0])) == 1 + 3 * 3


def test_verify_on_each_backend(store: Store, tmp_path: Path) -> None:
    target = _target()
    recorded = [_record(store, target, _page(text)) for text in ("Open.", "Closed.")]
    archive = WarcArchive(tmp_path / "warc")
    archive_recorded(store, archive, [(r.capture_id, None) for r in recorded])
    report = verify(store, archive.folder)
    assert report.ok, report.problems
    assert (report.bodies, report.captures, report.warc_records) == (2, 2, 1 + 2 * 3)
    with store.session() as session, session.begin():
        session.execute(update(Blob).values(data=b"\x00garbage", compression="zstd"))
    report = verify(store, archive.folder)
    assert len(report.problems) == 2
    assert all("cannot be decompressed" in problem for problem in report.problems)


def test_hook_reports_an_unwritable_folder(store: Store, tmp_path: Path) -> None:
    recorded = _record(store, _target(), _page("Open."))
    (tmp_path / "taken").write_text("a file where the folder should be")
    with pytest.raises(EvidenceError, match="cannot write WARC records in"):
        archive_recorded(store, WarcArchive(tmp_path / "taken"), [(recorded.capture_id, None)])
    with store.session() as session:
        capture = session.get(Capture, recorded.capture_id)
        assert capture is not None and capture.warc_record is None


# --- through the real pipeline and the CLI ----------------------------------------------

STATEMENT = """<!doctype html><html><head><title>{title}</title></head><body>
<nav><a href="/">Home</a></nav><article><h1>{title}</h1><p>{text}</p>
<p><a href="/visa">Visa rules</a></p></article></body></html>"""


@dataclass
class Monitored:
    """A database and WARC folder built by real checks of a local site."""

    db: Path
    warc: Path
    versions: list[datetime]


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    folder = tmp_path_factory.mktemp("monitored")
    site = LocalSite().start()
    url = f"sqlite:///{folder / 'monitor.db'}"
    config = make_config(url, [{"name": "statement", "url": site.url("/statement")}])
    store = Store(url)
    archive = WarcArchive(folder / "warc")
    try:
        for text in (
            "The embassy is open on Monday.",
            "The embassy is open on Monday.",
            "The embassy is closed on Monday. Visa services are suspended.",
        ):
            site.page("/statement", STATEMENT.format(title="Consular notice", text=text))
            bodies: list[tuple[int, bytes | None]] = []

            def keep(recorded: RecordedCapture, observation: Any, into: list[Any] = bodies) -> None:
                if wants_warc(recorded, all_captures=True):
                    into.append((recorded.capture_id, observation.fetch.body))

            run_check(config, store, config.targets, on_recorded=keep)
            archive_recorded(store, archive, bodies)
        versions = [v.captured_at for v in store.versions(store.page("statement").id)]
    finally:
        store.close()
        site.stop()
    assert len(versions) == 2
    yield Monitored(folder / "monitor.db", folder / "warc", versions)


@pytest.fixture
def copy(monitored: Monitored, tmp_path: Path) -> Monitored:
    """A copy each test may corrupt."""
    shutil.copy(monitored.db, tmp_path / "monitor.db")
    shutil.copytree(monitored.warc, tmp_path / "warc")
    return Monitored(tmp_path / "monitor.db", tmp_path / "warc", monitored.versions)


@pytest.fixture(scope="module")
def cli() -> click.Group:
    return click.Group(
        "monitor", commands=[evidence_cli.export, evidence_cli.verify, evidence_cli.cite]
    )


def _invoke(cli: click.Group, data: Monitored, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--db", f"sqlite:///{data.db}"])


def test_every_evidence_command_has_help_with_an_example(cli: click.Group) -> None:
    for name, command in cli.commands.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example: monitor " + name in (command.help or "")


def test_export_writes_the_versions_from_the_database(
    cli: click.Group, copy: Monitored, tmp_path: Path
) -> None:
    shutil.rmtree(copy.warc)  # the database alone
    output = tmp_path / "statement.warc.gz"
    result = _invoke(cli, copy, "export", "statement", "--format", "warc", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wrote 2 versions of 1 page (6 WARC records")
    records = _read(output)
    assert [r.rec_type for r, _, _ in records] == ["warcinfo"] + [
        "response",
        "request",
        "metadata",
    ] * 2
    store = Store(f"sqlite:///{copy.db}")
    with store.session() as session:
        captures = session.scalars(
            select(Capture).join(Version, Version.capture_id == Capture.id).order_by(Version.seq)
        ).all()
    responses = [(r, payload) for r, payload, _ in records if r.rec_type == "response"]
    for capture, (record, payload) in zip(captures, responses, strict=True):
        assert hashlib.sha256(payload).hexdigest() == capture.body_sha256
        assert record.rec_headers.get_header("WARC-Date") == warc_date(capture.started_at)
        assert record.http_headers.get_statuscode() == "200"
    store.close()

    since = copy.versions[1].isoformat()
    later = tmp_path / "later.warc.gz"
    result = _invoke(cli, copy, "export", "statement", "--since", since, "-o", str(later))
    assert result.exit_code == 0, result.output
    assert sum(1 for r, _, _ in _read(later) if r.rec_type == "response") == 1
    result = _invoke(cli, copy, "export", "statement", "--until", "2000-01-01", "-o", str(later))
    assert result.output.startswith("wrote 0 versions")
    result = _invoke(cli, copy, "export", "statement", "--since", "last week", "-o", str(later))
    assert result.exit_code == 1 and "'last week' is not a date or time" in result.output


def test_export_to_standard_output(cli: click.Group, copy: Monitored) -> None:
    result = _invoke(cli, copy, "export", "statement", "-o", "-")
    assert result.exit_code == 0, result.output
    records = _read(result.stdout_bytes)
    assert sum(1 for r, _, _ in records if r.rec_type == "response") == 2


def test_archive_records_equal_exported_records(cli: click.Group, copy: Monitored) -> None:
    """What was written at capture time is what the database reproduces, byte for byte."""
    archived = {
        r.rec_headers.get_header("WARC-Record-ID"): payload
        for path in WarcArchive(copy.warc).files()
        for r, payload, _ in _read(path)
    }
    export = copy.db.parent / "export.warc.gz"
    assert _invoke(cli, copy, "export", "statement", "-o", str(export)).exit_code == 0
    exported = [(r.rec_headers.get_header("WARC-Record-ID"), p) for r, p, _ in _read(export)]
    assert len(exported) == 7
    for record_id, payload in exported[1:]:
        assert archived[record_id] == payload


def test_verify_passes_on_intact_evidence(cli: click.Group, copy: Monitored) -> None:
    result = _invoke(cli, copy, "verify", "--warc-dir", str(copy.warc))
    assert result.exit_code == 0, result.output
    assert result.output.endswith(": no problems\n")
    assert "checked 2 stored bodies" in result.output


def test_verify_finds_a_corrupted_body(cli: click.Group, copy: Monitored) -> None:
    store = Store(f"sqlite:///{copy.db}")
    with store.session() as session, session.begin():
        blob = session.scalars(select(Blob).order_by(Blob.sha256)).first()
        assert blob is not None
        sha = blob.sha256
        data = bytearray(store._decompressor.decompress(blob.data, max_output_size=blob.size))
        data[len(data) // 2] ^= 0x20  # one letter's case
        session.execute(
            update(Blob).where(Blob.sha256 == sha).values(data=bytes(data), compression="none")
        )
    store.close()
    result = _invoke(cli, copy, "verify", "--warc-dir", str(copy.warc))
    assert result.exit_code == 1
    assert f"body {sha}: stored bytes hash to " in result.output
    assert "1 problem(s)" in result.output


def test_verify_finds_a_missing_body(cli: click.Group, copy: Monitored) -> None:
    store = Store(f"sqlite:///{copy.db}")
    with store.session() as session, session.begin():
        capture = session.scalars(select(Capture).where(Capture.body_stored)).first()
        assert capture is not None
        session.execute(delete(Blob).where(Blob.sha256 == capture.body_sha256))
    store.close()
    result = _invoke(cli, copy, "verify", "--warc-dir", str(copy.warc))
    assert result.exit_code == 1
    assert f"capture {capture.id} (" in result.output
    assert f"its body {capture.body_sha256} is missing" in result.output


def test_verify_finds_a_flipped_byte_in_a_warc_file(cli: click.Group, copy: Monitored) -> None:
    store = Store(f"sqlite:///{copy.db}")
    with store.session() as session:
        capture = session.scalars(select(Capture).order_by(Capture.id.desc())).first()
    store.close()
    assert capture is not None and capture.warc_record is not None
    path, offset = WarcArchive(copy.warc).path(capture.warc_record)
    data = bytearray(path.read_bytes())
    data[offset + 200] ^= 0x01  # inside the capture's response record
    path.write_bytes(bytes(data))
    result = _invoke(cli, copy, "verify", "--warc-dir", str(copy.warc))
    assert result.exit_code == 1
    # Where the flipped bit lands in the compressed stream varies from run to run (the
    # records hold times and ids): the member may no longer inflate, or inflate to other
    # bytes whose digests, length or headers no longer match. Either way both the file
    # scan and the capture's own record must report it.
    assert f"{path.name}: " in result.output
    assert f"capture {capture.id} WARC record {capture.warc_record}: " in result.output


def test_verify_finds_a_missing_warc_file_and_a_missing_folder(
    cli: click.Group, copy: Monitored
) -> None:
    result = _invoke(cli, copy, "verify")
    assert result.exit_code == 1
    assert "no WARC folder was given" in result.output
    for path in WarcArchive(copy.warc).files():
        path.unlink()
    result = _invoke(cli, copy, "verify", "--warc-dir", str(copy.warc))
    assert result.exit_code == 1 and "is missing" in result.output


def _independent_check(bundle: Path) -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages, no PYTHONPATH, no current folder: the standard library only.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(VERIFY_BUNDLE), str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_verify_bundle_uses_only_the_standard_library() -> None:
    tree = ast.parse(VERIFY_BUNDLE.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    allowed = {"__future__", "argparse", "base64", "gzip", "hashlib", "json", "os", "sys"}
    assert imported <= allowed | {"zipfile"}, imported


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_cite_writes_a_bundle_anyone_can_check(
    cli: click.Group, copy: Monitored, tmp_path: Path, as_zip: bool
) -> None:
    output = tmp_path / ("bundle.zip" if as_zip else "bundle")
    args = ["cite", "statement", "1", "2", "-o", str(output)] + (["--zip"] if as_zip else [])
    result = _invoke(cli, copy, *args)
    assert result.exit_code == 0, result.output
    checked = _independent_check(output)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all checks passed" in checked.stdout

    if as_zip:
        with zipfile.ZipFile(output) as bundle:
            files = {
                name.split("/", 1)[1]: bundle.read(name)
                for name in bundle.namelist()
                if not name.endswith("/")
            }
    else:
        files = {
            str(path.relative_to(output)): path.read_bytes()
            for path in output.rglob("*")
            if path.is_file()
        }
    assert {"manifest.json", "SHA256SUMS", "captures.warc.gz", "diff.html"} <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert manifest_hash(manifest) == manifest["manifest_sha256"]
    assert f"manifest sha256: {manifest['manifest_sha256']}" in result.output
    assert manifest["monitor_version"] and manifest["change"]["kind"] == "changed"
    store = Store(f"sqlite:///{copy.db}")
    views = store.versions(store.page("statement").id)
    store.close()
    for entry, view in zip(manifest["captures"], views, strict=True):
        assert entry["captured_at"] == warc_date(view.captured_at)  # UTC, capture time
        assert entry["captured_at"].endswith("Z")
        assert entry["http_status"] == 200 and entry["url"] == view.final_url
        assert hashlib.sha256(files[entry["body_file"]]).hexdigest() == view.body_sha256
        assert entry["body_sha256"] == view.body_sha256
    diff = files["diff.html"].decode()
    assert "<del>open</del>" in diff and "<ins>closed</ins>" in diff
    assert len(_read(files["captures.warc.gz"])) == 1 + 2 * 3


def test_a_tampered_bundle_fails_the_independent_check(
    cli: click.Group, copy: Monitored, tmp_path: Path
) -> None:
    output = tmp_path / "bundle"
    assert _invoke(cli, copy, "cite", "statement", "1", "2", "-o", str(output)).exit_code == 0
    body = next((output / "bodies").glob("v2.*"))
    body.write_bytes(body.read_bytes().replace(b"closed", b"opened"))
    checked = _independent_check(output)
    assert checked.returncode == 1
    assert f"FAIL  file bodies/{body.name}" in checked.stdout
    assert "FAIL  after body" in checked.stdout

    manifest_path = output / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["captures"][1]["http_status"] = 404
    manifest_path.write_text(json.dumps(manifest))
    checked = _independent_check(output)
    assert "FAIL  manifest sha256" in checked.stdout


def test_cite_refuses_unknown_versions_and_existing_paths(
    cli: click.Group, copy: Monitored, tmp_path: Path
) -> None:
    result = _invoke(cli, copy, "cite", "statement", "1", "9", "-o", str(tmp_path / "b"))
    assert result.exit_code == 1 and "has no version 9" in result.output
    (tmp_path / "b").mkdir()
    result = _invoke(cli, copy, "cite", "statement", "1", "2", "-o", str(tmp_path / "b"))
    assert result.exit_code == 1 and "already exists" in result.output


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": ["é", None, True]}) == '{"a":["é",null,true],"b":1}'.encode()
    )


# --- settings ----------------------------------------------------------------------------


def test_archive_settings_validate_and_name_the_key() -> None:
    settings = ArchiveSettings.model_validate(
        {"warc_dir": "warc", "max_file_size": "10MB", "save_page_now_timeout": "2m"}
    )
    assert (settings.max_file_size, settings.save_page_now_timeout) == (10_000_000, 120.0)
    assert settings.save_page_now is False and settings.all_captures is False
    archive = archive_for(settings)
    assert archive is not None and archive.max_bytes == 10_000_000
    assert archive_for(ArchiveSettings()) is None  # WARC writing is off by default
    with pytest.raises(ValidationError, match="save_page_now_endpoint"):
        ArchiveSettings.model_validate({"save_page_now_endpoint": "ftp://archive"})
    with pytest.raises(ValidationError, match="warc_folder"):
        ArchiveSettings.model_validate({"warc_folder": "x"})


# --- Save Page Now, against a local stand-in ----------------------------------------------


class StandIn:
    """A local stand-in for the Save Page Now API: a job to poll, or a direct answer."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[tuple[str, str, dict[str, str], str]] = []
        self.polls = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any] | str, **headers: str) -> None:
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = self.rfile.read(length).decode()
                stand_in.requests.append(("POST", self.path, dict(self.headers), form))
                url = form.removeprefix("url=")
                from urllib.parse import unquote_plus

                url = unquote_plus(url)
                if stand_in.mode == "job":
                    self._answer(200, {"url": url, "job_id": "spn2-0123"})
                elif stand_in.mode == "direct":
                    self._answer(
                        200, "<html>saved</html>", Content_Location=f"/web/20260101120000/{url}"
                    )
                elif stand_in.mode == "refused":
                    self._answer(200, {"status": "error", "message": "Too many captures"})
                else:
                    self._answer(429, "slow down")

            def do_GET(self) -> None:
                stand_in.requests.append(("GET", self.path, dict(self.headers), ""))
                stand_in.polls += 1
                if stand_in.polls < 2:
                    self._answer(200, {"status": "pending", "job_id": "spn2-0123"})
                else:
                    self._answer(
                        200,
                        {
                            "status": "success",
                            "timestamp": "20260101120000",
                            "original_url": "https://mfa.example/statement",
                        },
                    )

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def client(self, **options: Any) -> SavePageNow:
        return SavePageNow(f"{self.base}/save/", poll_interval=0.01, timeout=5, **options)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(request: pytest.FixtureRequest) -> Iterator[StandIn]:
    server = StandIn(request.param)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("stand_in", ["job"], indirect=True)
def test_save_page_now_job_is_polled_until_done(stand_in: StandIn) -> None:
    archived = stand_in.client(auth="key:secret").save("https://mfa.example/statement")
    assert archived == f"{stand_in.base}/web/20260101120000/https://mfa.example/statement"
    method, path, headers, form = stand_in.requests[0]
    assert (method, path, form) == ("POST", "/save/", "url=https%3A%2F%2Fmfa.example%2Fstatement")
    assert headers["Authorization"] == "LOW key:secret"
    assert [r[1] for r in stand_in.requests[1:]] == ["/save/status/spn2-0123"] * 2


@pytest.mark.parametrize("stand_in", ["direct"], indirect=True)
def test_save_page_now_direct_answer(stand_in: StandIn) -> None:
    archived = stand_in.client().save("https://mfa.example/a")
    assert archived == f"{stand_in.base}/web/20260101120000/https://mfa.example/a"
    assert "Authorization" not in stand_in.requests[0][2]


@pytest.mark.parametrize("stand_in", ["refused", "busy"], indirect=True)
def test_save_page_now_failures_are_errors(stand_in: StandIn) -> None:
    message = "Too many captures" if stand_in.mode == "refused" else "HTTP 429"
    with pytest.raises(SavePageNowError, match=message):
        stand_in.client().save("https://mfa.example/a")


@pytest.mark.parametrize("stand_in", ["job"], indirect=True)
def test_save_versions_records_the_archive_url(stand_in: StandIn, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'spn.db'}")
    first = _record(store, _target(), _page("The embassy is open."))
    results = save_versions(store, stand_in.client(), [first.version_id or 0])
    expected = f"{stand_in.base}/web/20260101120000/https://mfa.example/statement"
    assert results == {first.version_id: expected}
    with store.session() as session:
        version = session.get(Version, first.version_id)
        assert version is not None and version.archive_url == expected
    # An archive that is down: logged, recorded as no copy, never raised.
    failing = SavePageNow("http://127.0.0.1:9/save/", timeout=2)
    assert save_versions(store, failing, [first.version_id or 0]) == {first.version_id: None}
    store.close()
