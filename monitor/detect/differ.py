"""Diffs between two versions of a page: its text, line by line then word by word, and its links.

Texts have one block element (paragraph, heading, list item) per line. The text differ
works in three passes over plain data:

1. Lines. Each distinct line becomes one character, so the two texts become two short
   strings. Common ends are trimmed; lines that occur once in each text and keep their
   order (patience anchors) cut the rest into small gaps; lines found on one side only are
   set aside; repeated content (table rows) anchors on runs of lines found once; what is
   left goes to diff-match-patch's Myers diff. So a heavily edited 1 MB page costs
   milliseconds instead of running into diff-match-patch's deadline, where it silently
   answers "delete everything, insert everything". That answer is recognised (a deletion
   next to an insertion that shares a line with it cannot be minimal) and redone exactly,
   in pieces if big; ``TextDiff.degenerate`` says if that ever failed.
2. Moves. A run of lines deleted in one place and inserted unchanged in another is shown as
   moved, and is not counted as added or removed text.
3. Words. The deleted and inserted lines of each changed block are paired by similarity and
   each pair is diffed over word tokens (same method as lines), then cleaned up semantically,
   so a one-word edit shows as one word.

One ``TextDiff`` renders as unified text, inline HTML, side-by-side HTML and JSON. Links are
compared as sets by URL (``diff_links``), images by source (``diff_images``). Every differ
is a pure function; :func:`diff_versions` runs the three on two stored versions.

Why one module of this size: it is one algorithm (lines, then moves, then words) and
the renderings of its one result type; split, each half would import the other's
privates. Its functions are pure and each carries a doctest.
"""

from __future__ import annotations

import html
import logging
import math
import re
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import zip_longest
from typing import Any, Protocol

from diff_match_patch import diff_match_patch

logger = logging.getLogger(__name__)

EQUAL, INSERT, DELETE = (
    diff_match_patch.DIFF_EQUAL,
    diff_match_patch.DIFF_INSERT,
    diff_match_patch.DIFF_DELETE,
)

#: Seconds diff-match-patch may search, over one whole ``diff_text`` call. A stretch cut
#: short by it is redone exactly (within a budget of five times this, at least 2 s).
DEFAULT_TIMEOUT = 1.0
#: A run of moved lines shorter than this many visible characters (a "Share" button, an
#: empty heading) is left as a deletion and an insertion: such lines repeat everywhere.
MIN_MOVE_CHARS = 20
#: Deleted and inserted lines are paired for word highlights when their word overlap
#: (Dice coefficient over tokens) is at least this; below it they read better whole.
PAIR_SIMILARITY = 0.5

SEGMENT_OPS = ("equal", "insert", "delete")
LINE_OPS = ("equal", "delete", "insert", "change", "moved_out", "moved_in")

# Below this many symbols, anchoring costs more than it saves: straight to diff-match-patch.
_SMALL = 256
# A non-minimal result for up to this many symbols is redone exactly (Myers without
# shortcuts); bigger stretches with nothing to anchor on are cut in pieces half this size.
_EXACT_RETRY_LIMIT = 2000
# Exact redos share a budget of this many times ``timeout`` (at least the minimum, in
# seconds): past it, a stretch stays non-minimal and the diff says so (``degenerate``)
# rather than taking minutes.
_EXACT_BUDGET_FACTOR = 5
_MIN_EXACT_BUDGET = 2.0
_MAX_ANCHOR_DEPTH = 8
# When no symbol occurs once on each side (a table of repeated rows), runs of symbols are
# tried as anchors instead, long enough that one found once on each side is not chance:
# (distinct symbols) ** length >= (symbols in all) ** 2, and no longer than this.
_MAX_RUN_ANCHOR = 64
# Pairing a changed block's lines is quadratic; blocks bigger than this pair greedily.
_PAIRING_DP_LIMIT = 2500
_PAIRING_WINDOW = 8

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Words, runs of whitespace, single punctuation marks; each CJK character is a word of its
# own since those scripts do not separate words with spaces.
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|[^\w\s]")
_WORD_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_NON_SPACE_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")

_Script = list[tuple[int, str]]


# --------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of one line: kept (``equal``), added (``insert``) or removed (``delete``)."""

    op: str
    text: str


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of the diff: kept, removed, added, edited in place, or moved.

    ``op`` is one of ``LINE_OPS``. ``old_no`` and ``new_no`` are 1-based line numbers in
    the old and new text (``None`` on the side the line is not on). A ``change`` line
    carries word-level segments; ``moved_out`` (at its old place) and ``moved_in`` (at its
    new place) carry the line number on the other side as ``counterpart``.
    """

    op: str
    old_no: int | None
    new_no: int | None
    segments: tuple[Segment, ...]
    counterpart: int | None = None

    @property
    def old_text(self) -> str:
        """The line as it was (empty when it is only in the new text)."""
        if self.old_no is None:
            return ""
        return "".join(s.text for s in self.segments if s.op != "insert")

    @property
    def new_text(self) -> str:
        """The line as it is now (empty when it is only in the old text)."""
        if self.new_no is None:
            return ""
        return "".join(s.text for s in self.segments if s.op != "delete")


@dataclass(frozen=True, slots=True)
class Move:
    """A run of ``length`` lines that left old line ``old_start`` for new line ``new_start``."""

    old_start: int
    new_start: int
    length: int


@dataclass(frozen=True, slots=True)
class Hunk:
    """A stretch of changed lines with their context, as a unified diff numbers it."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True, slots=True)
class DiffStats:
    """How much changed, for notifications and significance scores; moved text is not counted.

    ``ratio_changed`` is (characters added + removed) over the length of the larger text
    (line breaks not counted), capped at 1. ``hunks`` counts runs of changed lines, whatever
    the context shown. ``longest_change_chars`` is the longest contiguous inserted or
    deleted run, which may span lines.
    """

    chars_added: int
    chars_removed: int
    words_added: int
    words_removed: int
    ratio_changed: float
    hunks: int
    lines_added: int
    lines_removed: int
    moved_lines: int
    longest_change_chars: int


