"""What a listing's links mean: known, new, back in view, shared with another target, or cut.

Pure: takes the links a listing shows now (in page order) and what the store remembers of
the links it showed before, returns a :class:`ListingPlan`. The rules:

- A link this listing showed before is never new, whatever happened to its page since
  (dropped from the listing, removed, restored): it is ``listed``, or ``resumed`` when it
  was not followed then (``max_articles``) and there is room now.
- A link whose URL another target already watches (a page target, another listing's
  article) is ``shared``: the page is fetched once, by its owner, and its events go to
  every target watching it. It is never ``added`` here, and costs no room.
- Any other link is new to every target. On a listing's first successful check all of
  them are ``initial`` (watched quietly). Afterwards a link is ``new`` (its first version
  is reported ``added``) unless it comes into view from below: a listing page shows a
  window of the latest articles, and when some leave it (removed, unpublished), older
  ones move up into the bottom of the window. A link below every link that was listed
  last time, up to the number of links that left, is ``surfaced``: watched quietly.
- ``max_articles`` bounds the pages a listing makes and fetches: its own articles plus
  the new ones, taken in page order (the newest first on most sites). The rest are
  ``cut``: not fetched, no page made, remembered as seen (so raising the limit later
  follows them quietly) and counted in the check's summary and in ``monitor status``.
  Articles already watched stay watched: a removal is never missed for the limit.
- A listing read from sitemaps or feeds (``window=False``) shows all its pages, not a
  window of the latest: nothing surfaces from below, every unknown link is ``new``. When
  the source's date of a listed link (its ``lastmod``) moves, the link is ``hinted``: its
  page is checked now, whatever its schedule says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from monitor.records import ListedLinkState, PageKey

logger = logging.getLogger(__name__)

Fate = Literal["listed", "resumed", "shared", "initial", "new", "surfaced", "cut"]

# Fates whose page the listing fetches for the first time in this check.
FETCHED: frozenset[Fate] = frozenset({"resumed", "initial", "new", "surfaced"})


@dataclass(frozen=True, slots=True)
class PlannedLink:
    """One link of a listing and what to do with it."""

    url: str
    fate: Fate
    page: PageKey | None = None  # the page that watches it; None when cut
    # Listed, and its source's lastmod moved since last time: check its page now.
    hinted: bool = False

    @property
    def fetch(self) -> bool:
        """The listing fetches this link's page for the first time now."""
        return self.fate in FETCHED

    @property
    def announce(self) -> bool:
        """The first version of its page is reported ``added``."""
        return self.fate == "new"


@dataclass(slots=True)
class ListingPlan:
    """The links of one listing check, each with its fate, in page order."""

    target: str
    max_articles: int
    links: list[PlannedLink] = field(default_factory=list)

    @property
    def cut(self) -> int:
        """Links not followed because of ``max_articles``."""
        return sum(1 for link in self.links if link.fate == "cut")

    def count(self, fate: Fate) -> int:
        return sum(1 for link in self.links if link.fate == fate)


def last_listed(known: Mapping[str, ListedLinkState]) -> frozenset[str]:
    """The links of the listing's last successful check (they share its time)."""
    if not known:
        return frozenset()
    latest = max(link.last_listed_at for link in known.values())
    return frozenset(url for url, link in known.items() if link.last_listed_at == latest)


def moved(before: str | None, now: str | None) -> bool:
    """Whether a link's lastmod moved: a date now that differs from the one remembered (a
    first date is no news: nothing to compare it with).

    >>> moved("2026-01-01", "2026-01-02"), moved(None, "2026-01-02"), moved("x", None)
    (True, False, False)
    """
    return before is not None and now is not None and before.strip() != now.strip()


def plan(
    target: str,
    urls: Sequence[str],
    known: Mapping[str, ListedLinkState],
    watched: Mapping[str, PageKey],
    max_articles: int,
    *,
    window: bool = True,
    dates: Mapping[str, str] | None = None,
) -> ListingPlan:
    """Decide the fate of each link a listing shows now.

    ``urls``: the article links in page order (no duplicates). ``known``: every link this
    listing showed before. ``watched``: the page that already watches a URL, for URLs of
    ``urls`` (any target's page, this listing's included, or one being fetched for
    another listing in this check). ``window``: the listing shows only its latest links
    (a page), not all of them (a sitemap). ``dates``: each link's lastmod now, if given.

    >>> from datetime import UTC, datetime
    >>> then = datetime(2026, 1, 1, tzinfo=UTC)
    >>> known = {u: ListedLinkState(u, then, PageKey("news", u)) for u in "abcde"}
    >>> shown = ["a", "d", "e", "f", "g"]  # b and c were removed; f and g move up
    >>> [link.fate for link in plan("news", shown, known, {}, 500).links]
    ['listed', 'listed', 'listed', 'surfaced', 'surfaced']
    >>> shown = ["n", "a", "b", "c", "d"]  # n was published; e moved to page 2
    >>> [link.fate for link in plan("news", shown, known, {}, 500).links]
    ['new', 'listed', 'listed', 'listed', 'listed']
    >>> [link.fate for link in plan("news", shown, known, {}, 5).links]
    ['cut', 'listed', 'listed', 'listed', 'listed']
    >>> shown = ["a", "d", "e", "f"]  # a sitemap: f is new, whatever left
    >>> [link.fate for link in plan("news", shown, known, {}, 500, window=False).links]
    ['listed', 'listed', 'listed', 'new']
    """
    result = ListingPlan(target, max_articles)
    established = bool(known)
    own = sum(1 for link in known.values() if link.page is not None and link.page.target == target)
    room = max(0, max_articles - own)
    last = last_listed(known)
    shown = set(urls)
    positions = [index for index, url in enumerate(urls) if url in last]
    # Links below the lowest link listed last time came into view from below, at most as
    # many as left the listing. With none of last time's links in view there is no
    # telling: they are taken as new (a missed alert is worse than a spare one).
    below = positions[-1] + 1 if positions else len(urls)
    surfacing = len(last - shown) if positions and window else 0
    dates = dates or {}
    for index, url in enumerate(urls):
        seen = known.get(url)
        if seen is not None and seen.page is not None:
            result.links.append(
                PlannedLink(url, "listed", seen.page, hinted=moved(seen.lastmod, dates.get(url)))
            )
            continue
        owner = watched.get(url)
        if owner is not None:
            result.links.append(PlannedLink(url, "shared", owner))
            continue
        if room <= 0:
            result.links.append(PlannedLink(url, "cut"))
            continue
        room -= 1
        page = PageKey(target, url)
        if seen is not None:
            fate: Fate = "resumed"
        elif not established:
            fate = "initial"
        elif index >= below and surfacing > 0:
            surfacing -= 1
            fate = "surfaced"
        else:
            fate = "new"
        result.links.append(PlannedLink(url, fate, page))
    return result
