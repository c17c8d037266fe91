"""Moved pages: a removed page whose content reappears at another URL of its site.

Sites get reorganised: hundreds of URLs answer 404 while the same statements reappear
under new addresses. A monitor that reports a wall of removals is muted. Pure: given the
pages whose removal a check confirmed (what they said last) and the pages first seen in
the same check (monitor.check.moving chooses them), it pairs
each departure with the arrival of the same site saying the same thing, one to one.

The similarity rule: both texts (title + normalised lines) are cut into words (case
folded); equal word sequences are a move (similarity 1.0); otherwise the Jaccard index
of their sets of word 4-grams (shingles) must reach :data:`THRESHOLD`. Texts under
:data:`MIN_WORDS` words never move (a stub page says too little to be recognised).
Measured on the fixture site (``tests/detection_site.py``: statements built from a shared
pool of sentences, the hardest case for near-duplicates) by ``benchmarks/moves.py``: of
371 pairs of versions of distinct pages the closest reached 0.545; of the consecutive
versions of edited pages the farthest apart was 0.784. 0.7 sits in that gap: no false
move there, every edit kept.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.recording import Plan, index_of
from monitor.records import PageKey
from monitor.vocab import EventKind

logger = logging.getLogger(__name__)

#: Jaccard index of word 4-gram sets at or above which two texts are the same statement.
THRESHOLD = 0.7
#: Fewer words than this: never matched (a stub, a "contact us" page).
MIN_WORDS = 12
SHINGLE = 4
#: More moves than this in one check of one target make one summary alert.
SUMMARY_AFTER = 1

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Seen:
    """A page as one side of a move: its key, page id, version and what it said (ids may
    be placeholders of the plan that records it, or None until it is planned)."""

    key: PageKey
    page_id: int | None
    version_id: int | None
    title: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Move:
    """A departure matched with its arrival."""

    old: Seen
    new: Seen
    similarity: float

    @property
    def edited(self) -> bool:
        return words(self.old) != words(self.new)


def words(page: Seen) -> list[str]:
    """The words of a page's title and text, case folded."""
    return _WORD.findall(f"{page.title or ''}\n{page.text}".casefold())


