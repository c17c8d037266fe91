"""Nothing slow on the reactor's loop: parsing, database writes and WARC run in the
check's writer thread, wired to Scrapy through settings, registries and signals."""

from __future__ import annotations

import asyncio
import gzip
import io
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import select

from monitor.check import run_check
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe
from monitor.evidence import capture_record
from monitor.evidence.warc import WarcArchive, write_captures
from monitor.fetch import reactor
from monitor.fetch.pipeline import RecordPipeline, use_sink
from monitor.fetch.settings import scrapy_settings
from monitor.records import FetchResult, PageKey
from monitor.storage.models import Capture, Page, Target, Version
from monitor.storage.store import Store
from spiders import ListingSpider, PageSpider
from spiders.listing import follow_all
from tests.conftest import make_config
from tests.sites import LocalSite, Route

WORDS = "consular visa rules district embassy announces hours "


def _big_page() -> bytes:
    """~5 MB of text in 5,000 paragraphs: seconds of decoding and extraction."""
    paragraph = WORDS * (1000 // len(WORDS))
    body = "".join(f"<p>Paragraph {i}: {paragraph}</p>\n" for i in range(5000))
    return (
        f"<html><head><title>Big</title></head><body><main><h1>Annual report</h1>{body}"
        "</main></body></html>"
    ).encode()


def _seconds_to_observe(body: bytes) -> float:
    fetch = FetchResult(
        key=PageKey("big", "http://127.0.0.1/big"),
        role="page",  # type: ignore[arg-type]
        requested_url="http://127.0.0.1/big",
        started_at=datetime.now(UTC),
        duration_ms=1.0,
        final_url="http://127.0.0.1/big",
        status=200,
        headers={"content-type": "text/html; charset=utf-8"},
        body=body,
    )
    started = time.perf_counter()
    observe(fetch, ProcessRules(extract=Rules()), None)
    return time.perf_counter() - started


@pytest.mark.slow
def test_a_big_page_does_not_stall_the_other_crawls(tmp_path: Path) -> None:
    """A 5 MB page of one target is parsed while the loop keeps fetching another site."""
    big_body = _big_page()
    cost = _seconds_to_observe(big_body)
    if cost < 0.6:
        pytest.skip(f"observing the big page takes {cost:.2f}s here: too fast to tell")
    # On the loop, the parse would hold it for ``cost`` (twice: the check and its probe).
    allowed = min(1.0, max(0.5, cost / 2))
    big, small = LocalSite().start(), LocalSite().start()
    arrivals: list[float] = []

    def slow_page(number: int) -> Route:
        arrivals.append(time.monotonic())
        return Route(
            body=f"<html><head><title>Notice {number}</title></head><body><p>Notice {number} "
            "of the consulate.</p></body></html>".encode(),
            delay=0.2,
        )

    try:
        big.page("/big", big_body)
        for number in range(12):
            small.routes[f"/n{number}"] = lambda number=number: slow_page(number)
        targets = [{"name": "big", "url": big.url("/big")}] + [
            {"name": f"n{number}", "url": small.url(f"/n{number}")} for number in range(12)
        ]
        config = make_config(f"sqlite:///{tmp_path / 'm.db'}", targets, per_domain_concurrency=2)
        store = Store(config.database)
        lags: list[float] = []
        stop = threading.Event()

        async def watch() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                before = loop.time()
                await asyncio.sleep(0.02)
                lags.append(loop.time() - before - 0.02)

        watching = asyncio.run_coroutine_threadsafe(watch(), reactor.loop())
        try:
            summary = run_check(config, store, config.targets)
        finally:
            stop.set()
            watching.result(10)
        store.close()
    finally:
        big.stop()
        small.stop()
    assert summary.first_versions == 13
    assert len(arrivals) >= 12
    assert max(lags) < allowed, f"the loop stalled {max(lags):.2f}s (observing costs {cost:.2f}s)"


def test_warc_records_from_memory_equal_those_rebuilt_from_the_database(
    site: LocalSite, tmp_path: Path
) -> None:
    """The check writes WARC records from the fetch in memory, never reading the capture
    back; `monitor export` and `cite` rebuild them from the database: byte for byte the
    same records."""
    site.page(
        "/notice",
        "<html><head><title>Notice</title></head><body><p>Open on Monday.</p></body></html>",
        **{"Set-Cookie": "a=1", "X-Served-By": "cache-ams"},
    )
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    config = config.model_copy(
        update={"archive": config.archive.model_copy(update={"warc_dir": str(tmp_path / "warc")})}
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    archive = WarcArchive(tmp_path / "warc")
    with store.session() as session:
        capture, url, target, seq = session.execute(
            select(Capture, Page.url, Target.name, Version.seq)
            .join(Page, Page.id == Capture.page_id)
            .join(Target, Target.id == Page.target_id)
            .join(Version, Version.capture_id == Capture.id)
        ).one()
    assert capture.warc_record is not None
    path, offset = archive.path(capture.warc_record)
    with path.open("rb") as stream:
        stream.seek(offset)
        written = gzip.decompress(stream.read())  # the capture's three records
    body = store.body(capture.body_sha256 or "")
    out = io.BytesIO()
    write_captures(out, [capture_record(capture, url, target, seq, body)])
    assert written == gzip.decompress(out.getvalue())
    assert b"WARC-Type: response" in written and b"Open on Monday." in written
    store.close()


def test_a_failed_warc_write_leaves_the_capture_for_later(site: LocalSite, tmp_path: Path) -> None:
    """WARC is a second copy: when its folder cannot be written, the check still records
    the capture, and its warc_record stays empty (to be written later)."""
    site.page("/notice", "<html><head><title>N</title></head><body><p>Open.</p></body></html>")
    (tmp_path / "taken").write_text("a file where the WARC folder should be")
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    config = config.model_copy(
        update={"archive": config.archive.model_copy(update={"warc_dir": str(tmp_path / "taken")})}
    )
    store = Store(config.database)
    summary = run_check(config, store, config.targets)
    assert summary.first_versions == 1
    with store.session() as session:
        captures = session.scalars(select(Capture)).all()
    assert captures and all(capture.warc_record is None for capture in captures)
    store.close()


# --- Scrapy wiring ---------------------------------------------------------------------


def test_spiders_take_their_delays_from_the_settings_and_work_alone() -> None:
    config = make_config("sqlite://", [{"name": "x", "url": "http://127.0.0.1/x"}])
    settings = scrapy_settings(config.fetch, obey_robots=False, detect=config.detect)
    spider = PageSpider.from_crawler(Crawler(PageSpider, settings))
    assert (spider.confirm_delay, spider.probe_delay) == (0.1, 0.1)
    alone = ListingSpider.from_crawler(Crawler(ListingSpider, {}))
    assert (alone.confirm_delay, alone.probe_delay) == (10.0, 5.0)
    assert alone.plan_articles is follow_all


def test_the_pipeline_finds_its_sink_by_crawler_and_flushes_on_spider_closed() -> None:
    class Collect:
        def __init__(self) -> None:
            self.fetches: list[FetchResult] = []
            self.flushes = 0

        def accept(self, fetch: FetchResult) -> None:
            self.fetches.append(fetch)

        def flush(self) -> None:
            self.flushes += 1

    crawler = Crawler(PageSpider, {})
    with pytest.raises(NotConfigured):
        RecordPipeline.from_crawler(crawler)  # a crawl without a sink: disabled
    sink = Collect()
    use_sink(crawler, sink)
    pipeline = RecordPipeline.from_crawler(crawler)
    fetch = FetchResult(
        key=PageKey("x", "http://127.0.0.1/x"),
        role="page",  # type: ignore[arg-type]
        requested_url="http://127.0.0.1/x",
        started_at=datetime.now(UTC),
        duration_ms=1.0,
    )
    assert asyncio.run(pipeline.process_item(fetch)) is fetch
    pipeline.spider_closed(PageSpider())
    assert sink.fetches == [fetch] and sink.flushes == 1


def test_the_daemon_heartbeat_beats_while_the_loop_is_busy(tmp_path: Path) -> None:
    """The lock's heartbeat has its own thread: a loop held for seconds (a slow callback)
    never makes a running daemon look dead."""
    import yaml

    from monitor.daemon.scheduler import Daemon
    from monitor.storage.lock import acquire_lock, read_lock

    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'd.db'}",
                "daemon": {"heartbeat": 0.2},
                "targets": [{"name": "x", "url": "http://127.0.0.1:9/x"}],
            }
        )
    )
    daemon = Daemon(path)
    acquire_lock(daemon.store, daemon.holder, str(path), stale_after=3)
    beats = threading.Thread(target=daemon._beating, daemon=True)
    beats.start()

    async def hold_the_loop() -> None:
        time.sleep(1.5)  # a callback that never yields

    try:
        held = asyncio.run_coroutine_threadsafe(hold_the_loop(), reactor.loop())
        time.sleep(0.3)
        before = read_lock(daemon.store)
        time.sleep(0.8)
        during = read_lock(daemon.store)
        held.result(10)
    finally:
        daemon.beats_stop.set()
        beats.join(5)
        daemon.store.close()
    assert before is not None and during is not None
    assert during.heartbeat_at > before.heartbeat_at


def test_a_batch_the_writer_cannot_write_fails_the_check_loudly(
    site: LocalSite, tmp_path: Path
) -> None:
    """The writer thread keeps going after a failed batch; the check then raises (the
    daemon logs it and tries again at the next due time), and nothing half-written stays."""
    from sqlalchemy import event

    from monitor.exceptions import StorageError

    site.page("/notice", "<html><head><title>N</title></head><body><p>Open.</p></body></html>")
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "notice", "url": site.url("/notice")}]
    )
    store = Store(config.database)

    def explode(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO VERSIONS"):
            raise RuntimeError("disk on fire")

    event.listen(store.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(StorageError, match="disk on fire"):
            run_check(config, store, config.targets)
    finally:
        event.remove(store.engine, "before_cursor_execute", explode)
    assert store.counts()["captures"] == 0
    assert run_check(config, store, config.targets).first_versions == 1
    store.close()
