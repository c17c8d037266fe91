"""An event in one line, for alerts, listings and feeds (``changes.summary``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from monitor.detect.documents import is_document_link
from monitor.timefmt import when
from monitor.vocab import EventKind

logger = logging.getLogger(__name__)


def summarize(kind: str, title: str, features: Mapping[str, Any]) -> str:
    """One line saying what happened, for alerts and listings."""
    if kind == EventKind.REMOVED:
        reason = features.get("reason") or features.get("how") or "gone"
        return f"Removed: {title} ({reason})"
    if kind == EventKind.RESTORED:
        same = "same content as before" if features.get("same_content") else "with new content"
        return f"Restored: {title} ({same})"
    if kind == EventKind.ADDED:
        return f"Added: {title}"
    if kind == EventKind.MOVED:
        edited = " (with edits)" if features.get("edited") else ""
        return f"Moved: {title} to {features.get('moved_to')}{edited}"
    if kind == EventKind.ERROR and features.get("how") == "stale":
        last_good = datetime.fromisoformat(str(features["since"]))
        return f"Error: {title} has not been checked successfully since {when(last_good)}"
    if kind == EventKind.ERROR:
        since = features.get("failing_since")
        return f"Error: {title} has failed since {since} ({features.get('reason')})"
    if kind == EventKind.RECOVERED:
        return f"Recovered: {title}"
    if features.get("title_only"):
        return f"Title changed: {title}"
    added, removed = features.get("words_added", 0), features.get("words_removed", 0)
    pictures = [
        f"{len(features[key])} image{'s' if len(features[key]) != 1 else ''} {label}"
        for key, label in (("images_removed", "removed"), ("images_added", "added"))
        if features.get(key)
    ]
    pictures += [
        f"{len(urls)} attachment{'s' if len(urls) != 1 else ''} {label}"
        for key, label in (("links_removed", "removed"), ("links_added", "added"))
        if (urls := [link[0] for link in features.get(key) or () if is_document_link(link[0])])
    ]
    if pictures and not added and not removed:
        return f"Changed: {title} ({', '.join(pictures)})"
    extra = f"; {', '.join(pictures)}" if pictures else ""
    return f"Changed: {title} (+{added} / -{removed} words{extra})"
