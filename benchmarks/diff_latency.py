"""Benchmark: latency of ``monitor.detect.differ.diff_text`` and whether its result stays minimal.

Builds pages of realistic sentence lines (one block element per line, 100-300 characters,
a few repeated short lines such as "Share this page"), applies N scattered word edits
(replace, insert or delete one word, never two at the same place) with a fixed seed, and
times ``diff_text`` (median of several runs). Each result is checked against the edits
actually made: characters added and removed by the diff over the true number (1.00 is
exact; semantic cleanup merging two nearby edits pushes it a little above 1), and the
``degenerate`` flag. For comparison it runs, once each, plain diff-match-patch on the whole
text (character mode, then line mode) with its default 1 s timeout, and, if installed, the
``fast-diff-match-patch`` C++ binding in character mode.

Run from the repository root::

    python benchmarks/diff_latency.py              # the four cases and the baselines
    python benchmarks/diff_latency.py --no-baselines --runs 9
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from diff_match_patch import diff_match_patch

from monitor.detect.differ import diff_text

GOALS_MS = {(100_000, 20): 20.0, (1_000_000, 3000): 1000.0}
CASES = [(100_000, 20), (100_000, 3000), (1_000_000, 20), (1_000_000, 3000)]
REPEATED_LINES = ["Share this page", "Back to top", "Print", "Read more"]


@dataclass(frozen=True)
class EditedPage:
    """A page, the same page after scattered word edits, and what the edits changed."""

    before: str
    after: str
    chars_removed: int
    chars_added: int


def make_page(size: int, rng: random.Random) -> list[list[str]]:
    """Lines of words (sentences of 100-300 characters) adding up to about ``size`` chars."""
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 11))) for _ in range(6000)
    ]
    cumulative = list(accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))  # Zipf
    lines: list[list[str]] = []
    total = 0
    while total < size:
        if lines and rng.random() < 0.03:
            words = rng.choice(REPEATED_LINES).split()
        else:
            target = rng.randint(100, 300)
            words = []
            length = -1
            while length < target:
                word = rng.choices(vocabulary, cum_weights=cumulative)[0]
                words.append(word)
                length += len(word) + 1
            words[0] = words[0].capitalize()
            words[-1] += "."
        lines.append(words)
        total += len(" ".join(words)) + 1
    return lines


def edit_page(lines: list[list[str]], edits: int, rng: random.Random) -> EditedPage:
    """The page before and after ``edits`` word edits at distinct places."""
    before = "\n".join(" ".join(words) for words in lines)
    places = [
        (i, k)
        for i, words in enumerate(lines)
        if " ".join(words) not in REPEATED_LINES
        for k in range(len(words))
    ]
    chosen = sorted(rng.sample(places, edits), reverse=True)  # right to left: indices hold
    edited = [list(words) for words in lines]
    removed = added = 0
    for i, k in chosen:
        words = edited[i]
        kind = rng.choice(("replace", "insert", "delete")) if len(words) > 1 else "insert"
        new_word = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 9)))
        if kind == "replace":
            removed += len(words[k])
            added += len(new_word)
            words[k] = new_word
        elif kind == "insert":
            words.insert(k, new_word)
            added += len(new_word) + 1  # and one space
        else:
            removed += len(words[k]) + 1
            del words[k]
    after = "\n".join(" ".join(words) for words in edited)
    return EditedPage(before, after, removed, added)


def median_ms(function: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls, in milliseconds (after one warm-up call)."""
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def dmp_changed_chars(page: EditedPage, line_mode: bool) -> tuple[float, int]:
    """Plain diff-match-patch, default 1 s timeout: (ms, characters inserted + deleted)."""
    dmp = diff_match_patch()
    start = time.perf_counter()
    if line_mode:
        a, b, table = dmp.diff_linesToChars(page.before, page.after)
        diffs = dmp.diff_main(a, b, False)
        dmp.diff_charsToLines(diffs, table)
    else:
        diffs = dmp.diff_main(page.before, page.after)
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed, sum(len(text) for op, text in diffs if op != dmp.DIFF_EQUAL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--no-baselines", action="store_true", help="skip the plain-dmp runs")
    args = parser.parse_args()

    try:
        import fast_diff_match_patch as fast  # optional C++ binding, for comparison only
    except ImportError:
        fast = None

    print(f"Python {platform.python_version()} on {platform.machine()}, seed {args.seed}")
    print(
        f"median of {args.runs} runs; 'found/true' = chars added+removed by the diff / by the "
        "edits; '+views' adds unified, inline and side-by-side HTML (context 3) and JSON"
    )
    header = (
        f"{'page':>7} {'edits':>6} {'lines':>6} {'diff_text ms':>13} {'+views ms':>10} "
        f"{'found/true':>11} {'degenerate':>10}  goal"
    )
    print(header)
    print("-" * len(header))
    pages: dict[tuple[int, int], EditedPage] = {}
    ok = True
    for size, edits in CASES:
        rng = random.Random(args.seed + size + edits)
        page = edit_page(make_page(size, rng), edits, rng)
        pages[size, edits] = page
        result = diff_text(page.before, page.after)
        found = result.stats.chars_added + result.stats.chars_removed
        true = page.chars_added + page.chars_removed

        def diff_only(page: EditedPage = page) -> None:
            diff_text(page.before, page.after)

        ms = median_ms(diff_only, args.runs)

        def with_views(page: EditedPage = page) -> None:
            diff = diff_text(page.before, page.after)
            diff.unified()
            diff.inline_html(context=3)
            diff.side_by_side_html(context=3)
            diff.to_json()

        views_ms = median_ms(with_views, max(3, args.runs // 2))
        goal = GOALS_MS.get((size, edits))
        verdict = ""
        if goal is not None:
            met = ms < goal
            ok &= met
            verdict = f"< {goal:.0f} ms: {'met' if met else 'MISSED'}"
        minimal = 0.5 <= found / true <= 1.5 and not result.degenerate
        ok &= minimal
        print(
            f"{size // 1000:>5}KB {edits:>6} {page.before.count(chr(10)) + 1:>6} {ms:>13.1f} "
            f"{views_ms:>10.1f} {found:>6}/{true:<5}{'' if minimal else '!':1}"
            f"{result.degenerate!s:>10}  {verdict}"
        )

    if not args.no_baselines:
        print()
        print("Baselines, one run each, whole text at once (chars changed: true count in ())")
        for size, edits in CASES:
            page = pages[size, edits]
            true = page.chars_added + page.chars_removed
            cells = []
            for label, line_mode in (("dmp chars", False), ("dmp lines", True)):
                elapsed, changed = dmp_changed_chars(page, line_mode)
                cells.append(f"{label} {elapsed:7.0f} ms {changed:>8}")
            if fast is not None:
                start = time.perf_counter()
                counts = fast.diff(page.before, page.after, timelimit=1.0, checklines=False)
                elapsed = (time.perf_counter() - start) * 1000
                changed = sum(n for op, n in counts if op != "=")
                cells.append(f"fast-dmp chars {elapsed:6.0f} ms {changed:>8}")
            print(f"{size // 1000:>5}KB {edits:>5} ({true:>6})  " + " | ".join(cells))
        if fast is None:
            print("fast-diff-match-patch is not installed: no accelerated baseline")
    print()
    print("all goals met, all results minimal" if ok else "SOME GOAL MISSED OR RESULT NOT MINIMAL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
