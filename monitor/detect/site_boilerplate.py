"""Site-wide boilerplate: text that many pages of one site repeat is chrome, not news.

A promo box, a "Follow us" line, a contact footer or a standard teaser inside the
content region is the same on many pages of a site; editing it is not a change of any
one page. Learned per site (host) from the latest versions of its pages:

* a **line** is site chrome when it is found, verbatim, on at least
  ``detect.site_boilerplate_pages`` pages of the site (default 3) and on at least
  ``detect.site_boilerplate_share`` of them (default 30%);
* a **block** (where a line sits, by the tags and classes of its block element and
  the two around it: ``article.news/div.promo/p``)
  is site chrome when it is on that many pages, every line seen in it there is site
  chrome, and it is a widget (an element with a class inside the region: the plain
  flow of paragraphs is never a chrome block). When a chrome block shows new text, that
  text is site chrome too if the same check cycle finds it on enough pages of the site
  (a promo that changed everywhere); text found on fewer pages is a real change of
  those pages.

Site chrome is masked like learned noise: the stored version keeps what the page said,
only the compared text leaves it out.

What it never hides: a line found on one page only is never site chrome, and neither is
a line of prose (:data:`PROSE_WORDS` words or more, or :data:`PROSE_CHARS` characters):
a statement repeated on every page, such as an emergency banner or an evacuation
notice, is news wherever it appears, changes or goes, even at the price of one alert
per page. Nor is a list item or a table cell (:data:`FACT_TAGS`): the documents to
bring, the fees, the opening hours are facts even when many pages repeat them.

Learning only adds; ``monitor volatility --site HOST --reset`` forgets what was learned
for a site, and learning starts again from its pages' next versions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.records import SiteChrome as SiteChrome
from monitor.records import SiteCounts as SiteCounts
from monitor.records import host_of as host_of
from monitor.records import threshold as threshold

logger = logging.getLogger(__name__)

#: A line with this many words is prose: never site chrome.
PROSE_WORDS = 15
#: ... and so is a line this long (scripts written without spaces).
PROSE_CHARS = 120
#: Block keys are cut to this length (they are compared, not shown in full).
KEY_CHARS = 300


def is_prose(line: str) -> bool:
    """A sentence or more: never site chrome, whatever repeats it."""
    return len(line) >= PROSE_CHARS or len(line.split()) >= PROSE_WORDS


#: Lines in these elements are facts even when many pages repeat them: the items of a
#: list of documents to bring, the cells of a table of fees or opening hours.
FACT_TAGS = frozenset({"li", "td", "th", "dt", "dd", "tr", "caption"})


def is_fact(key: str) -> bool:
    """Whether a line with this block key is a list item or a table cell.

    >>> is_fact("article/ul/li"), is_fact("table/tr/td.fee"), is_fact("main/article/p")
    (True, True, False)
    """
    last = key.rpartition("/")[2]
    return last.partition(".")[0] in FACT_TAGS


NONE = SiteChrome()


@dataclass(frozen=True, slots=True)
class Compared:
    """Lines as compared once site chrome is left out, and the lines to look at again."""

    lines: list[str]
    # Lines in a chrome block that are not (yet) chrome lines: site chrome if the check
    # cycle finds them on enough pages, else a real change.
    candidates: tuple[str, ...] = ()


def compare(lines: Sequence[str], keys: Sequence[str], chrome: SiteChrome) -> Compared:
    """``lines`` without the site's chrome lines; new text in chrome blocks is noted.

    >>> chrome = SiteChrome(frozenset({"Follow us"}), frozenset({"article/div.promo/p"}))
    >>> result = compare(
    ...     ["Visa rules", "Follow us", "Film week"],
    ...     ["article/p", "article/p", "article/div.promo/p"],
    ...     chrome,
    ... )
    >>> result.lines, result.candidates
    (['Visa rules', 'Film week'], ('Film week',))
    """
    if not chrome:
        return Compared(list(lines))
    kept: list[str] = []
    candidates: list[str] = []
    for index, line in enumerate(lines):
        if line in chrome.lines and not is_prose(line):
            continue
        kept.append(line)
        if (
            chrome.blocks
            and index < len(keys)
            and keys[index][:KEY_CHARS] in chrome.blocks
            and not is_prose(line)
        ):
            candidates.append(line)
    return Compared(kept, tuple(candidates))


def rows(lines: Sequence[str], keys: Sequence[str]) -> list[tuple[int, str, str]]:
    """What a version contributes to learning: (position, line, block key) of each line
    that could be chrome (neither prose nor a list item or table cell)."""
    found = []
    for index, line in enumerate(lines):
        key = (keys[index] if index < len(keys) else "")[:KEY_CHARS]
        if not is_prose(line) and not is_fact(key):
            found.append((index, line, key))
    return found


def learn(
    counts: SiteCounts,
    known: SiteChrome,
    *,
    min_pages: int,
    min_share: float,
    extra: Mapping[str, set[int]] | None = None,
) -> SiteChrome:
    """The chrome learned from ``counts`` that ``known`` does not hold yet.

    ``extra``: candidate lines of this cycle (new text in chrome blocks) with the pages
    showing them now, counted with the pages whose latest versions hold them.
    """
    if min_pages <= 0:
        return NONE
    line_pages = dict(counts.line_pages)
    for line, pages in (extra or {}).items():
        line_pages[line] = len(counts.candidates.get(line, set()) | pages)
    needed = threshold(counts.pages, min_pages, min_share)
    # New text in a chrome block is measured against the pages that carry such a block
    # (a promo inside the articles is not on the statements the site also has).
    carrying = max((counts.block_pages.get(key, 0) for key in known.blocks), default=0)
    needed_in_block = threshold(carrying or counts.pages, min_pages, min_share)
    lines = {
        line
        for line, pages in line_pages.items()
        if pages >= (needed_in_block if extra and line in extra else needed)
        and not is_prose(line)
        and line not in known.lines
    }
    every = known.lines | lines
    blocks = {
        key
        for key, pages in counts.block_pages.items()
        if pages >= needed
        and key not in known.blocks
        and is_widget(key)
        and not is_fact(key)
        and counts.block_lines.get(key, set()) <= every
    }
    return SiteChrome(frozenset(lines), frozenset(blocks))


def is_widget(key: str) -> bool:
    """Whether a block key names a widget: a block with a class around the line.

    The plain flow of a region (``main/article/p``) is where a page says what it says,
    even when several pages happen to say the same; a promo box has a name of its own.

    >>> is_widget("article.news/div.teaser-box/p"), is_widget("body/main/p")
    (True, False)
    """
    return any("." in step for step in key.split("/"))
