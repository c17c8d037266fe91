"""``monitor demo``: the real monitoring code against the local embassy site, round by round.

Nothing here is canned: the site runs on 127.0.0.1, the spiders fetch it through Scrapy,
the store records captures and versions in a real SQLite database, and what is printed
is read back from that database. The site's own notes (what it changed in a round) are
printed beside what the monitor detected, so the two can be compared.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from monitor import config as cfg
from monitor.check import run_check
from monitor.check.report import format_summary
from monitor.demo.site import NOTES, ROUNDS, DemoSite
from monitor.detect.differ import diff_versions
from monitor.exceptions import DemoError
from monitor.records import CheckSummary
from monitor.storage.store import Store

logger = logging.getLogger(__name__)


def demo_config(site: DemoSite, database: str) -> cfg.Config:
    """The config a user would write for the demo site."""
    urls = site.urls()
    return cfg.parse(
        {
            "database": database,
            "fetch": {"delay": 0, "retries": 1, "timeout": 10, "contact": "http://127.0.0.1/"},
            # Short confirmation and probe delays keep the demo quick; defaults are 10s and 5s.
            "detect": {"confirm_removal_after": "1s", "probe_delay": "1s"},
            "targets": [
                {"name": "embassy-home", "url": urls["home"], "tags": ["embassy"]},
                {
                    "name": "embassy-news",
                    "url": urls["news"],
                    "tags": ["embassy", "listing"],
                    "follow": {
                        "links": "css:.news-items a.title",
                        "next_page": "css:a[rel=next]",
                        "max_pages": 5,
                    },
                },
                {
                    "name": "statement-ru",
                    "url": urls["statement-security-ru"],
                    "tags": ["embassy", "ru"],
                },
                {
                    "name": "consular-ru",
                    "url": urls["consular-notice-ru"],
                    "tags": ["embassy", "ru"],
                },
            ],
        },
        "demo config",
    )


def _report(store: Store, summary: CheckSummary, echo: Callable[[str], Any]) -> None:
    echo("  monitor: " + format_summary(summary))
    for item in summary.outcomes:
        if item.event is None:
            continue
        echo(f"  {item.event.upper():9} {item.key.url}")
        echo(f"            {item.summary}  [significance {item.significance:.2f}]")
        if item.event == "changed" and item.version_seq and item.version_seq > 1:
            versions = {v.seq: v for v in store.versions(item.page_id)}
            before, after = versions[item.version_seq - 1], versions[item.version_seq]
            diff = diff_versions(before, after).text
            for line in diff.word_text(excerpt=40)[:6]:
                echo(f"            {line[:160]}")


def run_demo(
    database: str | None = None, rounds: int | None = None, echo: Callable[[str], Any] = print
) -> Path | None:
    """Run the demo; returns the folder holding its database when it made one."""
    folder: Path | None = None
    if database is None:
        folder = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
        database = f"sqlite:///{folder / 'demo.db'}"
    count = ROUNDS if rounds is None else max(1, min(rounds, ROUNDS))
    site = DemoSite()
    try:
        base = site.start()
    except OSError as exc:
        raise DemoError(f"cannot start the demo site on 127.0.0.1: {exc}") from exc
    try:
        echo(f"demo site: {base} (an embassy-like site that changes between rounds)")
        echo(f"database:  {database}")
        config = demo_config(site, database)
        store = Store(config.database)
        for number in range(count):
            site.set_round(number)
            echo("")
            echo(f"round {number}: " + ("first check" if number == 0 else "the site changed"))
            for page, note in sorted(NOTES.get(number, {}).items()):
                echo(f"  site:    {page}: {note}")
            summary = run_check(config, store, config.targets)
            _report(store, summary, echo)
        echo("")
        echo("explore the history:")
        echo(f"  monitor history embassy-news --db {database}")
        echo(f"  monitor diff statement-ru --db {database}")
        store.close()
    finally:
        site.stop()
    return folder
