"""Memory and time of reading a big sitemap: streamed (the monitor) against a whole-tree parse.

Writes gzipped sitemaps of N URLs (default 5,000, 50,000 and 200,000; 50,000 is the
protocol's limit per file) to a temp folder; then, each in a fresh subprocess so peak
RSS is per measurement, reads one of them:

* ``stream``: ``spiders.sources.sitemap_entries`` (lxml iterparse over a gzip stream,
  each entry dropped once read), counting entries, keeping nothing;
* ``stream+keep``: the same, keeping each URL in a set (what a listing holds: its links);
* ``tree``: ``lxml.etree.fromstring`` of the whole decompressed document (what reading it
  whole costs), counting ``<loc>`` elements.

It prints, per file: URLs, gzipped size, and per mode the peak RSS grown over the
process's RSS with the gzipped body already in memory (MB) and the time (ms).

    python benchmarks/sitemap.py
    python benchmarks/sitemap.py --urls 50000 --urls 100000
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("stream", "stream+keep", "tree")


def write_sitemap(folder: Path, count: int) -> Path:
    path = folder / f"sitemap-{count}.xml.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n')
        for number in range(count):
            out.write(
                f"<url><loc>https://embassy.example.org/en/news/2026/statement-{number:07d}"
                f"</loc><lastmod>2026-01-{number % 28 + 1:02d}T10:00:00+00:00</lastmod>"
                "<changefreq>monthly</changefreq></url>\n"
            )
        out.write("</urlset>\n")
    return path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def measure(path: str, mode: str) -> dict[str, float]:
    """One measurement, in this (fresh) process."""
    from lxml import etree

    from spiders.sources import sitemap_entries

    body = Path(path).read_bytes()
    base = _rss_mb()
    started = time.perf_counter()
    if mode == "stream":
        count = sum(1 for _entry in sitemap_entries(body, "https://embassy.example.org/"))
    elif mode == "stream+keep":
        kept = {entry.url for entry in sitemap_entries(body, "https://embassy.example.org/")}
        count = len(kept)
    else:
        root = etree.fromstring(gzip.decompress(body), etree.XMLParser(huge_tree=True))
        count = len(root.findall(".//{*}loc"))
    elapsed = (time.perf_counter() - started) * 1000.0
    return {"count": count, "grown_mb": _rss_mb() - base, "ms": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, action="append", help="URLs per sitemap (repeat)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    counts = args.urls or [5_000, 50_000, 200_000]
    root = Path(__file__).resolve().parent.parent
    print(
        f"{'urls':>8} {'gzip KB':>8} " + " ".join(f"{m + ' MB':>16} {m + ' ms':>16}" for m in MODES)
    )
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            path = write_sitemap(Path(folder), count)
            cells = []
            for mode in MODES:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), mode],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=root,
                )
                result = json.loads(out.stdout)
                assert result["count"] == count, (mode, result)
                cells.append(f"{result['grown_mb']:>16.1f} {result['ms']:>16.0f}")
            size = path.stat().st_size / 1024
            print(f"{count:>8} {size:>8.0f} " + " ".join(cells))


if __name__ == "__main__":
    main()