@dataclass(frozen=True, slots=True)
class TextDiff:
    """The diff of two texts, with every view of it: unified, inline HTML, side by side, JSON.

    ``lines`` is the merged edit script (old-only lines come before new-only lines in each
    changed block); ``added_text`` and ``removed_text`` hold the inserted and deleted runs,
    one per line of text, for term matching. ``degenerate`` is True only if some part of the
    diff stayed non-minimal after every fallback (never seen in practice).
    """

    lines: tuple[DiffLine, ...]
    moves: tuple[Move, ...]
    stats: DiffStats
    added_text: str
    removed_text: str
    degenerate: bool = False

    @property
    def changed(self) -> bool:
        """Whether the two texts differ at all."""
        return any(line.op != "equal" for line in self.lines)

    def hunks(self, context: int | None = 3) -> list[Hunk]:
        """The changed stretches with ``context`` unchanged lines around each (all if None)."""
        rows = self.lines
        old_before = new_before = 0
        before: list[tuple[int, int]] = []
        for line in rows:
            before.append((old_before, new_before))
            old_before += line.old_no is not None
            new_before += line.new_no is not None
        hunks = []
        for start, end in _hunk_ranges(rows, context):
            chunk = rows[start:end]
            old = [line.old_no for line in chunk if line.old_no is not None]
            new = [line.new_no for line in chunk if line.new_no is not None]
            hunks.append(
                Hunk(
                    old_start=old[0] if old else before[start][0],
                    old_count=len(old),
                    new_start=new[0] if new else before[start][1],
                    new_count=len(new),
                    lines=chunk,
                )
            )
        return hunks

    def unified(self, context: int = 3, labels: tuple[str, str] = ("a", "b")) -> str:
        """A unified diff (empty when nothing changed); moved lines appear as - and +."""
        if not self.changed:
            return ""
        out = [f"--- {labels[0]}", f"+++ {labels[1]}"]
        for hunk in self.hunks(context):
            out.append(
                f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"
            )
            minus: list[str] = []
            plus: list[str] = []
            for line in hunk.lines:
                if line.op == "equal":
                    out += minus + plus
                    minus, plus = [], []
                    out.append(" " + line.old_text)
                    continue
                if line.old_no is not None:
                    minus.append("-" + line.old_text)
                if line.new_no is not None:
                    plus.append("+" + line.new_text)
            out += minus + plus
        return "\n".join(out) + "\n"

    def word_text(self, excerpt: int | None = None) -> list[str]:
        """The changed lines as plain text, words marked ``[-removed-]`` and ``{+added+}``.

        ``excerpt`` trims the unchanged text around the edits of a long line to about
        that many characters on each side. Moved lines are marked ``>``.

        >>> diff_text("We meet on Monday.", "We meet on Tuesday.").word_text()
        ['~ We meet on [-Monday-]{+Tuesday+}.']
        """
        out: list[str] = []
        for line in self.lines:
            if line.op == "equal" or line.op == "moved_out":
                continue
            if line.op == "moved_in":
                out.append(f"> {line.new_text}")
                continue
            if line.op in ("insert", "delete"):
                symbol = "+" if line.op == "insert" else "-"
                out.append(f"{symbol} {line.new_text or line.old_text}")
                continue
            parts = []
            for index, segment in enumerate(line.segments):
                text = segment.text
                if segment.op == "insert":
                    parts.append("{+" + text + "+}")
                elif segment.op == "delete":
                    parts.append("[-" + text + "-]")
                elif excerpt is not None and len(text) > 2 * excerpt:
                    first, last = index == 0, index == len(line.segments) - 1
                    if first:
                        text = "..." + text[-excerpt:]
                    elif last:
                        text = text[:excerpt] + "..."
                    else:
                        text = text[:excerpt] + " ... " + text[-excerpt:]
                    parts.append(text)
                else:
                    parts.append(text)
            out.append("~ " + "".join(parts))
        return out

    def inline_html(self, context: int | None = None) -> str:
        """The new text with word-level ``<ins>``/``<del>``, one ``<div class="line">`` a line.

        Every highlight opens and closes inside its line's element; all page text is
        escaped. With ``context``, unchanged stretches beyond it collapse to a ``skip`` div.
        """
        out = ['<div class="diff">']
        for gap, chunk in _with_gaps(self.lines, context):
            if gap:
                out.append(f'<div class="skip">{_unchanged(gap)}</div>')
            out.extend(_inline_line(line) for line in chunk)
        out.append("</div>")
        return "\n".join(out)

    def side_by_side_html(
        self, context: int | None = None, labels: tuple[str, str] = ("Before", "After")
    ) -> str:
        """A two-column table, old | new, with changed lines on the same row and highlighted."""
        head = "".join(f'<th colspan="2">{html.escape(label)}</th>' for label in labels)
        # The columns are declared first: with ``table-layout: fixed`` a browser sizes them
        # from these (a stylesheet gives ``col.num`` its width), not from the header's
        # spanning cells, which would hand the line numbers half the width.
        columns = '<col class="num"><col class="text">' * 2
        out = [
            '<table class="diff-sbs">',
            f"<colgroup>{columns}</colgroup>",
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
        ]
        for gap, chunk in _with_gaps(self.lines, context):
            if gap:
                out.append(f'<tr class="skip"><td colspan="4">{_unchanged(gap)}</td></tr>')
            for old, new in _side_by_side_rows(chunk):
                kind = _row_kind(old, new)
                out.append(f'<tr class="{kind}">{_cell(old, "old")}{_cell(new, "new")}</tr>')
        out += ["</tbody>", "</table>"]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        """The diff as plain JSON-able data; ``TextDiff.from_json`` reads it back."""
        return {
            "lines": [
                {
                    "op": line.op,
                    "old": line.old_no,
                    "new": line.new_no,
                    "segments": [[s.op, s.text] for s in line.segments],
                    "counterpart": line.counterpart,
                }
                for line in self.lines
            ],
            "moves": [asdict(move) for move in self.moves],
            "stats": asdict(self.stats),
            "added_text": self.added_text,
            "removed_text": self.removed_text,
            "degenerate": self.degenerate,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TextDiff:
        """A TextDiff from ``to_json`` output (for diffs stored or sent as JSON)."""
        return cls(
            lines=tuple(
                DiffLine(
                    op=item["op"],
                    old_no=item["old"],
                    new_no=item["new"],
                    segments=tuple(Segment(op, text) for op, text in item["segments"]),
                    counterpart=item.get("counterpart"),
                )
                for item in data["lines"]
            ),
            moves=tuple(Move(**move) for move in data["moves"]),
            stats=DiffStats(**data["stats"]),
            added_text=data["added_text"],
            removed_text=data["removed_text"],
            degenerate=data["degenerate"],
        )


@dataclass(frozen=True, slots=True)
class LinkDiff:
    """The set-diff of a page's outgoing links, to show beside its text diff.

    ``added`` and ``removed`` are (url, text) pairs whose URL appears on only one side;
    ``text_changed`` is (url, old text, new text) for a URL on both sides whose link text
    changed (several texts for one URL are joined with " | ").
    """

    added: tuple[tuple[str, str], ...]
    removed: tuple[tuple[str, str], ...]
    text_changed: tuple[tuple[str, str, str], ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any link came, went or was renamed."""
        return bool(self.added or self.removed or self.text_changed)

    def to_json(self) -> dict[str, Any]:
        """The link diff as plain JSON-able data."""
        return {
            "added": [list(pair) for pair in self.added],
            "removed": [list(pair) for pair in self.removed],
            "text_changed": [list(item) for item in self.text_changed],
        }

    def to_text(self) -> str:
        """One line per link change, ``+``/``-``/``~`` first, for plain-text reports."""
        out = [f"+ {text} <{url}>" for url, text in self.added]
        out += [f"- {text} <{url}>" for url, text in self.removed]
        out += [f"~ {old} -> {new} <{url}>" for url, old, new in self.text_changed]
        return "\n".join(out)

    def to_html(self) -> str:
        """Lists of added, removed and renamed links; text escaped, only http(s) clickable."""
        out = ['<div class="links-diff">']
        if self.added:
            out.append('<ul class="added">')
            out += [f"<li><ins>{html.escape(t)}</ins> {_link(u)}</li>" for u, t in self.added]
            out.append("</ul>")
        if self.removed:
            out.append('<ul class="removed">')
            out += [f"<li><del>{html.escape(t)}</del> {_link(u)}</li>" for u, t in self.removed]
            out.append("</ul>")
        if self.text_changed:
            out.append('<ul class="text-changed">')
            out += [
                f"<li><del>{html.escape(old)}</del> <ins>{html.escape(new)}</ins> {_link(u)}</li>"
                for u, old, new in self.text_changed
            ]
            out.append("</ul>")
        out.append("</div>")
        return "\n".join(out)


@dataclass(frozen=True, slots=True)
class LineOp:
    """One run of lines: kept (" "), added ("+") or removed ("-")."""

    op: str
    lines: tuple[str, ...]


# --------------------------------------------------------------------------------------
# Differs


def diff_text(before: str, after: str, *, timeout: float = DEFAULT_TIMEOUT) -> TextDiff:
    """Diff two texts of one block element per line: lines, then moves, then words.

    ``timeout`` bounds diff-match-patch's search over the whole call (0: no bound); a
    stretch it cuts short is redone exactly, so the result stays minimal.

    >>> diff = diff_text(
    ...     "Consular section\\nOpen 9:00 to 17:00.\\nClosed on holidays.",
    ...     "Consular section\\nOpen 9:00 to 16:00.\\nClosed on holidays.",
    ... )
    >>> [(s.op, s.text) for s in diff.lines[1].segments]
    [('equal', 'Open 9:00 to '), ('delete', '17'), ('insert', '16'), ('equal', ':00.')]
    >>> diff.stats.words_added, diff.stats.words_removed, diff.stats.hunks
    (1, 1, 1)
    >>> print(diff.unified(context=0), end="")
    --- a
    +++ b
    @@ -2,1 +2,1 @@
    -Open 9:00 to 17:00.
    +Open 9:00 to 16:00.
    >>> diff_text("a", "a").changed
    False
    """
    old_lines, new_lines = _split_lines(before), _split_lines(after)
    differ = _SequenceDiffer(timeout)
    script = _line_script(old_lines, new_lines, differ)
    lines, moves = _build_lines(script, old_lines, new_lines, differ)
    degenerate = differ.unresolved > 0 or _shares_symbols(script)
    if degenerate:
        logger.warning(
            "Diff of %d and %d lines stayed non-minimal after every fallback",
            len(old_lines),
            len(new_lines),
        )
    longer = max(sum(map(len, old_lines)), sum(map(len, new_lines)))  # without line breaks
    stats, added_text, removed_text = _measure(lines, longer)
    return TextDiff(
        lines=lines,
        moves=moves,
        stats=stats,
        added_text=added_text,
        removed_text=removed_text,
        degenerate=degenerate,
    )


def diff_links(before: Iterable[tuple[str, str]], after: Iterable[tuple[str, str]]) -> LinkDiff:
    """Compare two pages' outgoing links as sets of URLs, keeping each link's text.

    >>> diff = diff_links(
    ...     [("/visa", "Visas"), ("/news", "News")],
    ...     [("/visa", "Visas and permits"), ("/contact", "Contact")],
    ... )
    >>> diff.added, diff.removed, diff.text_changed
    ((('/contact', 'Contact'),), (('/news', 'News'),), (('/visa', 'Visas', 'Visas and permits'),))
    """
    old, new = _links_by_url(before), _links_by_url(after)
    return LinkDiff(
        added=tuple((url, text) for url, texts in new.items() if url not in old for text in texts),
        removed=tuple(
            (url, text) for url, texts in old.items() if url not in new for text in texts
        ),
        text_changed=tuple(
            (url, " | ".join(old[url]), " | ".join(texts))
            for url, texts in new.items()
            if url in old and set(old[url]) != set(texts)
        ),
    )


@dataclass(frozen=True, slots=True)
class ImageDiff(LinkDiff):
    """The set-diff of the content's images, shown beside its text diff.

    Images are compared by address without query string (cache-busters and resizing
    parameters change without the picture changing); ``added``/``removed`` hold (src,
    alt); ``text_changed`` (src, old alt, new alt). Addresses are shown, never loaded.
    """

    def to_text(self) -> str:
        """One line per image change, ``+``/``-``/``~`` first, for plain-text reports."""
        out = [f"+ [{alt or 'image'}] <{src}>" for src, alt in self.added]
        out += [f"- [{alt or 'image'}] <{src}>" for src, alt in self.removed]
        out += [f"~ [{old}] -> [{new}] <{src}>" for src, old, new in self.text_changed]
        return "\n".join(out)

    def to_html(self) -> str:
        """Lists of added, removed and re-described images (addresses, never <img>)."""
        return LinkDiff.to_html(self).replace('class="links-diff"', 'class="images-diff"', 1)


def diff_images(before: Iterable[Sequence[str]], after: Iterable[Sequence[str]]) -> ImageDiff:
    """Compare two versions' images as sets, by address without query string.

    >>> diff = diff_images(
    ...     [("https://x.gov/a.jpg?v=1", "The ambassador"), ("https://x.gov/map.png", "Map")],
    ...     [("https://x.gov/a.jpg?v=2", "The ambassador")],
    ... )
    >>> diff.removed, diff.added
    ((('https://x.gov/map.png', 'Map'),), ())
    """
    from monitor.detect.normalize import image_identity

    def by_identity(images: Iterable[Sequence[str]]) -> dict[str, tuple[str, list[str]]]:
        found: dict[str, tuple[str, list[str]]] = {}
        for image in images:
            src, alt = str(image[0]), str(image[1]) if len(image) > 1 else ""
            entry = found.setdefault(image_identity(src), (src, []))
            if alt not in entry[1]:
                entry[1].append(alt)
        return found

    old, new = by_identity(before), by_identity(after)
    return ImageDiff(
        added=tuple(
            (src, alt) for key, (src, alts) in new.items() if key not in old for alt in alts
        ),
        removed=tuple(
            (src, alt) for key, (src, alts) in old.items() if key not in new for alt in alts
        ),
        text_changed=tuple(
            (src, " | ".join(old[key][1]), " | ".join(alts))
            for key, (src, alts) in new.items()
            if key in old and set(old[key][1]) != set(alts)
        ),
    )


def line_ops(before: str, after: str) -> list[LineOp]:
    """The line-level edit script from ``before`` to ``after`` (no moves, no word detail).

    >>> [(op.op, op.lines) for op in line_ops("a\\nb\\nc", "a\\nB\\nc")]
    [(' ', ('a',)), ('-', ('b',)), ('+', ('B',)), (' ', ('c',))]
    """
    old_lines, new_lines = _split_lines(before), _split_lines(after)
    ops: list[LineOp] = []
    i = j = 0
    for op, symbols in _line_script(old_lines, new_lines, _SequenceDiffer(DEFAULT_TIMEOUT)):
        n = len(symbols)
        if op == EQUAL:
            ops.append(LineOp(" ", tuple(old_lines[i : i + n])))
            i, j = i + n, j + n
        elif op == DELETE:
            ops.append(LineOp("-", tuple(old_lines[i : i + n])))
            i += n
        else:
            ops.append(LineOp("+", tuple(new_lines[j : j + n])))
            j += n
    return ops


class VersionText(Protocol):
    """What a diff needs of a stored version (a ``Version`` row, a ``VersionView``)."""

    @property
    def title(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def links(self) -> Sequence[Sequence[str]]: ...
    @property
    def images(self) -> Sequence[Sequence[str]] | None: ...


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Everything that differs between two versions of a page."""

    text: TextDiff
    links: LinkDiff
    images: ImageDiff


def diff_versions(before: VersionText, after: VersionText) -> VersionDiff:
    """The diffs of two versions: their text with the title as its first line (as
    ``monitor diff``, the web pages, alerts and evidence bundles show it), their links and
    their images. The one way "diff two versions" is done."""
    return VersionDiff(
        text=diff_text(
            f"{before.title or ''}\n{before.text}", f"{after.title or ''}\n{after.text}"
        ),
        links=diff_links(
            [(link[0], link[1]) for link in before.links],
            [(link[0], link[1]) for link in after.links],
        ),
        images=diff_images(before.images or (), after.images or ()),
    )


# --------------------------------------------------------------------------------------
# Sequence diffs: one character per line or per word token


def _symbol(index: int) -> str:
    # Start past ASCII so that diff-match-patch's cleanup never mistakes a symbol for a line
    # break or a space; skip the surrogate block, which is not valid text.
    code = index + 0x100
    if code >= 0xD800:
        code += 0x800
    return chr(code)


def _encode(items: Sequence[str], table: dict[str, str]) -> str:
    for item in dict.fromkeys(items):
        if item not in table:
            table[item] = _symbol(len(table))
    return "".join(map(table.__getitem__, items))


def _shares_symbols(script: _Script) -> bool:
    """Whether a deletion and the insertion beside it share a symbol: a non-minimal diff.

    In a minimal diff they never do (matching the shared symbol would keep it), so this is
    the test for diff-match-patch's "delete everything, insert everything" answer.
    """
    deleted: list[str] = []
    inserted: list[str] = []
    for op, text in [*script, (EQUAL, "")]:
        if op == EQUAL:
            if deleted and inserted and not set("".join(deleted)).isdisjoint("".join(inserted)):
                return True
            deleted, inserted = [], []
        elif op == DELETE:
            deleted.append(text)
        else:
            inserted.append(text)
    return False


def _merge(script: _Script) -> _Script:
    merged: _Script = []
    for op, text in script:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def _unique_anchors(a: str, b: str, length: int = 1) -> list[tuple[int, int]]:
    """Starts of runs of ``length`` symbols found once on each side, kept in the same order.

    With ``length`` 1 these are patience diff's anchors: the longest chain of lines unique
    to each text that keep their order. Runs in the chain never overlap.
    """
    if length == 1:
        keys_a, keys_b = list(a), list(b)
    else:
        keys_a = [a[i : i + length] for i in range(len(a) - length + 1)]
        keys_b = [b[j : j + length] for j in range(len(b) - length + 1)]
    count_a, count_b = Counter(keys_a), Counter(keys_b)
    where_b = {key: j for j, key in enumerate(keys_b) if count_b[key] == 1}
    pairs = [
        (i, where_b[key]) for i, key in enumerate(keys_a) if count_a[key] == 1 and key in where_b
    ]
    # Longest increasing subsequence of the b positions (patience sorting).
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(pairs)
    for k, (_i, j) in enumerate(pairs):
        slot = bisect_left(tails, j)
        if slot == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[slot] = j
            tail_index[slot] = k
        previous[k] = tail_index[slot - 1] if slot else -1
    chain = []
    k = tail_index[-1] if tail_index else -1
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    chain.reverse()
    if length == 1:
        return chain
    kept: list[tuple[int, int]] = []
    for i, j in chain:
        if not kept or (i >= kept[-1][0] + length and j >= kept[-1][1] + length):
            kept.append((i, j))
    return kept


def _expand(reduced: _Script, a: str, b: str, kept_a: list[int], kept_b: list[int]) -> _Script:
    """A diff of ``a`` and ``b`` from the diff of their symbols found on both sides.

    ``kept_a`` and ``kept_b`` are the positions those symbols had; every other symbol can
    only be deleted or inserted, so the matches (and minimality) carry over unchanged.
    """
    out: _Script = []
    at_a = at_b = 0  # in a and b
    ra = rb = 0  # in the reduced strings
    for op, symbols in reduced:
        n = len(symbols)
        if op == EQUAL:
            for offset in range(n):
                i, j = kept_a[ra + offset], kept_b[rb + offset]
                out += [(DELETE, a[at_a:i]), (INSERT, b[at_b:j]), (EQUAL, a[i])]
                at_a, at_b = i + 1, j + 1
            ra, rb = ra + n, rb + n
        elif op == DELETE:
            ra += n
        else:
            rb += n
    out += [(DELETE, a[at_a:]), (INSERT, b[at_b:])]
    return _merge(out)


class _SequenceDiffer:
    """Minimal diffs of symbol strings (one symbol a line, or a word), fast on big inputs.

    Common ends are trimmed; symbols unique to each side anchor the rest into small gaps;
    symbols found on one side only are set aside; repeated content anchors on unique runs;
    what is left goes to diff-match-patch, whose answer is redone exactly when it comes
    back non-minimal. One instance serves one ``diff_text`` call: its deadlines cover it.
    """

    def __init__(self, timeout: float) -> None:
        # Myers' minimal diff, without diff-match-patch's half-match shortcut (which trades
        # minimality for speed on low-entropy input); the deadlines make it give up instead,
        # which shows as a deletion and insertion sharing symbols, and is then redone.
        self.dmp = diff_match_patch()
        self.dmp.Diff_Timeout = 0
        now = time.time()
        self.deadline = now + timeout if timeout > 0 else None
        exact_budget = max(timeout * _EXACT_BUDGET_FACTOR, _MIN_EXACT_BUDGET)
        self.exact_deadline = now + exact_budget if timeout > 0 else None
        self.unresolved = 0  # stretches left non-minimal: the diff is degenerate

    def diff(self, a: str, b: str) -> _Script:
        out: _Script = []
        self._diff(a, b, 0, out)
        return _merge(out)

    def _diff(self, a: str, b: str, depth: int, out: _Script) -> None:
        prefix = self.dmp.diff_commonPrefix(a, b)
        if prefix:
            out.append((EQUAL, a[:prefix]))
            a, b = a[prefix:], b[prefix:]
        suffix = self.dmp.diff_commonSuffix(a, b)
        tail = ""
        if suffix:
            tail = a[len(a) - suffix :]
            a, b = a[: len(a) - suffix], b[: len(b) - suffix]
        if not a or not b or set(a).isdisjoint(b):
            out += [(DELETE, a), (INSERT, b)]
        elif len(a) + len(b) <= _SMALL or depth >= _MAX_ANCHOR_DEPTH:
            out += self._dmp_diff(a, b, depth)
        else:
            self._diff_large(a, b, depth, out)
        if tail:
            out.append((EQUAL, tail))

    def _diff_large(self, a: str, b: str, depth: int, out: _Script) -> None:
        anchors = _unique_anchors(a, b)
        if anchors:
            self._around(anchors, 1, a, b, depth, out)
            return
        common = set(a).intersection(b)
        kept_a = [i for i, symbol in enumerate(a) if symbol in common]
        kept_b = [j for j, symbol in enumerate(b) if symbol in common]
        if len(kept_a) + len(kept_b) < 0.75 * (len(a) + len(b)):
            # Mostly rewritten: diff only the lines both sides have, far shorter.
            reduced: _Script = []
            self._diff(
                "".join(a[i] for i in kept_a), "".join(b[j] for j in kept_b), depth + 1, reduced
            )
            out += _expand(_merge(reduced), a, b, kept_a, kept_b)
            return
        if len(common) > 1:
            length = math.ceil(2 * math.log(len(a) + len(b)) / math.log(len(common)))
            if length <= _MAX_RUN_ANCHOR:
                anchors = _unique_anchors(a, b, length)
                if anchors:
                    self._around(anchors, length, a, b, depth, out)
                    return
        out += self._dmp_diff(a, b, depth)

    def _around(
        self, anchors: list[tuple[int, int]], length: int, a: str, b: str, depth: int, out: _Script
    ) -> None:
        start_a = start_b = 0
        for at_a, at_b in anchors:
            self._diff(a[start_a:at_a], b[start_b:at_b], depth + 1, out)
            out.append((EQUAL, a[at_a : at_a + length]))
            start_a, start_b = at_a + length, at_b + length
        self._diff(a[start_a:], b[start_b:], depth + 1, out)

    def _dmp_diff(self, a: str, b: str, depth: int) -> _Script:
        script: _Script = self.dmp.diff_main(a, b, False, self.deadline)
        if not _shares_symbols(script):
            return script
        # Cut short by the deadline: "delete all, insert all" for this stretch. Redo it
        # exactly, in pieces if it is big.
        if len(a) + len(b) <= _EXACT_RETRY_LIMIT:
            logger.debug("Non-minimal diff of %d/%d symbols; redoing it exactly", len(a), len(b))
            return self._exact(a, b)
        logger.debug("Non-minimal diff of %d/%d symbols; redoing it in pieces", len(a), len(b))
        pieces = math.ceil(2 * (len(a) + len(b)) / _EXACT_RETRY_LIMIT)
        out: _Script = []
        for piece in range(pieces):
            self._diff(
                a[len(a) * piece // pieces : len(a) * (piece + 1) // pieces],
                b[len(b) * piece // pieces : len(b) * (piece + 1) // pieces],
                max(depth + 1, _MAX_ANCHOR_DEPTH),  # straight to dmp: each piece is small
                out,
            )
        return self._repair_seams(_merge(out))

    def _exact(self, a: str, b: str) -> _Script:
        script: _Script = self.dmp.diff_main(a, b, False, self.exact_deadline)
        if _shares_symbols(script):
            self.unresolved += 1
        return script

    def _repair_seams(self, script: _Script) -> _Script:
        """Redo the changes where two pieces meet, if they came out non-minimal."""
        out: _Script = []
        deleted: list[str] = []
        inserted: list[str] = []
        for op, text in [*script, (EQUAL, "")]:
            if op == EQUAL:
                old, new = "".join(deleted), "".join(inserted)
                if old and new and not set(old).isdisjoint(new):
                    if len(old) + len(new) <= _EXACT_RETRY_LIMIT:
                        out += self._exact(old, new)
                    else:
                        self.unresolved += 1
                        out += [(DELETE, old), (INSERT, new)]
                else:
                    out += [(DELETE, old), (INSERT, new)]
                out.append((EQUAL, text))
                deleted, inserted = [], []
            elif op == DELETE:
                deleted.append(text)
            else:
                inserted.append(text)
        return _merge(out)


# --------------------------------------------------------------------------------------
# Lines, moves, words


def _split_lines(text: str) -> list[str]:
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def _line_script(old_lines: list[str], new_lines: list[str], differ: _SequenceDiffer) -> _Script:
    table: dict[str, str] = {}
    return differ.diff(_encode(old_lines, table), _encode(new_lines, table))


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    total = len(a) + len(b)
    return 2 * len(a & b) / total if total else 0.0


def _word_bag(line: str) -> frozenset[str]:
    return frozenset(_NON_SPACE_TOKEN_RE.findall(line))


def _pair_lines(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Pairs (old index, new index), in order, of lines similar enough to show word edits."""
    m, n = len(old), len(new)
    if not m or not n:
        return []
    old_bags = [_word_bag(line) for line in old]
    new_bags = [_word_bag(line) for line in new]
    if m * n > _PAIRING_DP_LIMIT:
        # Greedy in order, looking a few lines ahead: good enough for big rewritten blocks.
        pairs = []
        j = 0
        for i in range(m):
            window = range(j, min(n, j + _PAIRING_WINDOW))
            scored = [(_similarity(old_bags[i], new_bags[k]), k) for k in window]
            if scored:
                best, k = max(scored, key=lambda item: (item[0], -item[1]))
                if best >= PAIR_SIMILARITY:
                    pairs.append((i, k))
                    j = k + 1
        return pairs
    # Order-preserving matching with the highest total similarity (an LCS with weights).
    sim = [[_similarity(old_bags[i], new_bags[j]) for j in range(n)] for i in range(m)]
    score = [[0.0] * (n + 1) for _ in range(m + 1)]
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            best = max(score[i - 1][j], score[i][j - 1])
            s = sim[i - 1][j - 1]
            if s >= PAIR_SIMILARITY:
                best = max(best, score[i - 1][j - 1] + s)
            score[i][j] = best
    pairs = []
    i, j = m, n
    while i and j:
        s = sim[i - 1][j - 1]
        if s >= PAIR_SIMILARITY and score[i][j] == score[i - 1][j - 1] + s:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif score[i][j] == score[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _word_segments(old: str, new: str, differ: _SequenceDiffer) -> tuple[Segment, ...]:
    old_tokens, new_tokens = _TOKEN_RE.findall(old), _TOKEN_RE.findall(new)
    table: dict[str, str] = {}
    script = differ.diff(_encode(old_tokens, table), _encode(new_tokens, table))
    # Semantic cleanup in token units: an edit never splits a word.
    differ.dmp.diff_cleanupSemantic(script)
    token_of = {symbol: token for token, symbol in table.items()}
    names = {EQUAL: "equal", INSERT: "insert", DELETE: "delete"}
    return tuple(
        Segment(names[op], "".join(token_of[symbol] for symbol in symbols))
        for op, symbols in script
        if symbols
    )


def _find_moves(
    old_lines: list[str], new_lines: list[str], deleted: list[int], inserted: list[int]
) -> list[list[tuple[int, int]]]:
    """Runs of (old index, new index) of lines deleted in one place, inserted in another.

    A run starts on a line found once in each text (a line repeated all over the page,
    like a table row, has no one place to move from) and goes on through identical lines
    that follow on both sides; runs shorter than ``MIN_MOVE_CHARS`` are not moves.
    """
    old_count, new_count = Counter(old_lines), Counter(new_lines)
    available: dict[str, list[int]] = {}
    for i in deleted:
        if old_lines[i].strip():
            available.setdefault(old_lines[i], []).append(i)
    runs: list[list[tuple[int, int]]] = []
    for j in inserted:
        text = new_lines[j]
        candidates = available.get(text)
        if not candidates:
            continue
        last = runs[-1][-1] if runs else None
        if last is not None and last[1] == j - 1 and last[0] + 1 in candidates:
            candidates.remove(last[0] + 1)
            runs[-1].append((last[0] + 1, j))
        elif old_count[text] == new_count[text] == 1:
            runs.append([(candidates.pop(0), j)])
    return [run for run in runs if sum(len(old_lines[i].strip()) for i, _ in run) >= MIN_MOVE_CHARS]


def _build_lines(
    script: _Script, old_lines: list[str], new_lines: list[str], differ: _SequenceDiffer
) -> tuple[tuple[DiffLine, ...], tuple[Move, ...]]:
    # Spans of the line script: (old start, old end, new start, new end, changed?).
    spans: list[tuple[int, int, int, int, bool]] = []
    i = j = 0
    for op, symbols in script:
        n = len(symbols)
        if op == EQUAL:
            spans.append((i, i + n, j, j + n, False))
            i, j = i + n, j + n
            continue
        if not spans or not spans[-1][4]:
            spans.append((i, i, j, j, True))
        i1, i2, j1, j2, _ = spans[-1]
        if op == DELETE:
            i += n
        else:
            j += n
        spans[-1] = (i1, i, j1, j, True)

    deleted = [k for i1, i2, _, _, changed in spans if changed for k in range(i1, i2)]
    inserted = [k for _, _, j1, j2, changed in spans if changed for k in range(j1, j2)]
    moves = []
    moved_to: dict[int, int] = {}
    moved_from: dict[int, int] = {}
    for run in _find_moves(old_lines, new_lines, deleted, inserted):
        moves.append(Move(old_start=run[0][0] + 1, new_start=run[0][1] + 1, length=len(run)))
        for old, new in run:
            moved_to[old] = new
            moved_from[new] = old
    one_sided = _OneSided(old_lines, new_lines, moved_to, moved_from)

    rows: list[DiffLine] = []
    for i1, i2, j1, j2, changed in spans:
        if not changed:
            rows += [
                DiffLine("equal", i1 + k + 1, j1 + k + 1, _whole("equal", old_lines[i1 + k]))
                for k in range(i2 - i1)
            ]
            continue
        old_side = [k for k in range(i1, i2) if k not in moved_to]
        new_side = [k for k in range(j1, j2) if k not in moved_from]
        old_next, new_next = i1, j1
        pairs = _pair_lines([old_lines[k] for k in old_side], [new_lines[k] for k in new_side])
        for a, b in pairs:
            old, new = old_side[a], new_side[b]
            rows += one_sided.lines(range(old_next, old), range(new_next, new))
            segments = _word_segments(old_lines[old], new_lines[new], differ)
            rows.append(DiffLine("change", old + 1, new + 1, segments))
            old_next, new_next = old + 1, new + 1
        rows += one_sided.lines(range(old_next, i2), range(new_next, j2))
    return tuple(rows), tuple(moves)


@dataclass(frozen=True, slots=True)
class _OneSided:
    """Makes the lines found on one side only: deleted, inserted, or moved out or in."""

    old_lines: list[str]
    new_lines: list[str]
    moved_to: dict[int, int]
    moved_from: dict[int, int]

    def lines(self, old: range, new: range) -> list[DiffLine]:
        out = []
        for k in old:
            text = self.old_lines[k]
            if k in self.moved_to:
                out.append(
                    DiffLine("moved_out", k + 1, None, _whole("equal", text), self.moved_to[k] + 1)
                )
            else:
                out.append(DiffLine("delete", k + 1, None, _whole("delete", text)))
        for k in new:
            text = self.new_lines[k]
            if k in self.moved_from:
                out.append(
                    DiffLine("moved_in", None, k + 1, _whole("equal", text), self.moved_from[k] + 1)
                )
            else:
                out.append(DiffLine("insert", None, k + 1, _whole("insert", text)))
        return out


def _whole(op: str, text: str) -> tuple[Segment, ...]:
    return (Segment(op, text),) if text else ()


def _measure(lines: tuple[DiffLine, ...], longer: int) -> tuple[DiffStats, str, str]:
    """Statistics, and the added and removed runs, of a merged edit script."""
    added_runs, removed_runs = _runs(lines, "insert"), _runs(lines, "delete")
    chars_added = chars_removed = words_added = words_removed = 0
    lines_added = lines_removed = moved = hunks = 0
    in_hunk = False
    for line in lines:
        if line.op == "equal":
            in_hunk = False
            continue
        if not in_hunk:
            hunks += 1
            in_hunk = True
        if line.op == "moved_in":
            moved += 1
        if line.op in ("moved_in", "moved_out"):
            continue
        lines_added += line.op in ("insert", "change")
        lines_removed += line.op in ("delete", "change")
        for segment in line.segments:
            if segment.op == "insert":
                chars_added += len(segment.text)
                words_added += len(_WORD_RE.findall(segment.text))
            elif segment.op == "delete":
                chars_removed += len(segment.text)
                words_removed += len(_WORD_RE.findall(segment.text))
    longest = max((len(run) - run.count("\n") for run in added_runs + removed_runs), default=0)
    stats = DiffStats(
        chars_added=chars_added,
        chars_removed=chars_removed,
        words_added=words_added,
        words_removed=words_removed,
        ratio_changed=min(1.0, (chars_added + chars_removed) / longer) if longer else 0.0,
        hunks=hunks,
        lines_added=lines_added,
        lines_removed=lines_removed,
        moved_lines=moved,
        longest_change_chars=longest,
    )
    return stats, "\n".join(added_runs), "\n".join(removed_runs)


def _runs(lines: tuple[DiffLine, ...], op: str) -> list[str]:
    """Contiguous inserted (or deleted) text, read along the new (or old) side.

    A run goes on across a line break while the lines on that side are changed at their
    end and start; the break is kept in the run as "\\n".
    """
    side = "new_no" if op == "insert" else "old_no"
    runs: list[str] = []
    current: list[str] = []
    for line in lines:
        if getattr(line, side) is None:
            continue
        changed = line.op not in ("equal", "moved_in", "moved_out")
        pieces = [s for s in line.segments if s.op in ("equal", op)] if changed else []
        if not pieces or pieces[0].op != op:
            if current:
                runs.append("".join(current))
            current = []
        elif current:
            current.append("\n")
        for piece in pieces:
            if piece.op == op:
                current.append(piece.text)
            elif piece.text:
                if current:
                    runs.append("".join(current))
                current = []
    if current:
        runs.append("".join(current))
    return [run for run in runs if run.strip()]


# --------------------------------------------------------------------------------------
# Rendering


def _hunk_ranges(rows: Sequence[DiffLine], context: int | None) -> list[tuple[int, int]]:
    if context is None:
        return [(0, len(rows))] if rows else []
    ranges: list[tuple[int, int]] = []
    for index, line in enumerate(rows):
        if line.op == "equal":
            continue
        start, end = max(0, index - context), min(len(rows), index + context + 1)
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return ranges


def _with_gaps(
    rows: tuple[DiffLine, ...], context: int | None
) -> Iterator[tuple[int, tuple[DiffLine, ...]]]:
    """(number of unchanged lines skipped before, lines to show) for each stretch shown."""
    shown = 0
    for start, end in _hunk_ranges(rows, context):
        yield start - shown, rows[start:end]
        shown = end
    if len(rows) > shown:
        yield len(rows) - shown, ()


def _unchanged(count: int) -> str:
    return f"{count} unchanged line{'s' if count != 1 else ''}"


def _segments_html(segments: Iterable[Segment]) -> str:
    out = []
    for segment in segments:
        text = html.escape(segment.text)
        if segment.op == "insert":
            out.append(f"<ins>{text}</ins>")
        elif segment.op == "delete":
            out.append(f"<del>{text}</del>")
        else:
            out.append(text)
    return "".join(out)


def _inline_line(line: DiffLine) -> str:
    attrs = ""
    if line.old_no is not None:
        attrs += f' data-old="{line.old_no}"'
    if line.new_no is not None:
        attrs += f' data-new="{line.new_no}"'
    kind = line.op
    if line.op == "moved_out":
        kind = "moved moved-out"
        attrs += f' data-moved-to="{line.counterpart}" title="Moved to line {line.counterpart}"'
    elif line.op == "moved_in":
        kind = "moved moved-in"
        attrs += f' data-moved-from="{line.counterpart}" title="Moved from line {line.counterpart}"'
    return f'<div class="line {kind}"{attrs}>{_segments_html(line.segments)}</div>'


def _side_by_side_rows(
    lines: tuple[DiffLine, ...],
) -> Iterator[tuple[DiffLine | None, DiffLine | None]]:
    """Table rows: kept and changed lines on both sides; one-sided runs zipped together."""
    old_only: list[DiffLine] = []
    new_only: list[DiffLine] = []
    for line in lines:
        if line.old_no is not None and line.new_no is not None:
            yield from zip_longest(old_only, new_only)
            old_only, new_only = [], []
            yield line, line
        elif line.old_no is not None:
            old_only.append(line)
        else:
            new_only.append(line)
    yield from zip_longest(old_only, new_only)


def _row_kind(old: DiffLine | None, new: DiffLine | None) -> str:
    if old is not None and old is new:
        return old.op
    present = [line for line in (old, new) if line is not None]
    if all(line.op in ("moved_out", "moved_in") for line in present):
        return "moved"
    return present[0].op if len(present) == 1 else "replace"


def _cell(line: DiffLine | None, side: str) -> str:
    if line is None:
        return f'<td class="num"></td><td class="{side} empty"></td>'
    number = line.old_no if side == "old" else line.new_no
    drop = "insert" if side == "old" else "delete"
    segments = [s for s in line.segments if s.op != drop]
    classes, title = side, ""
    if line.op in ("moved_out", "moved_in"):
        classes += " moved"
        title = f' title="Moved {"to" if side == "old" else "from"} line {line.counterpart}"'
    elif line.op != "equal":
        classes += f" {line.op}"
    return (
        f'<td class="num">{number}</td><td class="{classes}"{title}>{_segments_html(segments)}</td>'
    )


def _links_by_url(links: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each URL's distinct link texts (whitespace collapsed), in page order."""
    texts: dict[str, list[str]] = {}
    for url, text in links:
        text = " ".join(text.split())
        known = texts.setdefault(url, [])
        if text not in known:
            known.append(text)
    for known in texts.values():
        if len(known) > 1 and "" in known:
            known.remove("")
    return texts


def _link(url: str) -> str:
    escaped = html.escape(url)
    if url.strip().lower().startswith(("http://", "https://")):
        return f'<a href="{escaped}" rel="nofollow noopener noreferrer">{escaped}</a>'
    return f'<code class="url">{escaped}</code>'
