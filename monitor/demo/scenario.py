"""The rounds of the demo site: how every page answers in each round, and what should be reported.

Round 0 is the initial state. In each later round some pages change for real, some change
only in ways a good monitor must ignore, and some fail; ``SCENARIO`` says, page by page and
round by round, what the site serves and which event a perfect monitor reports when it
compares round n-1 with round n. On top of this, every response carries per-request noise
(working hours, counters, tokens, rotating sidebar, cache-busting URLs) that is never a change.

Events: "unchanged" (nothing to report; also a page still gone, or a transient error),
"changed", "removed" (404, redirect to the home page, or a 200 "Page not found"), "added"
(a page that did not exist before), "restored" (back after a removal with the content it had)
and "error" (reserved for persistent failures; no round uses it yet).

Two logical pages are not articles: "home", watched as a page, and "news", watched as a
listing, that is as the set of articles linked from all its pages (``/en/news/``,
``/en/news/?page=2`` ...). Articles moving from one listing page to the next because a new
one was published is not a change of the listing; a link appearing or disappearing is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from monitor.demo.content import ARTICLES, Article, Text

logger = logging.getLogger(__name__)

Event = Literal["unchanged", "changed", "removed", "added", "restored", "error"]
"""What a perfect monitor reports for a page when comparing two consecutive rounds."""

State = Literal["ok", "absent", "not-found", "redirect-home", "soft-not-found", "unavailable"]
"""How a page answers in a round.

- ok: 200 with the page (in the given version and layout);
- absent: 404, the page has never been published yet;
- not-found: 404, the page was deleted;
- redirect-home: 302 to ``/`` (a "soft" removal);
- soft-not-found: 200 with a "Page not found" page (a soft 404);
- unavailable: 503 with ``Retry-After`` for the whole round (a transient outage).
"""

Layout = Literal["plain", "wrapped"]
"""Article markup: "wrapped" has other class names and extra wrapping divs, same text."""

LISTING_PAGE_SIZE = 5
"""Articles per page of the ``/en/news/`` listing."""


@dataclass(frozen=True)
class Step:
    """How one page answers in one round, and what a perfect monitor says about it."""

    state: State = "ok"
    version: str = "v1"
    layout: Layout = "plain"
    event: Event = "unchanged"
    note: str = ""


_ = Step()

SCENARIO: dict[str, tuple[Step, ...]] = {
    # Round:              0       1            2            3
    "home": (
        _,
        Step(
            event="changed",
            note="the new article heads the latest-news list; a headline is reworded",
        ),
        Step(note="same latest news (the restored and removed articles are further down)"),
        Step(note="same latest news"),
    ),
    "news": (
        _,
        Step(
            event="changed",
            note=(
                "listing: +holiday-schedule, -consular-notice, -visa-notice; "
                "culture-days moves to page 2"
            ),
        ),
        Step(event="changed", note="listing: +visa-notice, -passport-notice"),
        Step(event="changed", note="listing: +consular-notice"),
    ),
    "statement-security": (
        _,
        Step(
            version="v2", event="changed", note="body edited: a figure and a clause of one sentence"
        ),
        Step(version="v2"),
        Step(version="v2"),
    ),
    "ambassador-meeting": (
        _,
        Step(state="unavailable", note="503 for the whole round: transient, not a change"),
        Step(note="back, same content"),
        _,
    ),
    "briefing": (
        _,
        Step(version="v2", event="changed", note="only the title is reworded"),
        Step(version="v2"),
        Step(version="v2"),
    ),
    "travel-advisory": (
        _,
        Step(layout="wrapped", note="markup only: class names and wrapping divs, same text"),
        Step(layout="wrapped"),
        Step(layout="wrapped"),
    ),
    "culture-days": (
        _,
        Step(note="UTF-8 without any declared charset; pushed to listing page 2"),
        _,
        _,
    ),
    "consular-notice": (
        _,
        Step(state="not-found", event="removed", note="404"),
        Step(state="not-found", note="still 404: no new alert"),
        Step(event="restored", note="back with the same content"),
    ),
    "visa-notice": (
        _,
        Step(state="redirect-home", event="removed", note="302 to the home page (soft removal)"),
        Step(event="restored", note="back with the same content"),
        _,
    ),
    "passport-notice": (
        _,
        _,
        Step(state="soft-not-found", event="removed", note="200 'Page not found' (soft 404)"),
        Step(state="soft-not-found", note="still a soft 404: no new alert"),
    ),
    "trade-round-table": (_, _, _, _),
    "holiday-schedule": (
        Step(state="absent"),
        Step(event="added", note="new article, published at the top of the listing"),
        _,
        Step(version="v2", event="changed", note="body edited: the reopening date corrected"),
    ),
    "statement-security-ru": (
        _,
        Step(note="windows-1251 named in the header"),
        Step(
            version="v2",
            event="changed",
            note="windows-1251 page: body edited (a figure and a clause)",
        ),
        Step(version="v2"),
    ),
    "consular-notice-ru": (
        _,
        Step(note="windows-1251 declared only by <meta charset>"),
        _,
        Step(
            version="v2",
            event="changed",
            note="windows-1251 (meta only) page: date and hours edited",
        ),
    ),
}
"""Per logical page name, one ``Step`` per round (index = round number)."""

ROUNDS = len(SCENARIO["home"])
"""Number of defined rounds: 0 (initial) to ROUNDS - 1."""

EXPECTED: dict[int, dict[str, str]] = {
    round_number: {name: steps[round_number].event for name, steps in SCENARIO.items()}
    for round_number in range(1, ROUNDS)
}
"""Per round >= 1, per logical page name: the event expected when comparing round n-1 to n."""

NOTES: dict[int, dict[str, str]] = {
    round_number: {
        name: steps[round_number].note
        for name, steps in SCENARIO.items()
        if steps[round_number].note
    }
    for round_number in range(ROUNDS)
}
"""Per round, per logical page name: a short human explanation of what happens (may be absent)."""


def _check() -> None:
    """Fail at import if the table is malformed (wrong length, unknown page or version)."""
    for name, steps in SCENARIO.items():
        if len(steps) != ROUNDS:
            raise ValueError(f"scenario for {name!r} has {len(steps)} rounds, expected {ROUNDS}")
        if name in ("home", "news"):
            continue
        article = ARTICLES[name]
        for step in steps:
            article.text(step.version)
    missing = set(ARTICLES) - set(SCENARIO)
    if missing:
        raise ValueError(f"articles without a scenario: {sorted(missing)}")


_check()


def step(name: str, round_number: int) -> Step:
    """How the page ``name`` answers in round ``round_number``."""
    return SCENARIO[name][round_number]


def published(round_number: int, language: str = "en") -> list[tuple[Article, Text]]:
    """Articles listed by the site in a round, newest first, with the text of that round.

    A listing is generated from the site's database, so an article answering 503 is still
    listed, while a deleted, redirected or soft-404 one is not.
    """
    listed = []
    for article in ARTICLES.values():
        current = step(article.name, round_number)
        if article.language == language and current.state in ("ok", "unavailable"):
            listed.append((article, article.text(current.version)))
    listed.sort(key=lambda pair: (pair[0].date, pair[0].path), reverse=True)
    return listed


def listing_paths(round_number: int) -> list[str]:
    """Paths of the articles linked from the ``/en/news/`` listing in a round, in listing order."""
    return [article.path for article, _text in published(round_number)]


def listing_pages(round_number: int) -> int:
    """Number of pages of the ``/en/news/`` listing in a round."""
    count = len(listing_paths(round_number))
    return max(1, -(-count // LISTING_PAGE_SIZE))