def _shingles(tokens: Sequence[str]) -> set[tuple[str, ...]]:
    if len(tokens) < SHINGLE:
        return {tuple(tokens)}
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How alike two word sequences are: 1.0 when equal, else the Jaccard index of
    their word 4-gram sets.

    >>> text = "the embassy informs citizens that the consular section is closed today".split()
    >>> similarity(text, text)
    1.0
    >>> round(similarity(text, text[:-1] + ["tomorrow"]), 2)
    0.78
    >>> similarity(text, "visa applications are accepted on weekdays only".split())
    0.0
    """
    if list(a) == list(b):
        return 1.0
    first, second = _shingles(a), _shingles(b)
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def match(
    departures: Sequence[Seen], arrivals: Sequence[Seen], threshold: float = THRESHOLD
) -> list[Move]:
    """Pair removed pages with pages of the same site saying the same, one to one, the
    most similar pairs first (ties: in the order given).

    >>> body = "The embassy informs citizens that the consular section is closed on Monday"
    >>> def seen(url, title, text):
    ...     return Seen(PageKey("t", url), None, None, title, text)
    >>> old = seen("https://e.org/a", "Closure", body)
    >>> new = seen("https://e.org/en/a", "Closure", body)
    >>> other = seen("https://e.org/b", "Visas", "Visa rules " * 10)
    >>> [(m.old.key.url, m.new.key.url, m.similarity) for m in match([old], [other, new])]
    [('https://e.org/a', 'https://e.org/en/a', 1.0)]
    """
    tokens = {id(page): words(page) for page in (*departures, *arrivals)}
    shingles = {key: _shingles(value) for key, value in tokens.items()}
    pairs: list[tuple[float, int, int]] = []
    for i, old in enumerate(departures):
        mine = tokens[id(old)]
        if len(mine) < MIN_WORDS:
            continue
        for j, new in enumerate(arrivals):
            theirs = tokens[id(new)]
            if (
                new.key.url == old.key.url
                or host(new.key.url) != host(old.key.url)
                or len(theirs) < MIN_WORDS
            ):
                continue
            if mine == theirs:
                score = 1.0
            else:
                first, second = shingles[id(old)], shingles[id(new)]
                union = len(first | second)
                score = len(first & second) / union if union else 0.0
            if score >= threshold:
                pairs.append((score, i, j))
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    taken_old: set[int] = set()
    taken_new: set[int] = set()
    moves: list[Move] = []
    for score, i, j in pairs:
        if i in taken_old or j in taken_new:
            continue
        taken_old.add(i)
        taken_new.add(j)
        moves.append(Move(departures[i], arrivals[j], round(score, 4)))
    moves.sort(key=lambda move: move.old.key.url)
    return moves


def summary_line(moves: Sequence[Move], limit: int = 50) -> str:
    """One alert for a reorganisation: how many pages moved, and where.

    >>> a = Seen(PageKey("t", "https://e.org/a"), 1, 1, "A", "x")
    >>> b = Seen(PageKey("t", "https://e.org/n/a"), 2, 2, "A", "x y")
    >>> summary_line([Move(a, b, 1.0), Move(b, a, 0.9)]).split("; ")[1]
    'https://e.org/n/a -> https://e.org/a (with edits)'
    """
    shown = [
        f"{move.old.key.url} -> {move.new.key.url}{' (with edits)' if move.edited else ''}"
        for move in moves[:limit]
    ]
    more = f"; and {len(moves) - limit} more" if len(moves) > limit else ""
    return f"Site reorganised: {len(moves)} pages moved: " + "; ".join(shown) + more


def apply(plan: Plan, moves: Sequence[Move]) -> int:
    """Complete the ``moved`` events of a recording plan (decided on the old pages'
    confirmed removals, :func:`monitor.detect.events.decide`): the version each one moved
    to, the pages linked both ways, edits marked; more than :data:`SUMMARY_AFTER` moves
    of one target make one summary alert (the first move's; the others are recorded,
    not alerted). Returns the number of moves completed."""
    by_old = {move.old.key: move for move in moves}
    versions = {item.key: item.version_id for item in plan.recorded if item.version_id}
    done: dict[str, list[tuple[int, Move]]] = {}
    for item in plan.recorded:
        move = by_old.get(item.key)
        if move is None or item.event != EventKind.MOVED or item.change_id is None:
            continue
        index = index_of(item.change_id) if item.change_id < 0 else None
        if index is None:
            continue
        event = plan.events[index]
        new_state = plan.states.get(move.new.key)
        new_page = move.new.page_id or (new_state.page_id if new_state else None)
        event.to_version_id = move.new.version_id or versions.get(move.new.key)
        edited = move.edited
        event.features.update(
            moved_from=move.old.key.url,
            moved_to=move.new.key.url,
            similarity=move.similarity,
            edited=edited,
        )
        if edited:
            event.significance = min(1.0, round(event.significance + 0.2, 4))
            event.summary += " (with edits)"
            item.significance = event.significance
        item.summary = event.summary
        old_page = move.old.page_id or item.page_id
        if new_page is not None:
            plan.page_updates.setdefault(old_page, {})["moved_to_id"] = new_page
            plan.page_updates.setdefault(new_page, {})["moved_from_id"] = old_page
        done.setdefault(item.key.target, []).append((index, move))
    for found in done.values():
        if len(found) <= SUMMARY_AFTER:
            continue
        found.sort(key=lambda pair: pair[1].old.key.url)
        carrier = plan.events[found[0][0]]
        carrier.summary = summary_line([move for _index, move in found])
        carrier.features["moves"] = [
            [move.old.key.url, move.new.key.url, move.similarity, move.edited]
            for _index, move in found
        ]
        for item in plan.recorded:
            if item.change_id == -(found[0][0] + 1):
                item.summary = carrier.summary
        quiet = {-(index + 1) for index, _move in found[1:]}
        for index, _move in found[1:]:
            plan.events[index].features["summarised_in"] = carrier.uid
        plan.deliveries = [row for row in plan.deliveries if row.change_id not in quiet]
    return sum(len(found) for found in done.values())
