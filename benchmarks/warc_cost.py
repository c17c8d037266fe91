"""What writing captures as WARC costs: added storage per version, and time per capture.

Records N distinct ~20 KB embassy-style pages (the pages of ``check_cycle.py``) in a
fresh SQLite database the way a check does (observe, then ``Store.record`` in batches of
200), then writes them to a WARC folder with the check cycle's hook,
``monitor.evidence.archive_recorded``, and prints:

* storage: the body as received, its zstd blob in the database, and the bytes the WARC
  folder grew by per version (response + request + metadata records, gzip per record);
* time per capture: observing (decode, extract, normalise) and recording, for scale; the
  hook (database read, records built and compressed, one append and fsync per batch,
  locations written back); and, within it, building and compressing the records alone;
* the same for "all captures" mode: a second round where every page is unchanged
  (nothing new in the database; the hook gets the bodies from memory).

    python benchmarks/warc_cost.py                 # 500 pages, 3 repeats, medians
    python benchmarks/warc_cost.py --pages 2000 --repeat 1

Nothing leaves the machine; the temp folders are removed at the end.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_cycle import FIXED_NOISE, render_page

from monitor import config as cfg
from monitor.check import rules_for
from monitor.check.record import record as record_batch
from monitor.detect.observe import observe
from monitor.evidence import archive_recorded, capture_record
from monitor.evidence.warc import WarcArchive, write_captures
from monitor.records import FetchResult, PageKey, RecordedCapture
from monitor.storage.models import Blob, Capture
from monitor.storage.store import Store

BATCH = 200
BASE = "https://embassy.example"
REQUEST_HEADERS = {
    ":method": "GET",
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en",
    "user-agent": "monitor/0.1.0 (+https://github.com/monitor-project/monitor)",
    "accept-encoding": "gzip, deflate, br, zstd",
}


def response_headers(number: int, body: bytes) -> dict[str, str]:
    return {
        "date": "Mon, 01 Dec 2025 10:00:00 GMT",
        "server": "Apache",
        "content-type": "text/html; charset=utf-8",
        "content-length": str(len(body) // 4),  # sent gzipped; the client decoded it
        "last-modified": "Mon, 01 Dec 2025 10:00:00 GMT",
        "etag": f'"{number:05d}-5f3a1c"',
        "cache-control": "public, max-age=300",
        "vary": "Accept-Encoding",
        "set-cookie": f"session={number:032x}; Path=/; HttpOnly",
    }


@dataclass
class Round:
    captures: int = 0
    body_bytes: int = 0
    blob_bytes: int = 0
    warc_bytes: int = 0
    observe_s: float = 0.0
    record_s: float = 0.0
    hook_s: float = 0.0
    build_s: float = 0.0


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.warc.gz"))


def run_round(
    store: Store,
    config: cfg.Config,
    archive: WarcArchive,
    pages: dict[int, bytes],
    when: datetime,
) -> Round:
    """One check of every page: observe + record in batches, then the WARC hook per batch."""
    result = Round()
    targets = {target.name: target for target in config.targets}
    states = store.states(store.sync_targets(config.targets).values())
    rules = {name: rules_for(config, target) for name, target in targets.items()}
    numbers = sorted(pages)
    before_warc = _folder_size(archive.folder)
    for start in range(0, len(numbers), BATCH):
        observations = []
        bodies: dict[int, bytes] = {}
        began = time.perf_counter()
        for number in numbers[start : start + BATCH]:
            name = f"page-{number:05d}"
            key = PageKey(name, targets[name].url)
            body = pages[number]
            fetch = FetchResult(
                key=key,
                role="page",
                requested_url=key.url,
                started_at=when + timedelta(milliseconds=number),
                duration_ms=35.0,
                final_url=key.url,
                status=200,
                headers=response_headers(number, body),
                body=body,
                request_headers=dict(REQUEST_HEADERS),
                protocol="HTTP/1.1",
            )
            observations.append(observe(fetch, rules[name], states[key]))
            result.body_bytes += len(body)
        result.observe_s += time.perf_counter() - began
        began = time.perf_counter()
        recorded: list[RecordedCapture] = record_batch(store, observations, states)
        result.record_s += time.perf_counter() - began
        for item, observation in zip(recorded, observations, strict=True):
            bodies[item.capture_id] = observation.fetch.body
        result.captures += len(recorded)

        began = time.perf_counter()
        archive_recorded(store, archive, list(bodies.items()))
        result.hook_s += time.perf_counter() - began
        result.build_s += build_only(store, list(bodies.items()))
    result.warc_bytes = _folder_size(archive.folder) - before_warc
    return result


def build_only(store: Store, pairs: Sequence[tuple[int, bytes]]) -> float:
    """Seconds to build and compress the records of these captures in memory (no I/O)."""
    with store.session() as session:
        rows = {
            c.id: c for c in session.query(Capture).filter(Capture.id.in_([i for i, _ in pairs]))
        }
    records = [capture_record(rows[i], None, None, None, body) for i, body in pairs]
    began = time.perf_counter()
    for record in records:
        write_captures(io.BytesIO(), [record])
    return time.perf_counter() - began


def one_run(pages: int) -> tuple[Round, Round]:
    bodies = {n: render_page(n, FIXED_NOISE).encode() for n in range(1, pages + 1)}
    with tempfile.TemporaryDirectory(prefix="warc-cost-") as folder:
        url = f"sqlite:///{folder}/monitor.db"
        config = cfg.parse(
            {
                "database": url,
                "targets": [
                    {"name": f"page-{n:05d}", "url": f"{BASE}/en/news/{n:05d}.html"} for n in bodies
                ],
            },
            "benchmark",
        )
        store = Store(url)
        archive = WarcArchive(Path(folder) / "warc")
        now = datetime.now(UTC)
        first = run_round(store, config, archive, bodies, now)
        with store.session() as session:
            first.blob_bytes = sum(len(data) for (data,) in session.query(Blob.data))
        again = run_round(store, config, archive, bodies, now + timedelta(hours=1))
        store.close()
    return first, again


def _median(rounds: Sequence[Round], value: Callable[[Round], float]) -> float:
    return statistics.median(value(r) for r in rounds)


def report(title: str, rounds: Sequence[Round]) -> None:
    n = rounds[0].captures
    per = lambda seconds: seconds / n * 1000  # noqa: E731
    print(f"\n{title} ({n} captures, median of {len(rounds)} runs)")
    body = _median(rounds, lambda r: r.body_bytes / r.captures)
    blob = _median(rounds, lambda r: r.blob_bytes / r.captures)
    warc = _median(rounds, lambda r: r.warc_bytes / r.captures)
    print(f"  body as received            {body / 1000:8.1f} KB")
    if blob:
        print(
            f"  zstd blob in the database   {blob / 1000:8.1f} KB  ({blob / body:.0%} of the body)"
        )
    else:
        print("  zstd blob in the database        -     (an unchanged capture stores no body)")
    print(
        f"  added by WARC, per capture  {warc / 1000:8.1f} KB  ({warc / body:.0%} of the body"
        + (f", {warc / blob:.1f}x the blob)" if blob else ")")
    )
    observe_ms = _median(rounds, lambda r: per(r.observe_s))
    record_ms = _median(rounds, lambda r: per(r.record_s))
    hook_ms = _median(rounds, lambda r: per(r.hook_s))
    build_ms = _median(rounds, lambda r: per(r.build_s))
    print(f"  observe (decode, extract)   {observe_ms:8.2f} ms per capture")
    print(f"  record (database batch)     {record_ms:8.2f} ms per capture")
    print(
        f"  WARC hook                   {hook_ms:8.2f} ms per capture "
        f"(+{hook_ms / (observe_ms + record_ms):.0%} on observe + record)"
    )
    print(f"    of which build + gzip     {build_ms:8.2f} ms per capture")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    results: list[tuple[Round, Round]] = [one_run(args.pages) for _ in range(args.repeat)]
    report("New versions (WARC on)", [first for first, _ in results])
    report("Unchanged captures (archive.all_captures: true)", [again for _, again in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
