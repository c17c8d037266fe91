"""Plain data that flows through a check: fetch -> observation -> recorded outcome.

Stages take and return these dataclasses; only the spiders (network) and the store
(database) touch the outside world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Role = Literal["page", "listing", "part", "article"]
Purpose = Literal["check", "confirm", "probe"]
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
    request_headers: dict[str, str] = field(default_factory=dict)  # incl. ":method"
    protocol: str | None = None
    error: str | None = None
    error_kind: str | None = None
    # For listing pages: the article links found on all its pages, as (url, text);
    # ``listing_complete`` is False when a continuation page failed.
    article_links: list[tuple[str, str]] | None = None
    listing_complete: bool = True
    # "check", or "confirm" (a second fetch of a suspected removal) or "probe" (a second
    # fetch of a new page, to learn what changes on every visit).
    purpose: Purpose = "check"
    # A <meta http-equiv="refresh"> the spider did not follow (delayed, or to another
    # site), as (delay in seconds, absolute URL); a followed one is a hop in ``redirects``.
    refresh: tuple[float, str] | None = None


@dataclass(slots=True)
class Observation:
    """A fetch after decoding, extraction and normalisation: what the store records."""

    fetch: FetchResult
    body_sha256: str | None
    quality: Quality
    outcome_hint: Literal["content", "unchanged", "error"]
    encoding: str | None = None
    title: str | None = None
    text: str | None = None  # normalised, unmasked: what the page said
    compared: list[str] | None = None  # the lines as compared (volatile parts masked)
    links: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (src, alt) of the content
    # Per line of ``text``, its block key (monitor.detect.extract.keyed_lines_of).
    keys: list[str] = field(default_factory=list)
    # New text in blocks learned as site chrome (monitor.detect.site_boilerplate.compare).
    chrome_candidates: tuple[str, ...] = ()
    content_sha256: str | None = None  # hash of title + compared lines
    extract_key: str | None = None
    region: str | None = None
    kind: str = "ok"  # the quality verdict's kind: ok, not_found, soft_404, blocked, ...
    note: str | None = None

    @property
    def removal(self) -> bool:
        return self.kind in ("not_found", "gone", "soft_404", "redirect_home")


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
    failing_since: datetime | None = None
    removal_pending: bool = False
    content_region: str | None = None
    recent_hashes: tuple[str, ...] = ()
    volatility: Any = None  # monitor.detect.volatility.Volatility
    site_chrome: Any = None  # monitor.detect.site_boilerplate.SiteChrome of the page's site
    etag: str | None = None
    last_modified: str | None = None
    next_due_at: datetime | None = None
    created_at: datetime | None = None
    # What is stored about the page's volatility, learned or still a candidate, by
    # (kind, value): monitor.detect.volatility.Rule.
    volatile_rules: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Found as a new link on a listing: its first version is reported "added".
    announce_added: bool = False


@dataclass(frozen=True, slots=True)
class ListedLinkState:
    """What the store knows of one link a listing showed before."""

    url: str
    last_listed_at: datetime
    page: PageKey | None = None  # the page watching it; None: never followed
    page_id: int | None = None
    role: Role = "article"


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
    event: str | None = None  # changed, removed, added, restored, error, recovered
    purpose: str = "check"
    significance: float | None = None
    summary: str | None = None
    alert: bool = True  # False when the event scored below the target's min_significance


@dataclass(slots=True)
class CheckSummary:
    """Counts of one check cycle, as printed by ``monitor check``."""

    checked: int = 0
    unchanged: int = 0
    new_versions: int = 0
    first_versions: int = 0
    errors: int = 0
    gone: int = 0
    discovered: int = 0
    events: dict[str, int] = field(default_factory=dict)
    quiet_events: int = 0  # recorded, but below their target's min_significance
    # Listings whose article links were cut by follow.max_articles: name -> (links not
    # followed, the limit).
    not_followed: dict[str, tuple[int, int]] = field(default_factory=dict)
    outcomes: list[RecordedCapture] = field(default_factory=list)

    def add(self, recorded: RecordedCapture) -> None:
        self.outcomes.append(recorded)
        if recorded.event and not recorded.alert:
            self.quiet_events += 1
        elif recorded.event:
            self.events[recorded.event] = self.events.get(recorded.event, 0) + 1
        if recorded.purpose != "check" or recorded.outcome == "part":
            return  # confirming and probing fetches, listing continuation pages
        self.checked += 1
        if recorded.outcome == "new":
            if recorded.version_seq == 1:
                self.first_versions += 1
            else:
                self.new_versions += 1
        elif recorded.outcome in ("unchanged", "flipflop"):
            self.unchanged += 1
        elif recorded.outcome in ("removed", "suspect", "gone"):
            self.gone += 1  # answered "removed" (404, soft 404, redirect home): not a failure
        else:
            self.errors += 1
