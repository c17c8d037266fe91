"""Volatile text: what changes on every visit and is never news.

Two sources, applied line by line before content is compared:

* built-in patterns (:data:`BUILTIN`): opening hours, "today" date/time widgets, view and
  visitor counters, "last updated" stamps, copyright years;
* what was learned per page: lines that differed between two fetches a few seconds
  apart when the page was first added (``probe``), or that changed on each of the last
  several captures (``observed``). A learned line is known by its *signature*: the line
  with digit runs masked (counters, tokens, times), or, for lines that change entirely
  (a rotating quote), the stable line just before it.

The text stored in a version is never masked: it is what the page said. Only the hash
used to compare captures, and the diff shown in alerts, see masked text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d+")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|"
    r"сентябр[яь]|октябр[яь]|ноябр[яь]|декабр[яь])\.?"
)
_WEEKDAYS = (
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"\d{{1,2}}\s+{_MONTHS}\s*[/,]?\s*\d{{4}}|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}})"
)
_TIME = r"\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named built-in pattern: ``drop`` removes the whole line, ``mask`` the match.

    ``needs``: lower-case words one of which every match contains; a line without any
    of them is skipped without running the (slower) pattern.
    """

    name: str
    regex: re.Pattern[str]
    action: str  # "drop" or "mask"
    replacement: str = "#"
    needs: tuple[str, ...] = ()


def _p(
    name: str, pattern: str, action: str, replacement: str = "#", needs: tuple[str, ...] = ()
) -> Pattern:
    return Pattern(name, re.compile(pattern, re.IGNORECASE), action, replacement, needs)


BUILTIN: tuple[Pattern, ...] = (
    _p(
        "opening-hours",
        # Only "today's"/"current" hours: a published weekly schedule is content.
        r"^\W*(?:today'?s|current|now)\s+(?:working|opening|office|business|reception|visiting)"
        r"\s+hours\b.*\d|^\W*(?:working|opening|office)\s+hours\s+today\b.*\d|"
        r"^\W*(?:режим|часы)\s+работы\s+сегодня\b.*\d|^\W*сегодня\s+работаем\b.*\d",
        "drop",
        needs=("hours", "работы", "работаем"),
    ),
    _p(
        "date-time-widget",
        # A line that is only a date with a weekday and/or a time: a "today" widget.
        # A bare date (a publication date) is kept: editing it is news.
        rf"^\W*(?:(?:{_WEEKDAYS})\W+{_DATE}(?:\W+{_TIME})?|{_DATE}\W+{_TIME}|{_TIME}|"
        rf"(?:{_WEEKDAYS})\W+{_TIME})\W*$",
        "drop",
    ),
    _p(
        "counter",
        r"\b(number of views|page views|views|visitors(?: today)?|visits|hits|downloads|comments|"
        r"просмотр\w*|посещени\w*|посетител\w*(?: сегодня)?)\b(\W{0,3})\d[\d\s.,]*",
        "mask",
        r"\1\2#",
        needs=(
            "views",
            "visit",
            "hits",
            "downloads",
            "comments",
            "просмотр",
            "посещени",
            "посетител",
        ),
    ),
    _p(
        "counter-after",
        r"\b\d[\d\s.,]*(\s+(?:views|visits|hits|просмотр\w*))\b",
        "mask",
        r"#\1",
        needs=("views", "visits", "hits", "просмотр"),
    ),
    _p(
        "updated-stamp",
        # Only the date or time right after the stamp word: the rest of a sentence is content.
        rf"\b(last (?:updated|modified|reviewed)|updated on|page generated|generated on|"
        rf"обновлено|дата обновления)(\W{{0,3}}(?:on\s+|at\s+)?)(?:{_DATE}|{_TIME})"
        rf"(?:\W{{0,3}}(?:at\s+)?{_TIME})?",
        "mask",
        r"\1\2#",
        needs=("last", "updated", "generated", "обновлено", "дата обновления"),
    ),
    _p(
        "copyright-years",
        r"(©|\(c\)|copyright)\s*\d{4}(?:\s*[-–]\s*\d{4})?",
        "mask",
        r"\1 #",
        needs=("©", "(c)", "copyright"),
    ),
)


