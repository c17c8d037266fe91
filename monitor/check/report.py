"""A check's summary in words, as ``monitor check`` and ``monitor demo`` print it."""

from __future__ import annotations

import logging

from monitor.records import CheckSummary

logger = logging.getLogger(__name__)


def format_summary(summary: CheckSummary) -> str:
    """One check's counts in one line (and one per listing cut by max_articles)."""
    return (
        f"checked {summary.checked}: {summary.unchanged} unchanged, "
        f"{summary.new_versions} new versions, {summary.first_versions} first captures, "
        f"{summary.errors} errors"
        + (f", {summary.gone} removed or looking removed" if summary.gone else "")
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
