"""Reviewing history at scale: the web pages and `monitor search` over 20,000 versions.

    python benchmarks/web.py                       # SQLite in a temp dir
    python benchmarks/web.py --db postgres         # a fresh PostgreSQL database, dropped after
    python benchmarks/web.py --targets 200 --versions 5 --runs 5

Generates a history straight into a new database (bulk inserts, not the crawler: the
subject here is reading): N targets with V versions each (texts of about 3 KB, lines
edited between versions, a "changed" event with significance and reasons per version,
three captures per version, bodies stored), plus one page with two 1 MB versions that
differ by 20 scattered word edits. Then serves the application with uvicorn on
127.0.0.1 and times, as the median of --runs requests (after one warm-up):

- the dashboard (the first 100 targets of all, with their strips of events per day; with
  90-day strips; filtered to those changed this week; its last page), a target's
  timeline, and the 1 MB diff page (inline, changes only; inline whole text; side by
  side), by the server's own time (its ``Server-Timing`` header) and by the client's wall
  time; the diff page's first, cold request (diff computed, not cached) is shown too;
- ``monitor search``: the search itself over all versions, for several queries, and the
  whole command (a new Python process, as a user runs it).

Goals: 200 ms per page, 500 ms per search (medians). Exit status 1 if one is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from monitor.history.search import search
from monitor.storage.models import Blob, Capture, Change, Page, Target, Version
from monitor.storage.store import Store
from monitor.web.app import running

PAGE_GOAL_MS = 200.0
SEARCH_GOAL_MS = 500.0
QUERIES = ["visa", '"consular section"', "suspend*", "embassy -closed", "zzzznothing"]
WORDS = [
    "embassy",
    "consular",
    "section",
    "visa",
    "applications",
    "citizens",
    "passport",
    "ministry",
    "statement",
    "foreign",
    "affairs",
    "ambassador",
    "notice",
    "closed",
    "open",
    "hours",
    "appointment",
    "documents",
    "travel",
    "advisory",
    "security",
    "guarantees",
    "briefing",
    "spokeswoman",
    "cooperation",
    "agreement",
    "delegation",
    "suspended",
    "resumed",
    "holiday",
    "schedule",
    "reception",
    "fee",
    "payment",
    "biometric",
    "registration",
]


def _vocabulary(rng: random.Random) -> list[str]:
    made = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))) for _ in range(3000)]
    return WORDS * 20 + made


def _line(rng: random.Random, vocabulary: list[str]) -> str:
    words = rng.choices(vocabulary, k=rng.randint(8, 30))
    return " ".join(words).capitalize() + "."


def generate(store: Store, targets: int, versions: int, seed: int) -> dict[str, Any]:
    """Write the history; returns what the timings need (page ids, sizes)."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    # Ending before now, so the dashboard's strips (the last 30 and 90 days) have events.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=25)
    engine = store.engine
    totals = {"versions": 0, "captures": 0, "chars": 0}
    with engine.begin() as connection:
        connection.execute(
            insert(Target),
            [
                {
                    "id": i + 1,
                    "name": f"target-{i:04d}",
                    "kind": "page",
                    "url": f"https://site{i % 40}.example.org/news/statement-{i}",
                    "tags": [f"region-{i % 7}", "ministry" if i % 3 else "embassy"],
                    "active": True,
                    "created_at": start,
                    "updated_at": start,
                }
                for i in range(targets)
            ],
        )
    blob = b"<html><body>generated</body></html>"
    blob_sha = hashlib.sha256(blob).hexdigest()
    capture_id = version_id = change_id = 0
    for i in range(targets):
        lines = [_line(rng, vocabulary) for _ in range(rng.randint(15, 30))]
        captures, version_rows, change_rows = [], [], []
        when = start + timedelta(minutes=i)
        previous_id = None
        for seq in range(1, versions + 1):
            if seq > 1:
                for _ in range(rng.randint(1, 3)):
                    lines[rng.randrange(len(lines))] = _line(rng, vocabulary)
            text = "\n".join(lines)
            for _ in range(3):  # two unchanged checks, then the one that found the change
                capture_id += 1
                when += timedelta(hours=rng.randint(2, 12))
                captures.append(
                    {
                        "id": capture_id,
                        "page_id": i + 1,
                        "started_at": when,
                        "duration_ms": 120.0,
                        "requested_url": f"https://site{i % 40}.example.org/news/statement-{i}",
                        "final_url": f"https://site{i % 40}.example.org/news/statement-{i}",
                        "redirects": [],
                        "status": 200,
                        "headers": {"content-type": "text/html; charset=utf-8"},
                        "body_size": len(blob),
                        "body_sha256": blob_sha,
                        "body_stored": True,
                        "encoding": "utf-8",
                        "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
                        "quality": "ok",
                        "outcome": "unchanged",
                    }
                )
            captures[-1]["outcome"] = "new"
            version_id += 1
            version_rows.append(
                {
                    "id": version_id,
                    "page_id": i + 1,
                    "capture_id": capture_id,
                    "seq": seq,
                    "captured_at": when,
                    "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
                    "title": f"Statement {i}: {' '.join(rng.choices(WORDS, k=4))}",
                    "text": text,
                    "links": [[f"https://site{i % 40}.example.org/doc/{seq}", "Document"]],
                }
            )
            totals["chars"] += len(text)
            if previous_id is not None:
                change_id += 1
                score = round(rng.random(), 2)
                change_rows.append(
                    {
                        "id": change_id,
                        "uid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "page_id": i + 1,
                        "kind": "changed",
                        "detected_at": when,
                        "capture_id": capture_id,
                        "from_version_id": previous_id,
                        "to_version_id": version_id,
                        "significance": score,
                        "features": {"reasons": ["12 words changed", "1 link(s) removed"]},
                        "summary": f"Changed: Statement {i} (+6 / -6 words)",
                    }
                )
            previous_id = version_id
        with engine.begin() as connection:
            if i == 0:
                connection.execute(
                    insert(Blob),
                    [{"sha256": blob_sha, "size": len(blob), "compression": "none", "data": blob}],
                )
            connection.execute(
                insert(Page),
                [
                    {
                        "id": i + 1,
                        "target_id": i + 1,
                        "url": f"https://site{i % 40}.example.org/news/statement-{i}",
                        "role": "page",
                        "state": "active",
                        "created_at": start,
                        "last_checked_at": when,
                        "last_version_id": version_id,
                        "consecutive_failures": 0,
                        "removal_pending": False,
                    }
                ],
            )
            connection.execute(insert(Capture), captures)
            connection.execute(insert(Version), version_rows)
            if change_rows:
                connection.execute(insert(Change), change_rows)
        totals["versions"] += len(version_rows)
        totals["captures"] += len(captures)
    big = _big_page(store, targets + 1, rng, vocabulary, start, capture_id, version_id)
    totals["versions"] += 2
    return {"timeline_page": targets // 2, "big_page": big, **totals}


def _big_page(
    store: Store,
    number: int,
    rng: random.Random,
    vocabulary: list[str],
    start: datetime,
    capture_id: int,
    version_id: int,
) -> int:
    """A page with two 1 MB versions, 20 word edits apart; returns its page id."""
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < 1_000_000:
        lines.append(_line(rng, vocabulary))
    edited = list(lines)
    for index in rng.sample(range(len(lines)), 20):
        words = edited[index].split()
        words[rng.randrange(len(words))] = "AMENDED"
        edited[index] = " ".join(words)
    url = "https://big.example.org/registry"
    with store.engine.begin() as connection:
        connection.execute(
            insert(Target),
            [{"id": number, "name": "big-registry", "kind": "page", "url": url, "tags": ["big"],
              "active": True, "created_at": start, "updated_at": start}],
        )  # fmt: skip
        connection.execute(
            insert(Page),
            [{"id": number, "target_id": number, "url": url, "role": "page", "state": "active",
              "created_at": start, "last_version_id": version_id + 2, "consecutive_failures": 0,
              "removal_pending": False}],
        )  # fmt: skip
        for seq, text in ((1, "\n".join(lines)), (2, "\n".join(edited))):
            connection.execute(
                insert(Capture),
                [{"id": capture_id + seq, "page_id": number, "requested_url": url,
                  "started_at": start + timedelta(days=seq), "duration_ms": 900.0, "status": 200,
                  "headers": {}, "redirects": [], "body_stored": False, "quality": "ok",
                  "outcome": "new"}],
            )  # fmt: skip
            connection.execute(
                insert(Version),
                [{"id": version_id + seq, "page_id": number, "capture_id": capture_id + seq,
                  "seq": seq, "captured_at": start + timedelta(days=seq),
                  "content_sha256": hashlib.sha256(text.encode()).hexdigest(),
                  "title": "Registry", "text": text, "links": []}],
            )  # fmt: skip
    return number


def _request(url: str) -> tuple[float, float, int]:
    """(server ms from Server-Timing, client wall ms, body bytes)."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as answer:
        body = answer.read()
        timing = answer.headers.get("server-timing", "app;dur=nan")
    wall = (time.perf_counter() - started) * 1000
    return float(timing.split("dur=")[1]), wall, len(body)


def _time_page(base: str, path: str, runs: int) -> dict[str, float]:
    cold_server, _cold_wall, size = _request(base + path)
    servers, walls = [], []
    for _ in range(runs):
        server, wall, size = _request(base + path)
        servers.append(server)
        walls.append(wall)
    return {
        "cold": cold_server,
        "server": statistics.median(servers),
        "wall": statistics.median(walls),
        "bytes": size,
    }


def _median_ms(function: Any, runs: int) -> float:
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _postgres() -> tuple[str, Any]:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/test"
    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20, help="versions per target")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (median)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=20260303)
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory(prefix="monitor-web-bench-")
    drop = None
    url = f"sqlite:///{Path(folder.name) / 'bench.db'}"
    if args.db == "postgres":
        url, drop = _postgres()
    try:
        store = Store(url)
        started = time.perf_counter()
        made = generate(store, args.targets, args.versions, args.seed)
        print(
            f"{args.db}: generated {args.targets} targets, {made['versions']} versions "
            f"({made['chars'] / 1e6:.0f} M characters), {made['captures']} captures, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        missed = []
        page = made["timeline_page"]
        big = made["big_page"]
        pages = [
            ("dashboard (100 of all)", "/"),
            ("dashboard, 90-day strips", "/?days=90"),
            ("dashboard, changed this week", "/?activity=week"),
            ("dashboard, last page", f"/?page={-(-args.targets // 100)}"),
            ("target timeline", f"/pages/{page}"),
            ("1 MB diff, changes only", f"/pages/{big}/diff/1/2"),
            ("1 MB diff, whole text", f"/pages/{big}/diff/1/2?full=1"),
            ("1 MB diff, side by side", f"/pages/{big}/diff/1/2?view=side-by-side"),
            ("API: targets", "/api/targets"),
            ("feed: all events", "/feeds/events.atom"),
        ]
        print(f"\nweb pages: median of {args.runs} requests; server = its Server-Timing")
        print(f"{'page':28} {'server ms':>10} {'wall ms':>9} {'cold ms':>9} {'size':>9}  goal")
        with running(store) as base:
            for label, path in pages:
                timing = _time_page(base, path, args.runs)
                met = timing["server"] < PAGE_GOAL_MS
                if not met:
                    missed.append(label)
                print(
                    f"{label:28} {timing['server']:10.1f} {timing['wall']:9.1f} "
                    f"{timing['cold']:9.1f} {timing['bytes'] / 1000:7.0f}KB  "
                    f"< {PAGE_GOAL_MS:.0f} ms: {'met' if met else 'MISSED'}"
                )
        print(f"\nsearch over {made['versions']} versions: median of {args.runs}")
        print(f"{'query':24} {'ms':>8} {'versions':>9} {'pages':>6}  goal")
        for query in QUERIES:
            result = search(store, query, limit=20)
            ms = _median_ms(lambda q=query: search(store, q, limit=20), args.runs)
            met = ms < SEARCH_GOAL_MS
            if not met:
                missed.append(f"search {query}")
            print(
                f"{query:24} {ms:8.1f} {result.versions:9} {result.total_pages:6}  "
                f"< {SEARCH_GOAL_MS:.0f} ms: {'met' if met else 'MISSED'}"
            )
        command = [sys.executable, "-m", "monitor", "search", "visa", "--db", url]
        walls = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            walls.append((time.perf_counter() - started) * 1000)
        imports = [sys.executable, "-c", "import monitor.cli, monitor.history.search"]
        bare = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run(imports, check=True, capture_output=True)
            bare.append((time.perf_counter() - started) * 1000)
        print(
            f"\n`monitor search visa` as a command (new process, imports, database open): "
            f"median {statistics.median(walls):.0f} ms of 5, of which starting Python and "
            f"importing the monitor: {statistics.median(bare):.0f} ms"
        )
        store.close()
    finally:
        if drop is not None:
            drop()
        folder.cleanup()
    if missed:
        print("\nMISSED: " + ", ".join(missed))
        return 1
    print("\nall goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
