"""Every detection case of the fixture site, under the three configurations users write.

The fixture site (tests/detection_site.py) changes its pages round by round; after each
round's check the events that would be *alerted* (at the example config's
``min_significance: 0.2``) are compared with the events a perfect monitor reports. The
confusion table of expected vs detected has no off-diagonal cell (an event recorded but
not alerted counts as "other"), for:

* ``bare``: statement pages as bare URLs, the news listing with ``follow``;
* ``selectors``: statements with a ``selector``, the listing with its own ``selector``
  (its articles extracted automatically);
* ``follow-selector``: the listing with a ``selector`` and ``follow.selector`` for its
  articles.

One URL is watched twice in every configuration (statement target ``shared`` is article
a03 of the listing): it must be fetched once per cycle and alerted once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor import config as cfg
from monitor.check import run_check
from monitor.storage.store import Store
from tests.detection_site import (
    EXPECTED,
    ROUNDS,
    SCENARIO,
    STATEMENTS,
    DetectionSite,
)

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
EVENTS = ("unchanged", "changed", "removed", "added", "restored", "error", "other")
ARTICLE_PATTERN = r"/en/news/a\d+\.html$"


def _targets(site: DetectionSite, variant: str) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []
    for name in STATEMENTS:
        target: dict[str, Any] = {"name": name, "url": site.url(name)}
        if variant == "selectors":
            target["selector"] = "css:.statement"
        targets.append(target)
    shared: dict[str, Any] = {"name": "shared", "url": site.url("a03")}
    if variant == "selectors":
        shared["selector"] = "css:.statement"
    targets.append(shared)
    follow: dict[str, Any] = {"pattern": ARTICLE_PATTERN, "max_pages": 1}
    listing: dict[str, Any] = {"name": "news", "url": site.base + "/en/news/", "follow": follow}
    if variant in ("selectors", "follow-selector"):
        listing["selector"] = "css:ul.news-list"
    if variant == "follow-selector":
        follow["selector"] = "css:article.statement"
    targets.append(listing)
    for target in targets:
        target["min_significance"] = 0.2  # as in config.example.yaml
    return targets


def _config(site: DetectionSite, variant: str, database: str) -> cfg.Config:
    return cfg.parse(
        {
            "database": database,
            "fetch": {
                "delay": 0,
                "obey_robots": False,
                "retries": 0,
                "timeout": 5,
                "per_domain_concurrency": 8,
            },
            "detect": {"probe_delay": 0.2, "confirm_removal_after": 0.2},
            "targets": _targets(site, variant),
        },
        "matrix",
    )


def _name_of(site: DetectionSite) -> dict[str, str]:
    return {site.url(name): name for name in SCENARIO}


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["bare", "selectors", "follow-selector"])
def test_fixture_site_confusion_has_no_off_diagonal_cell(variant: str, tmp_path: Path) -> None:
    rows: list[tuple[int, str, str, str]] = []
    with DetectionSite() as site:
        config = _config(site, variant, f"sqlite:///{tmp_path / 'matrix.db'}")
        store = Store(config.database)
        names = _name_of(site)
        fetches_of_shared: list[int] = []
        for number in range(ROUNDS):
            site.set_round(number)
            before = site.hits_of("a03")
            summary = run_check(config, store, config.targets)
            fetches_of_shared.append(site.hits_of("a03") - before)
            alerted: dict[str, list[str]] = {}
            for item in summary.outcomes:
                if item.event and item.key.url in names:
                    # An event recorded below min_significance is not alerted: for a real
                    # change that is a miss, for a non-change it is still a false version.
                    event = item.event if item.alert else f"quiet {item.event}"
                    alerted.setdefault(names[item.key.url], []).append(event)
            if number == 0:
                assert alerted == {}, f"a first check alerts nothing, got {alerted}"
                continue
            for page in SCENARIO:
                expected = EXPECTED[number].get(page, "unchanged")
                events = alerted.get(page, [])
                got = events[0] if len(events) == 1 else "+".join(events) or "unchanged"
                rows.append((number, page, expected, got))
        store.close()
    _write(variant, rows)
    wrong = [row for row in rows if row[2] != row[3]]
    assert not wrong, "\n".join(f"round {r}: {p}: expected {e}, got {g}" for r, p, e, g in wrong)
    # The URL watched by two targets: one request per cycle (plus probe/confirm fetches).
    assert max(fetches_of_shared[1:]) <= 2, fetches_of_shared


def _write(variant: str, rows: list[tuple[int, str, str, str]]) -> None:
    OUTPUT.mkdir(exist_ok=True)
    got_kinds = [g if g in EVENTS else "other" for *_, g in rows]
    lines = [
        f"# Detection matrix: {variant}",
        "",
        "| expected \\ detected | " + " | ".join(EVENTS) + " |",
        "|---|" + "---|" * len(EVENTS),
    ]
    for expected in EVENTS[:-1]:
        counts = [
            sum(1 for row, g in zip(rows, got_kinds, strict=True) if row[2] == expected and g == k)
            for k in EVENTS
        ]
        lines.append(f"| {expected} | " + " | ".join(map(str, counts)) + " |")
    wrong = [row for row in rows if row[2] != row[3]]
    lines += ["", f"{len(rows)} page-rounds, {len(wrong)} wrong", ""]
    lines += [f"- round {r}: {p}: expected {e}, got {g}" for r, p, e, g in wrong]
    (OUTPUT / f"confusion-{variant}.md").write_text("\n".join(lines) + "\n")
