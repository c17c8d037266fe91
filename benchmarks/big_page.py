"""Does a 5 MB page stall the daemon? The loop's longest hold, heartbeat and other pages.

    python benchmarks/big_page.py [--size-mb 5] [--duration 40] [--heartbeat 2]

Runs `monitor run` (a subprocess, SQLite in a temp dir) on two local pages: a big one
(``--size-mb`` of paragraphs, a new edit at every fetch, checked every 5 s) and a small
one checked every second, for ``--duration`` seconds; then the same without the big page
(the baseline). Prints, for each run: how often the big page was recorded, the longest
the event loop was held at a time (the daemon's own measure, logged at its stop), the
longest gap between two heartbeats seen in the database, the longest gap between two
captures of the small page, and whether a second `monitor run` started meanwhile was
refused. Issue 17 saw the loop held 28 s by a 5 MB page with a 2 s heartbeat.

The daemon runs with ``PYTHONASYNCIODEBUG=1``: asyncio then logs every callback that ran
longer than 0.1 s, so the slow callbacks are counted and the longest one named (the
first crawl's set-up, or the big page's).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sites import LocalSite, Route  # noqa: E402

ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONASYNCIODEBUG": "1"}
SLOW = re.compile(r"Executing <(.*?)> took ([0-9.]+) seconds")


def _big(size: int, edit: int) -> bytes:
    paragraph = "The ministry publishes the statement in full, paragraph by paragraph. " * 6
    count = size // (len(paragraph) + 30) + 1
    body = "".join(f"<p>Paragraph {i}: {paragraph}</p>" for i in range(count))
    return (
        f"<html><head><title>Big</title></head><body><article><p>Edit {edit}</p>{body}"
        "</article></body></html>"
    ).encode()


def run(size_mb: float, duration: float, heartbeat: float) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="monitor-big-page-"))
    database = f"sqlite:///{workdir / 'd.db'}"
    site = LocalSite().start()
    edits = itertools.count()
    size = int(size_mb * 1_000_000)
    if size:
        site.routes["/big"] = lambda: Route(body=_big(size, next(edits)))
    site.page("/small", "<html><head><title>S</title></head><body><p>small</p></body></html>")
    targets = [{"name": "small", "url": site.url("/small")}]
    if size:
        targets.append({"name": "big", "url": site.url("/big"), "schedule": {"every": "5s"}})
    config = workdir / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": database,
                "fetch": {"delay": 0, "obey_robots": False, "retries": 0, "timeout": 30},
                "defaults": {"schedule": {"every": "1s"}},
                "daemon": {"tick": 0.2, "heartbeat": heartbeat, "spread_overdue": 0.2},
                "targets": targets,
            }
        )
    )
    command = [sys.executable, "-m", "monitor", "run", "-c", str(config)]
    daemon = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ENV)
    engine = create_engine(database)
    beats: list[float] = []
    refused = None
    started = time.monotonic()
    try:
        while not beats and time.monotonic() - started < 300:  # the daemon's start-up
            time.sleep(0.25)
            try:
                with engine.connect() as connection:
                    beat = connection.execute(
                        text("SELECT heartbeat_at FROM daemon_lock WHERE id = 1")
                    ).scalar()
            except Exception:  # not created yet
                continue
            if beat is not None:
                beats.append(beat)
        started = time.monotonic()
        while time.monotonic() - started < duration:
            time.sleep(0.25)
            try:
                with engine.connect() as connection:
                    beat = connection.execute(
                        text("SELECT heartbeat_at FROM daemon_lock WHERE id = 1")
                    ).scalar()
            except Exception:  # not created yet
                continue
            if beat is not None and (not beats or str(beat) != str(beats[-1])):
                beats.append(beat)
            if refused is None and time.monotonic() - started > duration / 2:
                second = subprocess.run(command, capture_output=True, text=True, env=ENV)
                said = second.stderr + second.stdout
                refused = second.returncode == 1 and "another `monitor run`" in said
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=120)
        with engine.connect() as connection:
            small = [
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT c.started_at FROM captures c JOIN pages p ON p.id = c.page_id "
                        "WHERE p.url LIKE '%/small' ORDER BY c.started_at"
                    )
                )
            ]
            big = connection.execute(
                text(
                    "SELECT count(*) FROM versions v JOIN pages p ON p.id = v.page_id "
                    "WHERE p.url LIKE '%/big'"
                )
            ).scalar()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
        engine.dispose()
        site.stop()
    said = output.decode()
    held = re.search(r"the event loop was held at most ([0-9.]+)s", said)
    slow = sorted(((float(t), what) for what, t in SLOW.findall(said)), reverse=True)
    return {
        "big page versions": big,
        "loop held at most (s)": float(held.group(1)) if held else None,
        "heartbeat gap max (s)": _gap(beats),
        "small page capture gap max (s)": _gap(small),
        "second daemon refused": refused,
        "callbacks > 0.5 s": sum(1 for t, _what in slow if t > 0.5),
        "longest callback": f"{slow[0][0]:.2f}s {slow[0][1][:70]}" if slow else None,
        "second longest (s)": slow[1][0] if len(slow) > 1 else None,
    }


def _gap(times: list[object]) -> float | None:
    from datetime import datetime

    parsed = [t if isinstance(t, datetime) else datetime.fromisoformat(str(t)) for t in times]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(parsed)]
    return round(max(gaps), 2) if gaps else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--heartbeat", type=float, default=2.0)
    args = parser.parse_args()
    for label, size in ((f"{args.size_mb:g} MB page", args.size_mb), ("baseline", 0.0)):
        result = run(size, args.duration, args.heartbeat)
        print(label + ": " + ", ".join(f"{k} {v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    main()
