"""Watch terms: the words that make a change matter, and where a change contains them.

A term is looked for only in the words a change inserted or deleted (the word diff's
changed runs), never in the rest of the changed line: a one-word edit next to "war" is
not about war. The built-in lists, one per language, live in ``watch_terms.yaml``
beside this module (the one place they are written; the docs show them in full).

Matching, per script (the rules are documented in ``watch_terms.yaml`` too):

* case-insensitive (``casefold``: German ß = ss); accents and other combining marks are
  ignored (é = e, ё = е), except the breve of Cyrillic й, a letter of its own;
* ``word`` matches at the start of a word that goes on for at most 3 more letters (1 for
  terms of 3 letters or fewer: "war" finds "wars", not German "warnte" or "waren");
  ``word*`` matches at the start of a word with any ending; a phrase matches its words
  in order, any spaces between them;
* Han and Kana terms match anywhere (Chinese and Japanese do not separate words; the
  differ compares them character by character);
* Arabic: harakat and tatweel are ignored, أ إ آ read as ا, ى as ي, ة as ه; a term matches
  after the article ال and the prefixes و ف ب ك ل (السفارة, والسفارة, للسفارة all hold
  سفارة), and a term written with ال matches without it.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from monitor.detect.differ import TextDiff

logger = logging.getLogger(__name__)

_HAN_KANA = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ARABIC = re.compile("[\u0600-\u06ff]")
# Proclitics that attach to an Arabic word: و/ف (and), ب/ك/ل (in, like, for), the article.
_ARABIC_PREFIX = "(?:[وف]?(?:[بك]?ال|لل|[بكل])?)"
_ARABIC_FOLD = str.maketrans({"ى": "ي", "ة": "ه", "\u0640": None})


@functools.cache
def defaults() -> dict[str, tuple[str, ...]]:
    """The built-in watch terms per language code, as written in ``watch_terms.yaml``."""
    text = (
        resources.files("monitor.detect").joinpath("watch_terms.yaml").read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text)
    return {language: tuple(str(term) for term in terms) for language, terms in data.items()}


def default_terms(languages: Iterable[str] | None = None) -> tuple[str, ...]:
    """The built-in terms of these languages (all when None), in file order, deduplicated."""
    lists = defaults()
    chosen = list(lists) if languages is None else list(languages)
    return tuple(dict.fromkeys(term for language in chosen for term in lists[language]))


def _fold_char(char: str) -> str:
    if char in "йЙ":
        return "й"
    folded = unicodedata.normalize("NFD", char.casefold())
    return "".join(c for c in folded if unicodedata.category(c) != "Mn")


def fold(text: str) -> str:
    """Text as terms are matched in it: case, accents and Arabic spelling variants folded.

    Folding is done character by character, so the folds of two pieces of a line add up
    to the fold of the line (what lets changed runs be located in folded text).

    >>> fold("Fermée à l'ÉTÉ"), fold("Schließung"), fold("إجلاء الرعايا"), fold("Ёлка й")
    ("fermee a l'ete", 'schliessung', 'اجلاء الرعايا', 'елка й')
    """
    if text.isascii():
        return text.casefold()
    folded = "".join(_fold_char(char) for char in text)
    return unicodedata.normalize("NFC", folded).translate(_ARABIC_FOLD)


@dataclass(frozen=True, slots=True)
class Term:
    """One watch term, compiled for its script."""

    text: str  # as the user wrote it, without a trailing "*"
    pattern: re.Pattern[str]
    folded: str = ""  # how it is matched: folded, Arabic article dropped

    @property
    def first(self) -> str:
        """The first word of :attr:`folded`: in every text the term matches (a cheap
        test that spares running the pattern over lines without it)."""
        return self.folded.split(maxsplit=1)[0] if self.folded else ""


def _most_specific(hits: Iterable[Term]) -> list[str]:
    """Reported names of the terms found, without one that another found term extends
    (English "suspend" and French "suspen*" both find "suspended": "suspend" is said)."""
    found = list(hits)
    return sorted(
        {
            term.text
            for term in found
            if not any(
                other.folded != term.folded and other.folded.startswith(term.folded)
                for other in found
            )
        }
    )


def _compile(term: str) -> Term | None:
    raw = term.strip()
    prefix = raw.endswith("*")
    raw = raw.rstrip("*").strip()
    if not raw:
        return None
    folded = fold(raw)
    words = folded.split()
    if _HAN_KANA.search(folded):
        # No word boundaries in these scripts: a substring, spaces optional.
        pattern = re.compile(r"\s*".join(re.escape(word) for word in words))
        return Term(raw.lower(), pattern, " ".join(words))
    start = r"(?<!\w)"
    if _ARABIC.search(folded):
        if words[0].startswith("ال") and len(words[0]) > 3:
            words[0] = words[0][2:]
        start = r"(?<!\w)" + _ARABIC_PREFIX
    body = r"\s+".join(re.escape(word) for word in words)
    if prefix:
        end = ""
    else:
        extra = 1 if len(words[-1]) <= 3 else 3
        end = rf"\w{{0,{extra}}}(?!\w)"
    return Term(raw.lower(), re.compile(start + body + end), " ".join(words))


@functools.lru_cache(maxsize=64)
def compile_terms(terms: tuple[str, ...]) -> tuple[Term, ...]:
    """Terms compiled once per distinct list (a target's list is the same at every event)."""
    compiled: dict[str, Term] = {}
    for term in terms:
        made = _compile(term)
        # One term per pattern: French "évacu*" and English "evacu*" are one.
        if made is not None and made.pattern.pattern not in compiled:
            compiled[made.pattern.pattern] = made
    return tuple(compiled.values())


@dataclass(frozen=True, slots=True)
class Marked:
    """A folded line and the spans (in it) of the words a change inserted or deleted."""

    text: str
    spans: tuple[tuple[int, int], ...]


def marked_lines(diff: TextDiff) -> list[Marked]:
    """The changed lines of a diff, each side with its inserted or deleted runs marked.

    Moved lines are not changed text and are left out.
    """
    marked: list[Marked] = []
    for line in diff.lines:
        if line.op in ("equal", "moved_in", "moved_out"):
            continue
        for changed_op in ("delete", "insert"):
            text: list[str] = []
            spans: list[tuple[int, int]] = []
            position = 0
            for segment in line.segments:
                if segment.op not in ("equal", changed_op):
                    continue
                piece = fold(segment.text)
                if segment.op == changed_op and piece.strip():
                    spans.append((position, position + len(piece)))
                text.append(piece)
                position += len(piece)
            if spans:
                marked.append(Marked("".join(text), tuple(spans)))
    return marked


def find_changed(terms: Sequence[Term], lines: Iterable[Marked]) -> list[str]:
    """Terms with an occurrence that overlaps a changed run, sorted.

    A term's pattern runs only on the lines that hold its first word (a substring test:
    running 130 patterns over every changed paragraph cost ~18 ms per changed page)."""
    lines = list(lines)
    return _most_specific(
        term
        for term in terms
        if any(_overlaps(term, line) for line in lines if term.first in line.text)
    )


def _overlaps(term: Term, line: Marked) -> bool:
    for match in term.pattern.finditer(line.text):
        if any(match.start() < end and start < match.end() for start, end in line.spans):
            return True
    return False


def find(terms: Sequence[Term], text: str) -> list[str]:
    """Terms found anywhere in ``text`` (all of it is new: an added article), sorted."""
    folded = fold(text)
    return _most_specific(
        term for term in terms if term.first in folded and term.pattern.search(folded)
    )
