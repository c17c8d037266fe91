"""The event payload: one JSON document per event, the same for every channel.

Its shape is versioned, modelled in :mod:`monitor.notify.contract` and published as the JSON
Schemas generated from those models, ``schemas/webhook-event.v1.json`` (and its digest in
``schemas/webhook-digest.v1.json``);
webhook receivers get it as the POST body, and the e-mail and Apprise templates render
it. ``id`` is the event's own id: stable across retries, so receivers can drop
duplicates. A removal's ``diff.removed`` holds what the page said before it went (the
last version's title and first lines); a restoration's ``significance.features`` says
whether the content is the same as before the removal (``same_content``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import __version__
from monitor.detect.differ import diff_versions
from monitor.storage.models import Capture, Change, Page, Target, Version

logger = logging.getLogger(__name__)

SCHEMA = "monitor.event/1"
DIGEST_SCHEMA = "monitor.digest/1"
MAX_DIFF_CHARS = 100_000


def _version(version: Version | None, capture: Capture | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "seq": version.seq,
        "captured_at": version.captured_at.isoformat(),
        "content_sha256": version.content_sha256,
        "body_sha256": capture.body_sha256 if capture else None,
        "status": capture.status if capture else None,
    }


#: How much of a removed page an alert carries: its title and first lines.
REMOVED_LINES = 8
REMOVED_CHARS = 2_000


def removed_excerpt(title: str | None, text: str) -> str:
    """What a removed page said, for its alert: the title and the first lines.

    >>> removed_excerpt("Visa rules", "Line one\\nLine two\\nLine three")
    'Visa rules\\nLine one\\nLine two\\nLine three'
    >>> removed_excerpt(None, "\\n".join(f"line {n}" for n in range(12))).splitlines()[-1]
    '[... 4 more lines]'
    """
    lines = [line for line in text.splitlines() if line.strip()]
    shown = lines[:REMOVED_LINES]
    excerpt = "\n".join([*([title] if title else []), *shown])
    if len(excerpt) > REMOVED_CHARS:
        excerpt = excerpt[:REMOVED_CHARS].rsplit(" ", 1)[0] + " [...]"
    if len(lines) > len(shown):
        excerpt += f"\n[... {len(lines) - len(shown)} more lines]"
    return excerpt


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "\n[...]"


def build(session: Session, change: Change, public_url: str | None = None) -> dict[str, Any]:
    """The payload of one event, read from the database."""
    page = session.get(Page, change.page_id)
    assert page is not None
    target = session.get(Target, page.target_id)
    assert target is not None
    before = session.get(Version, change.from_version_id) if change.from_version_id else None
    after = session.get(Version, change.to_version_id) if change.to_version_id else None
    capture_before = session.get(Capture, before.capture_id) if before else None
    capture_after = session.get(Capture, after.capture_id) if after else None
    capture = session.get(Capture, change.capture_id) if change.capture_id else None
    latest = (
        after
        or before
        or session.scalar(
            select(Version).where(Version.page_id == page.id).order_by(Version.seq.desc()).limit(1)
        )
    )
    title = (latest.title if latest else None) or page.url
    diff: dict[str, Any] = {"added": "", "removed": "", "unified": "", "inline_html": ""}
    links: dict[str, Any] = {"added": [], "removed": []}
    if before is not None and after is not None and change.kind in ("changed", "restored", "moved"):
        both = diff_versions(before, after)
        text_diff = both.text
        diff = {
            "added": _clip(text_diff.added_text),
            "removed": _clip(text_diff.removed_text),
            "unified": _clip(text_diff.unified(labels=(f"v{before.seq}", f"v{after.seq}"))),
            "inline_html": _clip(text_diff.inline_html(context=2)),
            "stats": {
                "chars_added": text_diff.stats.chars_added,
                "chars_removed": text_diff.stats.chars_removed,
                "words_added": text_diff.stats.words_added,
                "words_removed": text_diff.stats.words_removed,
                "hunks": text_diff.stats.hunks,
            },
        }
        link_diff = both.links
        links = {
            "added": [list(link) for link in link_diff.added],
            "removed": [list(link) for link in link_diff.removed],
        }
    if change.kind == "removed" and before is not None:
        # What the page said before it went: the last version's title and first lines.
        diff["removed"] = removed_excerpt(before.title, before.text)
    features = dict(change.features)
    reasons = list(features.pop("reasons", []))
    features.pop("alert", None)
    base = (public_url or "").rstrip("/")
    return {
        "schema": SCHEMA,
        "id": change.uid,
        "event": change.kind,
        "target": target.name,
        "tags": list(target.tags),
        "url": page.url,
        "final_url": capture.final_url if capture else None,
        "status": capture.status if capture else None,
        "title": title,
        "site": urlsplit(page.url).netloc,
        "detected_at": change.detected_at.isoformat(),
        "from_version": _version(before, capture_before),
        "to_version": _version(after, capture_after),
        "significance": {"score": change.significance, "features": features, "reasons": reasons},
        "summary": change.summary,
        "diff": diff,
        "links": links,
        "history_url": f"{base}/pages/{page.id}" if base else None,
        "monitor_version": __version__,
    }


def digest(events: list[dict[str, Any]], digest_id: str) -> dict[str, Any]:
    """One payload listing several events (a channel in digest mode)."""
    return {
        "schema": DIGEST_SCHEMA,
        "id": digest_id,
        "count": len(events),
        "events": events,
        "monitor_version": __version__,
    }


def test_event() -> dict[str, Any]:
    """A synthetic event for `monitor notify test`, valid against the schema."""
    from datetime import UTC, datetime

    return {
        "schema": SCHEMA,
        "id": "00000000-0000-4000-8000-000000000000",
        "event": "changed",
        "target": "monitor-test",
        "tags": ["test"],
        "url": "https://example.org/monitor-test",
        "final_url": "https://example.org/monitor-test",
        "status": 200,
        "title": "Test message from monitor — Тестовое сообщение — परीक्षण संदेश",
        "site": "example.org",
        "detected_at": datetime.now(UTC).isoformat(),
        "from_version": None,
        "to_version": None,
        "significance": {"score": 0.0, "features": {}, "reasons": ["a test message"]},
        "summary": "If you can read this, the channel works.",
        "diff": {"added": "", "removed": "", "unified": "", "inline_html": ""},
        "links": {"added": [], "removed": []},
        "history_url": None,
        "monitor_version": __version__,
    }
