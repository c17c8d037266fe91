"""Browser-rendered pages through the whole pipeline: pages per minute and memory per context.

    python benchmarks/browser.py                       # 30 pages; concurrency 1,2,4; contexts 1,4
    python benchmarks/browser.py --pages 60 --levels 1,2 --contexts 1,2,4

Serves N pages whose statement a script writes 300 ms after load (127.0.0.1 only), and
runs ``run_check`` on them with ``render: browser`` and ``wait_for: css:...`` through
Debian's /usr/bin/chromium, as ``monitor check`` does. Each measured round is the second
check of the pages (the first one, not timed, makes their first versions and probes), so
every page is rendered once; its time includes the browser's launch.

Two tables:

- **throughput**: per ``browser.concurrency`` (one context, that many pages at once):
  rendered pages per minute, seconds, peak PSS of the browser's processes, and the
  Chromium CPU-seconds per page;
- **memory per context**: per number of contexts (targets with distinct cookies, so each
  gets its own browser context; ``max_contexts`` and ``concurrency`` = that number): the
  peak PSS of the browser's processes; the last line is the PSS each extra context (with
  its page) adds: (peak at most contexts - peak at fewest) / (difference in contexts).

PSS (proportional set size) counts the memory Chromium's processes share once; summed RSS
would count it in every process. Needs the ``browser`` extra (scrapy-playwright, psutil).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor import config as cfg
from monitor.check import run_check
from monitor.storage.store import Store

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><html><head><title>Statement {n}</title></head><body>
<nav><a href="/">Home</a> <a href="/news/">News</a></nav>
<main><article class="statement"></article></main>
<script>
setTimeout(function () {{
  document.querySelector("article.statement").innerHTML =
    "<h1>Statement {n}</h1><p>The ministry notes the talks of day {n} and recalls the "
    + "agreements reached by both sides. Consular services continue as before.</p>";
}}, 300);
</script></body></html>"""


class Site:
    """Pages /s/<n> on 127.0.0.1, each with its own number."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                number = self.path.rsplit("/", 1)[-1]
                body = PAGE.format(n=number).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Sampler(threading.Thread):
    """Peak PSS of Chromium's processes under this process, and their CPU time."""

    def __init__(self, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.stop = threading.Event()
        self.peak_pss = 0
        self.cpu: dict[int, float] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            total = 0
            for child in psutil.Process().children(recursive=True):
                try:
                    if "chrom" not in child.name():
                        continue
                    times = child.cpu_times()
                    self.cpu[child.pid] = times.user + times.system
                    total += child.memory_full_info().pss
                except psutil.Error:
                    continue
            self.peak_pss = max(self.peak_pss, total)
            self.stop.wait(self.every)


def measure(
    site: Site, pages: int, concurrency: int, contexts: int, scratch: Path
) -> dict[str, float]:
    """One measured check of ``pages`` rendered pages (after an untimed first check)."""
    targets = []
    for n in range(pages):
        target: dict[str, Any] = {
            "name": f"s{n}",
            "url": f"{site.base}/s/{n}",
            "render": "browser",
            "wait_for": "css:article.statement p",
        }
        if contexts > 1:
            target["cookies"] = {"group": str(n % contexts)}  # one context per group
        targets.append(target)
    database = scratch / f"c{concurrency}-x{contexts}.db"
    config = cfg.parse(
        {
            "database": f"sqlite:///{database}",
            "fetch": {"delay": 0, "obey_robots": False, "retries": 0},
            "detect": {"probe_delay": 0.1},
            "browser": {
                "executable": CHROMIUM,
                "concurrency": concurrency,
                "max_contexts": contexts,
                "restart_after": max(pages, 1),
            },
            "targets": targets,
        },
        "benchmark",
    )
    store = Store(config.database)
    try:
        run_check(config, store, config.targets)  # first versions and probes: not timed
        sampler = Sampler()
        sampler.start()
        started = time.perf_counter()
        summary = run_check(config, store, config.targets)
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
    finally:
        store.close()
    return {
        "pages": summary.checked,
        "errors": summary.errors,
        "seconds": seconds,
        "per_minute": summary.checked / seconds * 60,
        "peak_pss_mb": sampler.peak_pss / 2**20,
        "cpu_per_page": sum(sampler.cpu.values()) / max(summary.checked, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--levels", default="1,2,4", help="browser.concurrency values")
    parser.add_argument("--contexts", default="1,4", help="numbers of browser contexts")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"{CHROMIUM} is needed (apt-get install chromium)")
    logging.basicConfig(level=logging.ERROR)
    print(
        f"# {args.pages} pages, script writes the text after 300 ms; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    site = Site()
    try:
        with tempfile.TemporaryDirectory(prefix="monitor-bench-browser-") as scratch:
            print("\n## throughput (one context)\n")
            print(
                "| concurrency | pages | errors | seconds | pages/min | peak PSS MB"
                " | Chromium CPU s/page |"
            )
            print("|---|---|---|---|---|---|---|")
            for level in (int(x) for x in args.levels.split(",")):
                row = measure(site, args.pages, level, 1, Path(scratch))
                print(
                    f"| {level} | {row['pages']:.0f} | {row['errors']:.0f} | {row['seconds']:.1f} |"
                    f" {row['per_minute']:.0f} | {row['peak_pss_mb']:.0f} |"
                    f" {row['cpu_per_page']:.2f} |"
                )
            print("\n## memory per browser context (concurrency = contexts)\n")
            print("| contexts | pages | errors | seconds | pages/min | peak PSS MB |")
            print("|---|---|---|---|---|---|")
            peaks: dict[int, float] = {}
            for count in (int(x) for x in args.contexts.split(",")):
                row = measure(site, args.pages, count, count, Path(scratch))
                peaks[count] = row["peak_pss_mb"]
                print(
                    f"| {count} | {row['pages']:.0f} | {row['errors']:.0f} | {row['seconds']:.1f} |"
                    f" {row['per_minute']:.0f} | {row['peak_pss_mb']:.0f} |"
                )
            if len(peaks) > 1:
                low, high = min(peaks), max(peaks)
                extra = (peaks[high] - peaks[low]) / (high - low)
                print(
                    f"\nPSS per extra browser context (with its page): {extra:.0f} MB "
                    f"(({peaks[high]:.0f} - {peaks[low]:.0f}) / ({high} - {low}))"
                )
    finally:
        site.close()


if __name__ == "__main__":
    main()
