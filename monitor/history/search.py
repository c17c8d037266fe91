"""Full-text search across every version of every page: SQLite FTS5 or PostgreSQL.

Both backends index a version's title and text (migration ``0005_search``) and split them
the same way: letters and digits make words, anything else separates them, case does not
matter, accents and word endings do (no stemming: pages are in many languages). So the
same query finds the same versions on either backend.

A query is a list of terms that must all occur::

    embassy closed          both words, anywhere in the title or text
    "visa applications"     these words next to each other, in this order
    evacuat*                a word starting with "evacuat"
    -consulate              versions without this word (needs at least one other term)

Results come per page: which of its versions match (so one sees when a sentence
appeared and when it went), the newest matching one first, with an excerpt.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from monitor.exceptions import SearchQueryError
from monitor.storage.models import Page, Target, Version
from monitor.storage.store import Store

logger = logging.getLogger(__name__)

#: Letters and digits of any script: the words both backends index.
WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'(-?)"([^"]*)"?(\*?)|(-?)([^\s"]+)')

#: How many characters of context an excerpt keeps around its first match.
EXCERPT_CONTEXT = 90


@dataclass(frozen=True, slots=True)
class Term:
    """Words that must occur next to each other; ``prefix``: the last one may go on."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every ``include`` term and none of the ``exclude`` terms."""

    include: tuple[Term, ...]
    exclude: tuple[Term, ...] = ()

    def fts5(self) -> str:
        """The SQLite FTS5 MATCH expression."""

        def term(t: Term) -> str:
            return '"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")

        expression = " AND ".join(term(t) for t in self.include)
        if self.exclude:
            expression = f"({expression}) NOT ({' OR '.join(term(t) for t in self.exclude)})"
        return expression

    def tsquery(self) -> str:
        """The PostgreSQL ``to_tsquery('simple', ...)`` expression: every word of every
        term; a phrase's word order is checked by :meth:`phrases`."""

        def term(t: Term) -> str:
            parts = [f"'{word}'" for word in t.words]
            if t.prefix:
                parts[-1] += ":*"
            return "(" + " & ".join(parts) + ")"

        expression = " & ".join(term(t) for t in self.include)
        single = [t for t in self.exclude if len(t.words) == 1]
        if single:
            expression = f"{expression} & !({' | '.join(term(t) for t in single)})"
        return expression

    def phrases(self) -> list[tuple[str, bool]]:
        """A PostgreSQL regular expression for each term of several words, and whether it
        is excluded: the words in order with only non-alphanumerics between them.

        (Not tsquery's ``<->``: a tsvector keeps word positions only up to 16,383, and
        checking positions recomputes each candidate's document, which is slow.)
        """
        gap = "[^[:alnum:]]+"
        return [
            (
                "(^|[^[:alnum:]])" + gap.join(t.words) + ("" if t.prefix else "([^[:alnum:]]|$)"),
                excluded,
            )
            for excluded, terms in ((False, self.include), (True, self.exclude))
            for t in terms
            if len(t.words) > 1
        ]

    def words(self) -> list[str]:
        """The words to highlight in excerpts (lower case)."""
        return [word.lower() for t in self.include for word in t.words]


def parse_query(query: str) -> Query:
    """Parse what a person typed into terms.

    >>> parse_query('visa "closed until" evacuat* -rumour').fts5()
    '("visa" AND "closed until" AND "evacuat"*) NOT ("rumour")'
    >>> parse_query('visa "closed until" evacuat*').tsquery()
    "('visa') & ('closed' & 'until') & ('evacuat':*)"
    """
    include: list[Term] = []
    exclude: list[Term] = []
    for match in _TERM.finditer(query):
        if match.group(2) is not None:
            negative, body, star = match.group(1), match.group(2), match.group(3)
        else:
            negative, body = match.group(4), match.group(5)
            star = "*" if body.endswith("*") else ""
        words = tuple(WORD.findall(body))
        if not words:
            continue
        (exclude if negative else include).append(Term(words, prefix=bool(star)))
    if not include:
        raise SearchQueryError(
            f"nothing to search for in {query!r}: give at least one word "
            "(letters or digits; -word only excludes)"
        )
    return Query(tuple(include), tuple(exclude))


