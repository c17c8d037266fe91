"""The daemon under a steady load: N local pages, each due every 60 s, for a few minutes.

    python benchmarks/daemon.py [--pages 2000] [--interval 60] [--duration 180]

Serves N ~20 KB pages with per-request noise from the check-cycle benchmark's page
server (separate processes, 127.0.0.1), fills the database with one `monitor check`
(not measured: first versions), then runs `monitor run` as a subprocess for
``--duration`` seconds and prints: checks per second sustained, scheduling lateness
(p50/p99 of actual start minus due time, from the daemon's own schedule log), the
daemon's CPU and peak memory (VmHWM). Goal: lateness p99 < 2 s, memory < 300 MB.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "check_cycle", ROOT / "benchmarks" / "check_cycle.py"
)
assert _spec is not None and _spec.loader is not None
check_cycle: Any = importlib.util.module_from_spec(_spec)
sys.modules["check_cycle"] = check_cycle
_spec.loader.exec_module(check_cycle)


def _proc(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MB) of a live process."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return cpu, peak


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--server-workers", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="monitor-daemon-bench-"))
    sock = check_cycle.reserve_port()
    port = sock.getsockname()[1]
    sock.close()
    server = check_cycle.Server(port, args.pages, args.server_workers, noisy=True).start()
    try:
        urls = check_cycle.urls_for(port, args.pages)
        database = f"sqlite:///{workdir / 'daemon.db'}"
        config = {
            "database": database,
            "fetch": {
                "delay": 0,
                "obey_robots": False,
                "retries": 0,
                "timeout": 10,
                "concurrency": 32,
                "per_domain_concurrency": 32,
            },
            "detect": {"probe_delay": 1},
            "defaults": {"schedule": {"every": args.interval}},
            "daemon": {"tick": 0.5, "spread_overdue": args.interval, "heartbeat": 5},
            "targets": [{"name": f"p{index}", "url": url} for index, url in enumerate(urls)],
        }
        path = workdir / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        print(
            f"{args.pages} pages every {args.interval:.0f}s; server: {server.kind}; "
            f"local benchmark settings (no delay, 32 per domain; the real default is polite)"
        )
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "monitor", "check", "-c", str(path)],
            check=True,
            capture_output=True,
            cwd=workdir,
        )
        print(f"first versions (monitor check, not measured): {time.monotonic() - started:.0f}s")

        lateness: list[float] = []
        checks = 0
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--log-format", "json", "run", "-c", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=workdir,
        )

        def read() -> None:
            nonlocal checks
            assert daemon.stderr is not None
            for line in daemon.stderr:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("logger") == "monitor.schedule":
                    lateness.extend(entry.get("lateness", []))
                elif entry.get("logger") == "monitor.checks" and entry.get("purpose") == "check":
                    checks += 1

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        warmup = min(args.interval, args.duration / 3)
        time.sleep(warmup)
        cpu0, _ = _proc(daemon.pid)
        checks0, late0 = checks, len(lateness)
        measured = args.duration - warmup
        time.sleep(measured)
        cpu1, peak = _proc(daemon.pid)
        window = lateness[late0:]
        done = checks - checks0
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(120)
        reader.join(5)
        print(f"measured {measured:.0f}s after a {warmup:.0f}s warm-up; daemon exit code {code}")
        print(
            f"checks: {done} in {measured:.0f}s = {done / measured:.1f}/s sustained "
            f"(expected {args.pages / args.interval:.1f}/s)"
        )
        print(
            f"lateness: p50 {percentile(window, 50):.2f}s, p99 {percentile(window, 99):.2f}s, "
            f"max {max(window or [0]):.2f}s over {len(window)} scheduled checks "
            f"(mean {statistics.fmean(window or [0]):.2f}s)"
        )
        print(
            f"daemon CPU: {cpu1 - cpu0:.1f}s in {measured:.0f}s = "
            f"{(cpu1 - cpu0) / measured * 100:.0f}% of one core; peak memory {peak:.0f} MB"
        )
        print(f"page server CPU: {server.cpu_seconds():.1f}s (its own processes)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
