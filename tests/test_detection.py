"""Change detection judged against labelled truth: the evolving embassy site and real pairs.

Default settings throughout, as a user who only pasted URLs would have them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import config as cfg
from monitor.check import run_check
from monitor.demo.run import demo_config
from monitor.demo.site import EXPECTED, ROUNDS, DemoSite
from monitor.storage.store import Store
from tests.sites import LocalSite

CORPUS = Path(__file__).parent / "data" / "corpus"
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
EVENTS = ("unchanged", "changed", "removed", "added", "restored", "error")


def _fast(config: cfg.Config) -> cfg.Config:
    data = config.model_dump(by_alias=True, exclude_defaults=True)
    data["detect"] = {"confirm_removal_after": 0.2, "probe_delay": 0.2}
    return cfg.parse(data, "test")


@pytest.mark.slow
def test_embassy_site_events_match_the_labels(tmp_path: Path) -> None:
    """Every page, every round: the event a perfect monitor reports, and no other."""
    with DemoSite() as site:
        site.start()
        config = _fast(demo_config(site, f"sqlite:///{tmp_path / 'site.db'}"))
        store = Store(config.database)
        by_url = {url: name for name, url in site.urls().items()}
        rows: list[tuple[int, str, str, str]] = []
        for number in range(ROUNDS):
            site.set_round(number)
            summary = run_check(config, store, config.targets)
            if number == 0:
                assert summary.events == {}, "a first check reports no events"
                continue
            detected: dict[str, list[str]] = {}
            for item in summary.outcomes:
                if item.event is not None and item.key.url in by_url:
                    detected.setdefault(by_url[item.key.url], []).append(item.event)
            for page, expected in EXPECTED[number].items():
                events = detected.get(page, [])
                got = (
                    events[0]
                    if len(events) == 1
                    else ("unchanged" if not events else "+".join(events))
                )
                rows.append((number, page, expected, got))
        store.close()
    _write_confusion(rows)
    wrong = [row for row in rows if row[2] != row[3]]
    assert not wrong, "\n".join(
        f"round {r}: {p}: expected {e}, detected {g}" for r, p, e, g in wrong
    )


def _write_confusion(rows: list[tuple[int, str, str, str]]) -> None:
    OUTPUT.mkdir(exist_ok=True)
    lines = [
        "| expected \\ detected | " + " | ".join(EVENTS) + " |",
        "|---|" + "---|" * len(EVENTS),
    ]
    for expected in EVENTS:
        counts = [sum(1 for r in rows if r[2] == expected and r[3] == got) for got in EVENTS]
        lines.append(f"| {expected} | " + " | ".join(map(str, counts)) + " |")
    lines += ["", "| round | page | expected | detected |", "|---|---|---|---|"]
    lines += [f"| {r} | {p} | {e} | {g} |" for r, p, e, g in rows]
    (OUTPUT / "confusion.md").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "pair,should_alert",
    [
        ("falsepos-footer", False),
        ("falsepos-num-views", False),
        ("truepos-dataset-removal", True),
        ("truepos-major-changes", True),
    ],
)
def test_labelled_government_pairs(
    pair: str, should_alert: bool, site: LocalSite, tmp_path: Path
) -> None:
    """The real pairs in tests/data/corpus, through the real pipeline with default settings."""
    before = (CORPUS / f"{pair}-a.html").read_bytes()
    after = (CORPUS / f"{pair}-b.html").read_bytes()
    site.page("/page", before, content_type="text/html")
    config = cfg.parse(
        {
            "database": f"sqlite:///{tmp_path / 'pair.db'}",
            "fetch": {"delay": 0, "obey_robots": False},
            "detect": {"probe_delay": 0.1, "confirm_removal_after": 0.1},
            "targets": [{"name": "page", "url": site.url("/page")}],
        }
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert first.first_versions == 1
    site.page("/page", after, content_type="text/html")
    second = run_check(config, store, config.targets)
    events = [item.event for item in second.outcomes if item.event]
    if should_alert:
        assert events == ["changed"], events
    else:
        assert events == [], events
