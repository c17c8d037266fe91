"""Fault injection: SIGKILL `monitor check` and `monitor run` at random moments, N rounds.

    python benchmarks/faults.py [--rounds 20] [--pages 4] [--backend sqlite,postgresql]
                                [--mode check,run] [--seed 1]

A local site (127.0.0.1) serves ``--pages`` pages; a local webhook receiver takes the
alerts. Each round edits every page (a new sentence carrying a token of the round),
then:

* ``check``: starts `monitor check`, kills it (SIGKILL) at a random moment of its usual
  duration (fetching, recording or sending), then runs `monitor check` to the end, so
  the edit is seen by a check that completed;
* ``run``: starts `monitor run`, kills it at a random moment within its first seconds,
  starts it again and waits until every page's edit is recorded, then kills it again
  at a random moment of the next two seconds (alerts may be in flight).

At the end `monitor notify send` delivers what is left in the outbox. It prints, per
backend and mode: alerts expected (one per edit of a page), delivered (distinct event
ids received that carry a round's token), lost (expected tokens never delivered),
duplicated (deliveries of an event id already received: at-least-once after a kill
between sending and marking sent), events doubled in the database (a token with more
than one `changed` event) and the database's integrity (SQLite ``PRAGMA
integrity_check`` and ``foreign_key_check``; on both backends consistency queries:
versions numbered 1..n per page, each page's last version its highest, no capture of a
version missing, no delivery without its event). Exit status 1 if anything was lost or
the database is not consistent.

PostgreSQL: a fresh database on ``MONITOR_TEST_POSTGRES`` (default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.receivers import WebhookReceiver  # noqa: E402
from tests.sites import LocalSite  # noqa: E402

MONITOR = [sys.executable, "-m", "monitor"]
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
POSTGRES = os.environ.get("MONITOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Result:
    backend: str
    mode: str
    rounds: int = 0
    kills: int = 0
    expected: set[str] = field(default_factory=set)
    received: list[tuple[str, str]] = field(default_factory=list)  # (event id, token)
    doubled_events: int = 0
    integrity: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def delivered(self) -> set[str]:
        return {token for _id, token in self.received}

    @property
    def lost(self) -> set[str]:
        return self.expected - self.delivered

    @property
    def duplicated(self) -> int:
        counts = Counter(event_id for event_id, _token in self.received)
        return sum(n - 1 for n in counts.values())


def _html(path: str, tokens: list[str]) -> str:
    # Each edit adds a paragraph of new words (what a statement's update looks like),
    # never a counter in a line that changes every time (that is noise to learn).
    updates = "".join(
        f"<p>Update {token}: the consular section announces new arrangements "
        f"for {WORDS[i % len(WORDS)]} applications.</p>"
        for i, token in enumerate(tokens)
    )
    return (
        f"<html><head><title>Statement {path}</title></head><body><article>"
        f"<h1>Statement {path}</h1><p>The embassy informs the public of its opening hours.</p>"
        f"{updates}</article></body></html>"
    )


WORDS = [
    "visa",
    "passport",
    "residence",
    "student",
    "business",
    "transit",
    "family",
    "work",
    "diplomatic",
    "emergency",
    "tourist",
    "medical",
    "research",
    "seasonal",
    "pension",
]


def _token(round_: int, page: int) -> str:
    return f"TOKEN-R{round_:03d}-P{page:02d}"


def _config(path: Path, database: str, site: LocalSite, pages: int, hook: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 5},
                "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
                "defaults": {"schedule": {"every": "1s"}, "notify": ["hook"]},
                "daemon": {
                    "tick": 0.2,
                    "heartbeat": 1,
                    "outbox_interval": 0.5,
                    "spread_overdue": 0.2,
                    "grace": 5,
                },
                "outbox": {"backoff": "1s", "claim_timeout": "2s", "flush_timeout": "10s"},
                "channels": {"hook": {"type": "webhook", "url": hook}},
                "targets": [{"name": f"p{i}", "url": site.url(f"/p{i}")} for i in range(pages)],
            }
        )
    )
    return path


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*MONITOR, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV
    )


def _kill_at(process: subprocess.Popen[bytes], delay: float) -> bool:
    """SIGKILL ``process`` after ``delay`` seconds; whether it was still running."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    running = process.poll() is None
    if running:
        process.kill()
    process.wait(30)
    if process.stderr is not None:
        process.stderr.close()
    return running


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MONITOR, *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )


