"""What ``monitor check`` shows while it works: each event as it is found, and on a
terminal a progress line (pages done of planned, rate, time left, failures).

The progress line is rich's :class:`~rich.progress.Progress` (it redraws one line and
keeps printed events above it); colours come from rich too, which leaves them out when
the output is not a terminal or ``NO_COLOR`` is set. Not on a terminal (cron, a pipe, a
log file) the events are plain lines, with a plain progress line every
:data:`PLAIN_EVERY` seconds.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from monitor.vocab import Outcome, Purpose

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from monitor.records import Observation, RecordedCapture
    from monitor.storage.store import Store

logger = logging.getLogger(__name__)

#: Seconds between plain progress lines when the output is not a terminal.
PLAIN_EVERY = 30.0

#: Outcomes that count as a failed page (a removal is an answer, not a failure).
FAILED = (Outcome.ERROR, Outcome.LOW)

#: What a page's outcome means, in the words ``monitor check -l`` prints.
OUTCOME_WORDS = {
    Outcome.NEW: "new version",
    Outcome.UNCHANGED: "unchanged",
    Outcome.FLIPFLOP: "unchanged (back to an earlier version)",
    Outcome.ERROR: "failed",
    Outcome.LOW: "blocked or unusable answer",
    Outcome.SUSPECT: "not found, checked again",
    Outcome.REMOVED: "removed",
    Outcome.GONE: "still removed",
}

#: The style of each event kind (rich style names; see also cli._common.COLOURS).
STYLES = {
    "changed": "cyan",
    "added": "magenta",
    "removed": "yellow",
    "restored": "green",
    "recovered": "green",
    "error": "red",
}


def outcome_words(item: RecordedCapture) -> str:
    """A page's outcome for people: "first capture", "new version", "still removed"..."""
    if item.outcome == Outcome.NEW and item.version_seq == 1:
        return "first capture"
    return OUTCOME_WORDS.get(Outcome(item.outcome), str(item.outcome))


class CheckReporter:
    """Receives a check's plan and recorded captures; prints events and progress."""

    def __init__(self, store: Store, console: Console) -> None:
        self.store = store
        self.console = console
        self.planned = 0
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last_plain = self.started
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        # Not a terminal and no colour: lines are written as plain text.
        self._plain = not console.is_terminal and console.color_system is None
        if console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("checking"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[failures]}"),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task("check", total=None, rate="", failures="")
            self._progress.start()

    # The check's hooks ------------------------------------------------------------------

    def planned_pages(self, count: int) -> None:
        self.planned += count
        self._update()

    def recorded(self, item: RecordedCapture, _observation: Observation) -> None:
        if item.event:
            self._event(item)
        if item.purpose != Purpose.CHECK or item.outcome in (Outcome.PART, Outcome.PROBE):
            return
        self.done += 1
        if item.outcome in FAILED:
            self.failed += 1
        self._update()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    # ------------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def progress_text(self) -> str:
        """The plain progress line: pages done of planned, rate, time left, failures."""
        rate = self.rate
        left = (self.planned - self.done) / rate if rate > 0 and self.planned else None
        return (
            f"checked {self.done}/{max(self.planned, self.done)} pages ({rate:.1f}/s"
            + (f", about {left:.0f} s left" if left is not None else "")
            + f", {self.failed} failed)"
        )

    def _update(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                total=max(self.planned, self.done) or None,
                completed=self.done,
                rate=f"{self.rate:.1f} pages/s",
                failures=f"{self.failed} failed" if self.failed else "",
            )
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY:
            self._last_plain = now
            self._print(self.progress_text())

    def _event(self, item: RecordedCapture) -> None:
        from rich.text import Text

        kind = item.event or ""
        line = Text()
        line.append(f"{kind:9}", style=STYLES.get(kind, "bold"))
        line.append(f" {item.significance or 0:.2f}  ")
        line.append(item.key.target, style="bold")
        line.append(f"  {item.key.url}")
        if not item.alert:
            line.append("  (below min_significance: not alerted)", style="dim")
        self._print(line)
        detail = self._one_line_diff(item) if kind == "changed" else None
        self._print(Text("          " + (detail or item.summary or "")))

    def _one_line_diff(self, item: RecordedCapture) -> str | None:
        """The first changed line of a change, words marked [-removed-]{+added+}."""
        if not item.version_seq or item.version_seq < 2:
            return None
        try:
            from monitor.detect.differ import diff_versions

            wanted = (item.version_seq - 1, item.version_seq)
            versions = {v.seq: v for v in self.store.versions(item.page_id, wanted)}
            before = versions.get(item.version_seq - 1)
            after = versions.get(item.version_seq)
            if before is None or after is None:
                return None
            lines = diff_versions(before, after).text.word_text(excerpt=60)
        except Exception:  # the diff is a courtesy; the event is recorded either way
            logger.exception("could not diff %s", item.key.url)
            return None
        changed = [line for line in lines if "[-" in line or "{+" in line]
        first = (changed or lines or [""])[0].strip()
        return first[:200] + ("…" if len(first) > 200 else "") if first else None

    def _print(self, text: Any) -> None:
        if self._plain:
            # Output to a file or a pipe without colour: plain lines, written as they are
            # (rich's rendering costs milliseconds a line, in the check's writer thread).
            self.console.file.write(f"{text}\n")
            return
        target = self._progress.console if self._progress is not None else self.console
        target.print(text, highlight=False, markup=False, soft_wrap=True)
