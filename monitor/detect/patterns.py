"""People's regexes (``ignore``, ``follow.pattern``), run with a time limit.

A pattern such as ``(a|aa)+$`` backtracks for ever on a line of a hundred ``a``s: with
Python's ``re`` it hung ``monitor check`` (and would have blocked the daemon). These
patterns run on the ``regex`` module, whose matching takes a timeout:

* at load, :func:`check` compiles a pattern and tries it on a few short lines built to
  make backtracking explode; a pattern that runs past its limit there is a config
  problem, named with its key;
* on a page, :class:`TimedPatterns` gives all of a target's patterns one time budget;
  a pattern that exhausts it raises :class:`PatternTimeoutError` naming the pattern, and
  the capture is recorded as the target's problem instead of hanging the check.

The ``regex`` module's default (``VERSION0``) syntax is that of ``re``.
"""

from __future__ import annotations

import functools
import logging
import time

import regex

from monitor.exceptions import PatternTimeoutError

logger = logging.getLogger(__name__)

#: Seconds (of the process's CPU: the regex module's clock) all of one target's ignore
#: patterns may take on one page, together.
PAGE_BUDGET = 1.0
#: Seconds a pattern may take on one probe line at load (tried again, longer, before a
#: pattern is called catastrophic: a busy machine is not a bad pattern).
PROBE_TIMEOUT = 0.05
PROBE_RETRY_TIMEOUT = 0.5
#: Short lines on which catastrophic backtracking shows at once: runs of one kind of
#: character (letters, digits, spaces, words) that end with a character that fails.
PROBES = tuple(
    run * count + end
    for run, count in (("a", 30), ("1", 30), (" ", 30), ("a ", 15), ("ab", 15), ("a1", 15))
    for end in ("!", "")
)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """``pattern`` compiled once (``re`` syntax); raises ``regex.error`` if invalid."""
    return regex.compile(pattern, regex.VERSION0)


def check(pattern: str) -> str:
    """``pattern`` if it compiles and runs fast on the probe lines; else ValueError with
    what is wrong, for the config's error message."""
    try:
        compiled = compile_pattern(pattern)
    except (regex.error, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
    for probe in PROBES:
        for limit in (PROBE_TIMEOUT, PROBE_RETRY_TIMEOUT):
            try:
                compiled.search(probe, timeout=limit)
                break
            except TimeoutError:
                continue
        else:
            raise ValueError(
                f"{pattern!r} is a catastrophic regular expression: it ran longer than "
                f"{PROBE_RETRY_TIMEOUT:g} s on a line of {len(probe)} characters "
                f"({probe[:12]!r}...); rewrite it without nested repetition such as (a+)+ "
                "or (a|aa)+"
            )
    return pattern


class TimedPatterns:
    """A target's patterns for one page: all of them share one time budget."""

    def __init__(self, patterns: tuple[str, ...], budget: float = PAGE_BUDGET) -> None:
        self.patterns = [(source, compile_pattern(source)) for source in patterns]
        self.budget = budget
        self.deadline: float | None = None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def _remaining(self) -> float:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.budget
        return max(self.deadline - now, 0.001)

    def sub(self, line: str) -> str:
        """``line`` with every pattern's matches removed."""
        for source, compiled in self.patterns:
            try:
                line = compiled.sub("", line, timeout=self._remaining())
            except TimeoutError:
                raise self._timeout(source) from None
        return line

    def search(self, text: str) -> bool:
        """Whether any pattern is found in ``text``."""
        for source, compiled in self.patterns:
            try:
                if compiled.search(text, timeout=self._remaining()) is not None:
                    return True
            except TimeoutError:
                raise self._timeout(source) from None
        return False

    def _timeout(self, source: str) -> PatternTimeoutError:
        return PatternTimeoutError(
            f"the regex {source!r} ran longer than {self.budget:g} s on this page "
            "(catastrophic backtracking); rewrite it in the config",
            pattern=source,
        )