def _recorded(database: str, tokens: list[str]) -> bool:
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            for token in tokens:
                found = connection.execute(
                    text("SELECT 1 FROM versions WHERE text LIKE :t LIMIT 1"),
                    {"t": f"%{token}%"},
                ).first()
                if found is None:
                    return False
        return True
    finally:
        engine.dispose()


def _integrity(database: str, tokens: set[str]) -> tuple[list[str], int]:
    """Problems found (empty: consistent) and tokens with more than one changed event."""
    problems: list[str] = []
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    queries = {
        "versions not numbered 1..n per page": (
            "SELECT count(*) FROM (SELECT page_id FROM versions GROUP BY page_id "
            "HAVING min(seq) <> 1 OR max(seq) <> count(*)) AS gaps"
        ),
        "pages whose last version is not their highest": (
            "SELECT count(*) FROM pages p WHERE p.last_version_id IS NOT NULL AND "
            "p.last_version_id <> (SELECT v.id FROM versions v WHERE v.page_id = p.id "
            "ORDER BY v.seq DESC LIMIT 1)"
        ),
        "versions without their capture": (
            "SELECT count(*) FROM versions v LEFT JOIN captures c ON c.id = v.capture_id "
            "WHERE c.id IS NULL"
        ),
        "captures without their body": (
            "SELECT count(*) FROM captures c LEFT JOIN blobs b ON b.sha256 = c.body_sha256 "
            "WHERE c.body_sha256 IS NOT NULL AND b.sha256 IS NULL"
        ),
        "deliveries without their event": (
            "SELECT count(*) FROM deliveries d LEFT JOIN changes c ON c.id = d.change_id "
            "WHERE c.id IS NULL"
        ),
        "events without their delivery": (
            "SELECT count(*) FROM changes c LEFT JOIN deliveries d ON d.change_id = c.id "
            "WHERE c.kind = 'changed' AND d.id IS NULL"
        ),
    }
    doubled = 0
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                check = connection.exec_driver_sql("PRAGMA integrity_check").scalar()
                if check != "ok":
                    problems.append(f"integrity_check: {check}")
                keys = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if keys:
                    problems.append(f"foreign_key_check: {len(keys)} row(s)")
            for name, query in queries.items():
                count = connection.execute(text(query)).scalar()
                if count:
                    problems.append(f"{name}: {count}")
            newest = Counter(
                max(re.findall(r"TOKEN-R\d+-P\d+", version_text or "") or ["?"])
                for (version_text,) in connection.execute(
                    text(
                        "SELECT v.text FROM changes c JOIN versions v "
                        "ON v.id = c.to_version_id WHERE c.kind = 'changed'"
                    )
                )
            )
            doubled = sum(1 for token in tokens if newest[token] > 1)
    finally:
        engine.dispose()
    return problems, doubled


def _postgres_database() -> tuple[str, str]:
    import psycopg

    name = f"monitor_faults_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES.rsplit('/', 1)[0]}/{name}", name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _received(receiver: WebhookReceiver, database: str) -> list[tuple[str, str]]:
    """(event id, token) of each delivery: the token of the version the event is about,
    read from the database by the event's id (the payload's diff may show only part of
    the new sentence)."""
    ids = [json.loads(request.body)["id"] for request in list(receiver.requests)]
    tokens: dict[str, str] = {}
    engine = create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            for event_id in set(ids):
                version_text = connection.execute(
                    text(
                        "SELECT v.text FROM changes c JOIN versions v ON v.id = c.to_version_id "
                        "WHERE c.uid = :uid"
                    ),
                    {"uid": event_id},
                ).scalar()
                found = re.findall(r"TOKEN-R\d+-P\d+", version_text or "")
                tokens[event_id] = max(found) if found else "?"  # the newest update
    finally:
        engine.dispose()
    return [(event_id, tokens[event_id]) for event_id in ids]


