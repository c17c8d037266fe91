"""Diffs between two versions' texts, built on diff-match-patch.

Texts have one block element per line, so the diff runs in line mode (each line mapped
to one character), which is fast and never degrades into "delete all, insert all".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

logger = logging.getLogger(__name__)

EQUAL, INSERT, DELETE = (
    diff_match_patch.DIFF_EQUAL,
    diff_match_patch.DIFF_INSERT,
    diff_match_patch.DIFF_DELETE,
)


@dataclass(frozen=True, slots=True)
class LineOp:
    """One run of lines: kept (" "), added ("+") or removed ("-")."""

    op: str
    lines: tuple[str, ...]


def line_ops(before: str, after: str) -> list[LineOp]:
    """The line-level edit script from ``before`` to ``after``.

    >>> [(op.op, op.lines) for op in line_ops("a\\nb\\nc", "a\\nB\\nc")]
    [(' ', ('a',)), ('-', ('b',)), ('+', ('B',)), (' ', ('c',))]
    """
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0  # line mode is fast; never trade correctness for time here
    a = before + "\n" if before and not before.endswith("\n") else before
    b = after + "\n" if after and not after.endswith("\n") else after
    chars_a, chars_b, line_array = dmp.diff_linesToChars(a, b)
    diffs = dmp.diff_main(chars_a, chars_b, False)
    dmp.diff_charsToLines(diffs, line_array)
    ops: list[LineOp] = []
    for kind, text in diffs:
        lines = tuple(text.split("\n")[:-1]) if text.endswith("\n") else tuple(text.split("\n"))
        symbol = {EQUAL: " ", INSERT: "+", DELETE: "-"}[kind]
        if lines:
            ops.append(LineOp(symbol, lines))
    return ops


def unified(
    before: str, after: str, *, context: int = 3, labels: tuple[str, str] = ("a", "b")
) -> str:
    """A unified diff of two texts, with ``context`` unchanged lines around each hunk."""
    ops = line_ops(before, after)
    rows: list[tuple[str, str, int, int]] = []  # (op, line, line number in a, in b)
    line_a = line_b = 0
    for op in ops:
        for line in op.lines:
            if op.op == " ":
                line_a += 1
                line_b += 1
            elif op.op == "-":
                line_a += 1
            else:
                line_b += 1
            rows.append((op.op, line, line_a, line_b))
    changed = [index for index, row in enumerate(rows) if row[0] != " "]
    if not changed:
        return ""
    hunks: list[tuple[int, int]] = []
    for index in changed:
        start, end = max(0, index - context), min(len(rows), index + context + 1)
        if hunks and start <= hunks[-1][1]:
            hunks[-1] = (hunks[-1][0], max(end, hunks[-1][1]))
        else:
            hunks.append((start, end))
    out = [f"--- {labels[0]}", f"+++ {labels[1]}"]
    for start, end in hunks:
        chunk = rows[start:end]
        a_lines = [row for row in chunk if row[0] != "+"]
        b_lines = [row for row in chunk if row[0] != "-"]
        a_start = a_lines[0][2] if a_lines else chunk[0][2]
        b_start = b_lines[0][3] if b_lines else chunk[0][3]
        out.append(f"@@ -{a_start},{len(a_lines)} +{b_start},{len(b_lines)} @@")
        out.extend(f"{op}{line}" for op, line, _a, _b in chunk)
    return "\n".join(out) + "\n"