@dataclass(slots=True)
class PageMatches:
    """One page whose versions match: which ones, and an excerpt of the newest."""

    page_id: int
    target: str
    url: str
    title: str | None
    seqs: list[int]
    first_at: datetime
    last_at: datetime
    latest_seq: int | None  # the page's newest version, matching or not
    excerpt: list[tuple[str, bool]] = field(default_factory=list)  # (text, is a match)

    @property
    def current(self) -> bool:
        """Whether the page's newest version still matches."""
        return self.latest_seq is not None and self.latest_seq in self.seqs

    @property
    def newest_seq(self) -> int:
        return max(self.seqs)

    def ranges(self) -> str:
        """The matching versions as ranges: ``v1-v4, v7``."""
        return ", ".join(
            f"v{start}" if start == end else f"v{start}-v{end}" for start, end in _runs(self.seqs)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "page_id": self.page_id,
            "target": self.target,
            "url": self.url,
            "title": self.title,
            "versions": sorted(self.seqs),
            "first_match_at": self.first_at.isoformat(),
            "last_match_at": self.last_at.isoformat(),
            "latest_version": self.latest_seq,
            "current": self.current,
            "excerpt": "".join(part for part, _ in self.excerpt),
        }


@dataclass(slots=True)
class SearchResult:
    """Matching pages (newest match first), how many versions matched, and the time taken."""

    query: str
    versions: int
    pages: list[PageMatches]
    total_pages: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "matching_versions": self.versions,
            "matching_pages": self.total_pages,
            "pages": [page.to_json() for page in self.pages],
        }


