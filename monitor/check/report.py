"""A check's summary in words, as ``monitor check`` and ``monitor demo`` print it."""

from __future__ import annotations

import logging

from monitor.records import CheckSummary
from monitor.vocab import Outcome, Purpose

logger = logging.getLogger(__name__)


def format_summary(summary: CheckSummary) -> str:
    """One check's counts in one line (and one per listing cut by max_articles)."""
    return (
        f"checked {summary.checked}: {summary.unchanged} unchanged, "
        f"{summary.new_versions} new versions, {summary.first_versions} first captures, "
        f"{summary.errors} errors"
        + _removals(summary)
        + (f", {summary.discovered} new pages discovered" if summary.discovered else "")
        + (
            "; events: " + ", ".join(f"{n} {kind}" for kind, n in sorted(summary.events.items()))
            if summary.events
            else ""
        )
        + (f" ({summary.quiet_events} below min_significance)" if summary.quiet_events else "")
        + "".join(
            f"\nlisting {name}: {cut:,} article links not followed (max_articles {limit:,})"
            for name, (cut, limit) in sorted(summary.not_followed.items())
        )
    )


def _removals(summary: CheckSummary) -> str:
    """The pages that answered "not found", in words: newly removed (confirmed by a
    second fetch), still removed since an earlier check, or not confirmed yet."""
    if not summary.gone:
        return ""
    checked = [item for item in summary.outcomes if item.purpose == Purpose.CHECK]
    still = sum(1 for item in checked if item.outcome == Outcome.GONE)
    # A removal is confirmed by a second fetch in the same run (purpose "confirm").
    newly = sum(1 for item in summary.outcomes if item.outcome == Outcome.REMOVED)
    pending = max(0, summary.gone - still - newly)
    parts = [
        f"{newly} removed" if newly else "",
        f"{still} still removed" if still else "",
        f"{pending} not found but not confirmed yet" if pending else "",
    ]
    return ", " + ", ".join(part for part in parts if part)