def signature(line: str) -> str:
    """A line with its digit runs masked: how a counter or token line is recognised."""
    return _DIGITS.sub("#", line)


@dataclass(frozen=True, slots=True)
class Volatility:
    """What was learned about one page: digit signatures and lines that follow a context."""

    signatures: frozenset[str] = field(default_factory=frozenset)
    # (before, after): the lines between the stable line ``before`` and the next stable
    # line ``after`` rotate, whatever their number ("<start>"/"<end>" at the edges).
    after: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def merged(self, other: Volatility) -> Volatility:
        return Volatility(self.signatures | other.signatures, self.after | other.after)

    def __bool__(self) -> bool:
        return bool(self.signatures or self.after)


NONE = Volatility()


_HAS_DIGIT = re.compile(r"\d")


def apply_builtin(line: str) -> str | None:
    """The line with built-in volatile parts masked, or None when the whole line is noise."""
    if not _HAS_DIGIT.search(line):
        return line  # every built-in pattern needs a digit: most lines end here, cheaply
    lowered = line.lower()
    for pattern in BUILTIN:
        if pattern.needs and not any(word in lowered for word in pattern.needs):
            continue
        if pattern.action == "drop":
            if pattern.regex.search(line):
                return None
        else:
            line = pattern.regex.sub(pattern.replacement, line)
    return line


def mask(lines: Iterable[str], learned: Volatility = NONE) -> list[str]:
    """Lines as compared: built-in and learned volatile parts masked or dropped."""
    kept = [masked for masked in map(apply_builtin, lines) if masked is not None]
    if not learned:
        return kept
    rotating: dict[str, set[str]] = {}
    for before, after in learned.after:
        rotating.setdefault(before, set()).add(after)
    result: list[str] = []
    index = 0
    context = "<start>"
    while index < len(kept):
        ends = rotating.get(context)
        if ends:
            # Lines between this stable context and the next one rotate: skip them, but
            # only when that next context is really there (else the page changed: keep).
            stop = _find_end(kept, index, ends)
            if stop is not None:
                index = stop
                if index >= len(kept):
                    break
        masked = kept[index]
        if learned.signatures and signature(masked) in learned.signatures:
            masked = signature(masked)
        result.append(masked)
        context = kept[index]
        index += 1
    return result


MAX_ROTATING_LINES = 30


def _find_end(lines: list[str], start: int, ends: set[str]) -> int | None:
    """Index of the first line in ``ends`` at or after ``start`` (len for "<end>")."""
    for index in range(start, min(len(lines), start + MAX_ROTATING_LINES + 1)):
        if lines[index] in ends:
            return index
    if "<end>" in ends and len(lines) - start <= MAX_ROTATING_LINES:
        return len(lines)
    return None


def differing(before: Sequence[str], after: Sequence[str]) -> Volatility:
    """What differs between two captures of one page, as volatility to learn.

    Replaced lines whose digit signatures agree become signatures; other replaced or
    inserted lines become "after" contexts (the stable line before them).
    """
    from monitor.differ import line_ops

    signatures: set[str] = set()
    contexts: set[tuple[str, str]] = set()
    context = "<start>"
    ops = line_ops("\n".join(before), "\n".join(after))
    index = 0
    while index < len(ops):
        op = ops[index]
        if op.op == " ":
            context = op.lines[-1]
            index += 1
            continue
        removed: tuple[str, ...] = ()
        added: tuple[str, ...] = ()
        while index < len(ops) and ops[index].op != " ":
            if ops[index].op == "-":
                removed += ops[index].lines
            else:
                added += ops[index].lines
            index += 1
        if len(removed) == len(added) and all(
            signature(old) == signature(new) and _DIGITS.search(old)
            for old, new in zip(removed, added, strict=True)
        ):
            signatures.update(signature(old) for old in removed)
        else:
            end = ops[index].lines[0] if index < len(ops) else "<end>"
            contexts.add((context, end))
    return Volatility(frozenset(signatures), frozenset(contexts))
