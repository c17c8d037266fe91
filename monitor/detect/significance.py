"""Scoring how much a change matters, from named features rather than its size alone.

Size does not separate noise from substance (a 17-character link removal matters, a
4,000-character footer rotation does not), so the score is built from features that
people who watch government pages named: a link removed, an image removed, a status
flip, a redirect to another place, watch-list terms in the changed text, one long
contiguous rewrite; and
it is lowered for changes of numbers or dates only and for listing and home pages.
Every feature that contributed is stored with the score, so alerts can say why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.detect import quality
from monitor.detect.differ import TextDiff, diff_images, diff_text, line_ops
from monitor.detect.terms import compile_terms, find, find_changed, marked_lines
from monitor.detect.volatility import is_statement
from monitor.vocab import EventKind, Role

logger = logging.getLogger(__name__)

BASE: dict[str, float] = {
    EventKind.REMOVED: 0.85,
    EventKind.RESTORED: 0.6,
    EventKind.ADDED: 0.5,
    # Nothing was lost: the same statement at a new address (more when it was edited).
    EventKind.MOVED: 0.3,
    EventKind.ERROR: 0.4,
    EventKind.RECOVERED: 0.2,
    EventKind.CHANGED: 0.25,
}
#: Added to a change's score when an image was removed from the content (a removed
#: link adds 0.25), and when images were only added or their alt text changed.
IMAGE_REMOVED = 0.3
IMAGE_CHANGED = 0.1
_NUMBERISH = re.compile(r"[\d\s.,:/\-–—%№#]+")
_WORD = re.compile(r"\w+", re.UNICODE)
# A time (08:00, 8h30, 10 a.m.), a numeric date (5.3.2024, 2024-03-05), a day and a month
# written out (5 March, March 5, 5 марта; month names as in monitor.detect.volatility), a year.
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|f[eé]v|avr|mai|juin|juil|ao[uû]|"
    r"d[eé]c|ene|abr|ago|dic|m[aä]r|okt|dez|январ|феврал|март|апрел|ма[йя]|июн|июл|август|"
    r"сентябр|октябр|ноябр|декабр)[^\W\d_]*\.?"
)
_DATE_OR_TIME = re.compile(
    rf"\b\d{{1,2}}\s?[:h]\s?\d{{2}}\b|\b\d{{1,2}}\s?[ap]\.?m\b|"
    rf"\b\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}\b|"
    rf"\b\d{{1,2}}\.?\s+(?:de\s+)?{_MONTH}|{_MONTH}\s+\d{{1,2}}\b|\b(?:1[89]|20)\d{{2}}\b|"
    r"\d{1,4}\s?[年月日]",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Significance:
    """A score in [0, 1] with the named features behind it."""

    score: float
    features: dict[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()


def matching_terms(terms: Iterable[str], text: str) -> list[str]:
    """Watch terms found anywhere in ``text`` (see :mod:`monitor.detect.terms` for how they match).

    >>> matching_terms(["visa", "evacu*", "war"], "Evacuation flights; visas; Warnung")
    ['evacu', 'visa']
    """
    return find(compile_terms(tuple(terms)), text)


def changed_terms(
    watch: Iterable[str], diff: TextDiff | None, title_diff: TextDiff | None = None
) -> list[str]:
    """Watch terms among the words a change inserted or deleted, not the rest of its lines.

    >>> diff = diff_text("Er war in Berlin und warnte.", "Er war in Bonn und warnte.")
    >>> changed_terms(["war", "warn*"], diff)
    []
    >>> changed_terms(["war"], diff_text("Peace talks", "War talks"))
    ['war']
    """
    marked = marked_lines(diff) if diff is not None else []
    if title_diff is not None:
        marked += marked_lines(title_diff)
    return find_changed(compile_terms(tuple(watch)), marked)


def _changed_text(before: Sequence[str], after: Sequence[str]) -> tuple[list[str], list[str]]:
    removed: list[str] = []
    added: list[str] = []
    for op in line_ops("\n".join(before), "\n".join(after)):
        if op.op == "-":
            removed.extend(op.lines)
        elif op.op == "+":
            added.extend(op.lines)
    return removed, added


def _only_numbers(removed: Iterable[str], added: Iterable[str]) -> bool:
    """True when the lines differ only in digits and date punctuation."""
    old = [_NUMBERISH.sub("#", line) for line in removed]
    new = [_NUMBERISH.sub("#", line) for line in added]
    return bool(old or new) and sorted(old) == sorted(new)


def _dates_changed(removed: Sequence[str], added: Sequence[str]) -> bool:
    """Whether the times and dates written in the lines differ (else other numbers did)."""
    return sorted(_DATE_OR_TIME.findall(" ".join(removed))) != sorted(
        _DATE_OR_TIME.findall(" ".join(added))
    )


def score(
    kind: str,
    *,
    before: Sequence[str] = (),
    after: Sequence[str] = (),
    title_before: str | None = None,
    title_after: str | None = None,
    links_before: Iterable[tuple[str, str]] = (),
    links_after: Iterable[tuple[str, str]] = (),
    images_before: Iterable[Sequence[str]] = (),
    images_after: Iterable[Sequence[str]] = (),
    role: str = Role.PAGE,
    url: str = "",
    final_url_before: str | None = None,
    final_url_after: str | None = None,
    watch_terms: Iterable[str] = (),
    extra: dict[str, Any] | None = None,
) -> Significance:
    """Score one event; ``before``/``after`` are the compared (masked) lines."""
    features: dict[str, Any] = dict(extra or {})
    # Reasons the decision already knows (a stale page) come first.
    reasons: list[str] = list(features.pop("reasons", ()))
    watch = tuple(watch_terms)
    value = BASE.get(kind, 0.3)
    removed, added = _changed_text(before, after)
    removed_text, added_text = " ".join(removed), " ".join(added)
    words_removed = len(_WORD.findall(removed_text))
    words_added = len(_WORD.findall(added_text))
    longest = max((len(line) for line in [*removed, *added]), default=0)
    listing_or_home = role in (Role.LISTING, Role.PART) or bool(url and quality.is_home(url))
    diff: TextDiff | None = None
    if kind in (EventKind.CHANGED, EventKind.RESTORED) and (removed or added):
        # Word-level figures from the differ: a one-word edit in a long paragraph is
        # one word, not the paragraph; moved blocks count as neither added nor removed.
        diff = diff_text("\n".join(before), "\n".join(after))
        stats = diff.stats
        words_added, words_removed = stats.words_added, stats.words_removed
        longest = stats.longest_change_chars
        if stats.moved_lines:
            features["moved_lines"] = stats.moved_lines
        features["chars_added"], features["chars_removed"] = stats.chars_added, stats.chars_removed
    if kind in (EventKind.CHANGED, EventKind.RESTORED):
        features.update(words_added=words_added, words_removed=words_removed)
        if title_before != title_after:
            features["title_changed"] = True
            # The page's own heading usually repeats its title: a change of only those
            # lines is still a title-only change.
            if all(line in (title_before or "") for line in removed) and all(
                line in (title_after or "") for line in added
            ):
                features["title_only"] = True
                reasons.append("only the title changed")
            else:
                value += 0.1
                reasons.append("the title changed")
        features["longest_change_chars"] = longest
        if longest >= 300:
            value += 0.2
            reasons.append(f"one long contiguous change ({longest} characters)")
        elif words_added + words_removed >= 40:
            value += 0.1
            reasons.append(f"{words_added + words_removed} words changed")
        if removed and not added:
            value += 0.1
            reasons.append("text was removed, nothing added")
        if _only_numbers(removed, added):
            # Numbers in a sentence are facts (a bus time, a date of closure, a count of
            # people): a real change. Outside one (a counter, a stamp) or on a listing or
            # home page, a change of numbers alone is weighted down.
            statement = any(is_statement(line) for line in [*removed, *added]) or bool(
                matching_terms(watch, " ".join([*removed, *added]))
            )
            if statement and not listing_or_home:
                what = "times/dates" if _dates_changed(removed, added) else "numbers"
                features["numbers_in_statement"] = what
                reasons.append(f"{what} changed in the statement")
            else:
                value *= 0.4
                features["numbers_only"] = True
                reasons.append("only numbers or dates changed")
    before_links = {url_: text for url_, text in links_before}
    after_links = {url_: text for url_, text in links_after}
    links_removed = sorted(set(before_links) - set(after_links))
    links_added = sorted(set(after_links) - set(before_links))
    if kind == EventKind.CHANGED and (links_removed or links_added):
        features["links_removed"] = [[u, before_links[u]] for u in links_removed[:50]]
        features["links_added"] = [[u, after_links[u]] for u in links_added[:50]]
        if links_removed:
            value += 0.25
            reasons.append(f"{len(links_removed)} link(s) removed")
    if kind == EventKind.CHANGED:
        pictures = diff_images(images_before, images_after)
        if pictures.changed:
            features["images_removed"] = [list(pair) for pair in pictures.removed[:50]]
            features["images_added"] = [list(pair) for pair in pictures.added[:50]]
            if pictures.text_changed:
                features["images_alt_changed"] = [list(t) for t in pictures.text_changed[:50]]
        if pictures.removed:
            # A picture taken out of a statement (a person, a map, a signed document)
            # weighs at least as much as a removed link.
            value += IMAGE_REMOVED
            reasons.append(f"{len(pictures.removed)} image(s) removed")
        elif pictures.added or pictures.text_changed:
            value += IMAGE_CHANGED
            reasons.append("images added or described differently")
    if kind in (EventKind.CHANGED, EventKind.RESTORED, EventKind.ADDED) and watch:
        if kind == EventKind.ADDED:
            hits = matching_terms(watch, "\n".join([title_after or "", *after]))
        else:
            # Only the words the change inserted or deleted: a term elsewhere in a
            # changed line is not what changed.
            title_diff = (
                diff_text(title_before or "", title_after or "")
                if title_before != title_after
                else None
            )
            hits = changed_terms(watch, diff, title_diff)
        if hits:
            features["watch_terms"] = hits
            value += 0.3
            reasons.append("watch-list terms: " + ", ".join(hits))
    if final_url_before and final_url_after and final_url_before != final_url_after:
        features["redirect"] = {"from": final_url_before, "to": final_url_after}
        value += 0.2
        reasons.append(f"now redirects to {final_url_after}")
    if listing_or_home:
        value *= 0.5
        features["listing_or_home"] = True
        reasons.append("a listing or home page (weighted down)")
    final = round(max(0.0, min(1.0, value)), 3)
    features["reasons"] = reasons
    return Significance(final, features, tuple(reasons))
