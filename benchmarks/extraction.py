"""Extraction time per page: first sight (region located with trafilatura) vs later captures.

Prints, for the labelled government pages in tests/data/corpus and the demo site's
pages, the median time of: decoding; the main-content extractor locating the region
(a page's first capture); the same extractor reading a learned region (every later
capture whose bytes changed); and the whole-page "text" extractor, for comparison.

    python benchmarks/extraction.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from monitor.demo.site import PAGE_PATHS, DemoSite
from monitor.detect.decode import decode
from monitor.detect.extract import Rules, extract

ROOT = Path(__file__).resolve().parents[1]


def median_ms(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pages() -> list[tuple[str, bytes, str | None]]:
    found = [
        (path.name, path.read_bytes(), "text/html")
        for path in sorted((ROOT / "tests" / "data" / "corpus").glob("*.html"))
    ]
    site = DemoSite()
    for name in ("statement-security", "travel-advisory", "statement-security-ru", "home"):
        response = site.respond("GET", PAGE_PATHS[name])
        found.append((f"demo:{name}", response.body, response.header("Content-Type")))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    rows = []
    for name, body, content_type in pages():
        html, _encoding = decode(body, content_type)
        first = extract(html, "http://127.0.0.1/", Rules())
        region = first.region
        base = "http://127.0.0.1/"
        rows.append(
            (
                name,
                len(body) // 1024,
                median_ms(partial(decode, body, content_type), args.runs),
                median_ms(partial(extract, html, base, Rules()), args.runs),
                median_ms(partial(extract, html, base, Rules(), region), args.runs),
                median_ms(partial(extract, html, base, Rules(extractor="text")), args.runs),
                len(first.lines),
            )
        )
    print(f"median of {args.runs} runs, milliseconds per page")
    header = ("page", "KB", "decode", "main: locate", "main: learned region", "text", "lines")
    print("{:<38} {:>5} {:>8} {:>13} {:>21} {:>7} {:>6}".format(*header))
    for row in rows:
        print("{:<38} {:>5} {:>8.2f} {:>13.2f} {:>21.2f} {:>7.2f} {:>6}".format(*row))
    locate = statistics.median(row[3] for row in rows)
    learned = statistics.median(row[4] for row in rows)
    print(
        f"median over pages: locate {locate:.1f} ms (first capture of a page), "
        f"learned region {learned:.1f} ms (later captures): {locate / learned:.1f}x faster"
    )


if __name__ == "__main__":
    main()