def scenario(backend: str, mode: str, rounds: int, pages: int, rng: random.Random) -> Result:
    result = Result(backend, mode)
    workdir = Path(tempfile.mkdtemp(prefix="monitor-faults-"))
    pg_name = None
    if backend == "postgresql":
        database, pg_name = _postgres_database()
    else:
        database = f"sqlite:///{workdir / 'faults.db'}"
    site = LocalSite().start()
    receiver = WebhookReceiver()
    started = time.monotonic()
    try:
        history: list[list[str]] = [[] for _ in range(pages)]
        for i in range(pages):
            site.page(f"/p{i}", _html(f"/p{i}", []))
        config = _config(workdir / "config.yaml", database, site, pages, receiver.url)
        first = time.monotonic()
        _run("check", "-c", str(config))  # first versions (no alerts)
        span = max(1.0, time.monotonic() - first)
        for round_ in range(1, rounds + 1):
            tokens = [_token(round_, i) for i in range(pages)]
            for i, token in enumerate(tokens):
                history[i].append(token)
                site.page(f"/p{i}", _html(f"/p{i}", history[i]))
            result.expected.update(tokens)
            if mode == "check":
                killed = _kill_at(_start("check", "-c", str(config)), rng.uniform(0, span))
                result.kills += killed
                done = _run("check", "-c", str(config))
                if done.returncode not in (0, 1):
                    result.integrity.append(f"round {round_}: check exited {done.returncode}")
            else:
                result.kills += _kill_at(_start("run", "-c", str(config)), rng.uniform(0, 4))
                daemon = _start("run", "-c", str(config))
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and not _recorded(database, tokens):
                    if daemon.poll() is not None:  # refused or died: start it again
                        daemon = _start("run", "-c", str(config))
                    time.sleep(0.3)
                result.kills += _kill_at(daemon, rng.uniform(0, 2))
            result.rounds += 1
        _run("notify", "send", "-c", str(config))
        quiet = time.monotonic()
        while time.monotonic() - quiet < 1.0:  # until the receiver has been quiet a second
            count = len(receiver.requests)
            time.sleep(0.2)
            if len(receiver.requests) != count:
                quiet = time.monotonic()
        result.received = _received(receiver, database)
        problems, result.doubled_events = _integrity(database, result.expected)
        result.integrity.extend(problems)
    finally:
        result.seconds = time.monotonic() - started
        receiver.stop()
        site.stop()
        if pg_name:
            _drop_postgres(pg_name)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--mode", default="check,run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results = []
    header = (
        f"{'backend':10} {'mode':5} {'rounds':>6} {'kills':>5} {'expected':>8} "
        f"{'delivered':>9} {'lost':>4} {'dup':>4} {'doubled':>7} {'secs':>5}  integrity"
    )
    print(header)
    for backend in args.backend.split(","):
        for mode in args.mode.split(","):
            r = scenario(backend, mode, args.rounds, args.pages, rng)
            results.append(r)
            print(
                f"{r.backend:10} {r.mode:5} {r.rounds:6} {r.kills:5} {len(r.expected):8} "
                f"{len(r.delivered & r.expected):9} {len(r.lost):4} {r.duplicated:4} "
                f"{r.doubled_events:7} {r.seconds:5.0f}  "
                + ("ok" if not r.integrity else "; ".join(r.integrity)),
                flush=True,
            )
            if r.lost:
                print(f"  lost: {', '.join(sorted(r.lost))}")
    bad = any(r.lost or r.integrity for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