def _runs(numbers: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _match_clauses(store: Store, query: Query) -> tuple[list[Any], dict[str, str]]:
    dialect = store.engine.dialect.name
    if dialect == "sqlite":
        fts = text("SELECT rowid FROM versions_fts WHERE versions_fts MATCH :q")
        return [Version.id.in_(fts)], {"q": query.fts5()}
    if dialect == "postgresql":
        # The same expression as the index, so the GIN index is used.
        clauses: list[Any] = [
            text(
                "monitor_search_document(versions.title, versions.text) @@ to_tsquery('simple', :q)"
            )
        ]
        params = {"q": query.tsquery()}
        for number, (pattern, excluded) in enumerate(query.phrases()):
            name = f"phrase{number}"
            params[name] = pattern
            found = f"(coalesce(versions.title, '') ~* :{name} OR versions.text ~* :{name})"
            clauses.append(text(f"NOT {found}" if excluded else found))
        return clauses, params
    raise SearchQueryError(f"full-text search is not available on {dialect}")


def search(
    store: Store,
    query: str,
    *,
    targets: Sequence[str] = (),
    tags: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> SearchResult:
    """Versions whose title or text matches ``query``, grouped by page, newest first.

    ``targets`` (names) and ``tags`` narrow the search (a target must have one of the
    tags); ``since``/``until`` bound the versions' capture times. At most ``limit`` pages
    are returned (``total_pages`` says how many matched).
    """
    parsed = parse_query(query)
    started = time.perf_counter()
    clauses, params = _match_clauses(store, parsed)
    statement = (
        select(Version.page_id, Version.seq, Version.captured_at, Version.id)
        .where(*clauses)
        .order_by(Version.captured_at.desc(), Version.id.desc())
    )
    with store.session() as session:
        if targets or tags:
            chosen = _target_ids(session, targets, tags)
            if not chosen:
                return SearchResult(query, 0, [], 0, time.perf_counter() - started)
            statement = statement.join(Page, Page.id == Version.page_id).where(
                Page.target_id.in_(chosen)
            )
        if since is not None:
            statement = statement.where(Version.captured_at >= since)
        if until is not None:
            statement = statement.where(Version.captured_at < until)
        rows = session.execute(statement, params).all()
        grouped: dict[int, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row.page_id, []).append(row)
        page_ids = list(grouped)[:limit]
        pages = _pages(session, page_ids)
        newest = {page_id: grouped[page_id][0].id for page_id in page_ids}
        texts = {
            version_id: (title, body)
            for version_id, title, body in session.execute(
                select(Version.id, Version.title, Version.text).where(
                    Version.id.in_(list(newest.values()))
                )
            )
        }
    words = parsed.words()
    results = []
    for page_id in page_ids:
        matches = grouped[page_id]
        target, url, latest = pages[page_id]
        title, body = texts[newest[page_id]]
        results.append(
            PageMatches(
                page_id=page_id,
                target=target,
                url=url,
                title=title,
                seqs=sorted(row.seq for row in matches),
                first_at=matches[-1].captured_at,
                last_at=matches[0].captured_at,
                latest_seq=latest,
                excerpt=excerpt(f"{title or ''}\n{body}", words),
            )
        )
    seconds = time.perf_counter() - started
    logger.debug("search %r: %d versions in %.3fs", query, len(rows), seconds)
    return SearchResult(query, len(rows), results, len(grouped), seconds)


def _target_ids(session: Session, names: Sequence[str], tags: Sequence[str]) -> list[int]:
    wanted_tags = set(tags)
    ids = []
    for target_id, name, target_tags in session.execute(
        select(Target.id, Target.name, Target.tags)
    ):
        if names and name not in names:
            continue
        if wanted_tags and not wanted_tags.intersection(target_tags or ()):
            continue
        ids.append(target_id)
    return ids


def _pages(session: Session, page_ids: list[int]) -> dict[int, tuple[str, str, int | None]]:
    """Target name, URL and newest version seq of each page."""
    if not page_ids:
        return {}
    rows = session.execute(
        select(Page.id, Target.name, Page.url, Version.seq)
        .join(Target, Target.id == Page.target_id)
        .outerjoin(Version, Version.id == Page.last_version_id)
        .where(Page.id.in_(page_ids))
    )
    return {page_id: (name, url, seq) for page_id, name, url, seq in rows}


def excerpt(
    body: str, words: Sequence[str], context: int = EXCERPT_CONTEXT
) -> list[tuple[str, bool]]:
    """The line of ``body`` where a query word first occurs, cut around it, as pieces.

    Each piece is ``(text, matched)``; a matched piece is a word that starts with one of
    ``words`` (case-insensitively), as the index matched it.

    >>> excerpt("Opening hours\\nThe consulate is closed on Monday.", ["closed"])
    [('The consulate is ', False), ('closed', True), (' on Monday.', False)]
    """
    wanted = tuple(word.lower() for word in words)
    if not wanted:
        return []

    def matches(token: str) -> bool:
        return token.lower().startswith(wanted)

    lines = body.splitlines()
    found = next(
        (
            (line, token)
            for line in lines
            for token in WORD.finditer(line)
            if matches(token.group())
        ),
        None,
    )
    if found is None:
        first = next((line for line in lines if line.strip()), "")
        return [(_cut(first, 0, 2 * context), False)] if first else []
    line, token = found
    start = max(0, token.start() - context)
    end = min(len(line), token.end() + context)
    if start > 0:
        start = line.find(" ", start, token.start()) + 1 or start
    piece = line[start:end]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for word in WORD.finditer(piece):
        if matches(word.group()):
            if word.start() > position:
                pieces.append((piece[position : word.start()], False))
            pieces.append((word.group(), True))
            position = word.end()
    if position < len(piece):
        pieces.append((piece[position:], False))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(line):
        pieces.append(("…", False))
    return pieces


def _cut(line: str, start: int, end: int) -> str:
    return line[start:end] + ("…" if end < len(line) else "")
