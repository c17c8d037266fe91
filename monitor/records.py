"""Plain data that flows through a check: fetch -> observation -> recorded outcome.

Stages take and return these dataclasses; only the spiders (network) and the store
(database) touch the outside world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["page", "listing", "article"]
Quality = Literal["ok", "low", "error"]


@dataclass(frozen=True, slots=True)
class PageKey:
    """Identifies a watched URL within a target."""

    target: str
    url: str


@dataclass(slots=True)
class FetchResult:
    """What a spider got for one request: the raw response or the network error."""

    key: PageKey
    role: Role
    requested_url: str
    started_at: datetime
    duration_ms: float
    final_url: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    error_kind: str | None = None
    # For listing pages: the article links found on this page, as (url, text).
    article_links: list[tuple[str, str]] | None = None


@dataclass(slots=True)
class Observation:
    """A fetch after decoding, extraction and normalisation: what the store records."""

    fetch: FetchResult
    body_sha256: str | None
    quality: Quality
    outcome_hint: Literal["content", "unchanged", "error"]
    encoding: str | None = None
    title: str | None = None
    text: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    content_sha256: str | None = None
    extract_key: str | None = None
    note: str | None = None


@dataclass(slots=True)
class PageState:
    """What the store knows of a page before a check: enough to decide 'new version?'."""

    page_id: int | None
    target_id: int
    role: Role
    state: str = "active"
    last_body_sha256: str | None = None
    last_extract_key: str | None = None
    last_version_id: int | None = None
    last_version_seq: int = 0
    last_content_sha256: str | None = None
    consecutive_failures: int = 0


@dataclass(slots=True)
class RecordedCapture:
    """The outcome of recording one observation."""

    key: PageKey
    page_id: int
    capture_id: int
    outcome: str  # "new", "unchanged", "error", "low"
    version_id: int | None = None
    version_seq: int | None = None
    status: int | None = None
    error: str | None = None
    change_id: int | None = None


@dataclass(slots=True)
class CheckSummary:
    """Counts of one check cycle, as printed by ``monitor check``."""

    checked: int = 0
    unchanged: int = 0
    new_versions: int = 0
    first_versions: int = 0
    errors: int = 0
    discovered: int = 0
    outcomes: list[RecordedCapture] = field(default_factory=list)

    def add(self, recorded: RecordedCapture) -> None:
        self.checked += 1
        self.outcomes.append(recorded)
        if recorded.outcome == "new":
            if recorded.version_seq == 1:
                self.first_versions += 1
            else:
                self.new_versions += 1
        elif recorded.outcome == "unchanged":
            self.unchanged += 1
        else:
            self.errors += 1
