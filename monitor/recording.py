"""A recording plan: everything one batch of captures writes, as plain rows.

Recording is "plan, then write". :func:`monitor.detect.plan.plan_batch` decides what a
batch of observations means (pure: new versions, events with their significance and
summary, deliveries, learned noise); :meth:`monitor.storage.store.Store.write` writes the
resulting :class:`Plan` in one transaction and returns the ids it gave (:class:`Written`);
:func:`monitor.evidence.archive.archive_plan` then writes the WARC records the plan asks
for, from the bodies it carries in memory.

Rows point at each other by id. A row this plan creates has a *placeholder* id until it
is written: ``-(index + 1)``, its index in its list (``pages``, ``captures``,
``versions``, ``events``); a positive id is a row already stored. The writer resolves
placeholders as it inserts; :meth:`Plan.settle` then puts the real ids into the plan's
page states and recorded captures, which the check keeps in memory. A plan that fails to
be written is dropped whole: the states the check holds were never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.records import PageKey, PageState, RecordedCapture, Rule
from monitor.timefmt import utcnow
from monitor.vocab import Role


def placeholder(index: int) -> int:
    """The id of the ``index``-th row of its kind that a plan creates, until written.

    >>> placeholder(0), placeholder(4)
    (-1, -5)
    """
    return -(index + 1)


def index_of(value: int) -> int:
    """The row index a placeholder id stands for.

    >>> index_of(placeholder(3))
    3
    """
    if value >= 0:
        raise ValueError(f"{value} is a stored id, not a placeholder")
    return -value - 1


@dataclass(slots=True)
class NewPage:
    """A page seen for the first time (an article of a listing, a continuation page)."""

    key: PageKey
    target_id: int
    role: Role
    created_at: datetime


@dataclass(slots=True)
class CaptureRow:
    """One fetch as stored (``captures``), whatever came of it."""

    page_id: int
    started_at: datetime
    duration_ms: float
    requested_url: str
    final_url: str | None
    redirects: list[dict[str, Any]]
    status: int | None
    error: str | None
    headers: dict[str, str]
    request_headers: dict[str, str]
    protocol: str | None
    body_size: int | None
    body_sha256: str | None
    body_stored: bool
    encoding: str | None
    content_sha256: str | None
    quality: str
    outcome: str
    note: str | None
    proxy: str | None = None
    renderer: str | None = None
    raw_body_sha256: str | None = None
    source: str | None = None  # "warc", "archive": imported, not fetched by the monitor
    provenance: str | None = None


@dataclass(slots=True)
class VersionRow:
    """A new version of a page: what it said (``versions``)."""

    page_id: int
    capture_id: int
    seq: int
    captured_at: datetime
    content_sha256: str
    title: str | None
    text: str
    links: list[list[str]]
    images: list[list[str]]


@dataclass(slots=True)
class EventRow:
    """An event (``changes``), with its significance, features and one-line summary."""

    uid: str
    page_id: int
    kind: str
    detected_at: datetime
    capture_id: int | None
    from_version_id: int | None
    to_version_id: int | None
    significance: float
    features: dict[str, Any]
    summary: str


@dataclass(slots=True)
class DeliveryRow:
    """An alert waiting in the outbox (``deliveries``): one event, one channel."""

    change_id: int
    channel: str
    queued_at: datetime


@dataclass(slots=True)
class SiteLines:
    """What a page's new version contributes to learning its site's boilerplate:
    replaces what the page contributed before. ``rows``: (position, line, block key)."""

    page_id: int
    host: str
    rows: list[tuple[int, str, str]]


@dataclass(slots=True)
class RuleWrite:
    """A volatility rule of a page as it is now (inserted, or its row updated)."""

    page_id: int
    rule: Rule
    source: str  # "probe", "observed"
    at: datetime


@dataclass(slots=True)
class StreakReset:
    """Candidate rules of a page whose streak ended (``values``: those; None: all)."""

    page_id: int
    values: tuple[str, ...] | None
    at: datetime


@dataclass(slots=True)
class NoteRow:
    """A note on a page's timeline: what was learned or forgotten, and from what."""

    page_id: int
    capture_id: int | None
    noted_at: datetime
    action: str  # "learned", "forgotten"
    source: str
    rules: list[dict[str, object]]
    summary: str


@dataclass(slots=True)
class ChromeRow:
    """A line or block learned to be chrome on a whole site (``site_boilerplate``)."""

    host: str
    kind: str  # "line", "block"
    value: str
    pages: int
    created_at: datetime


@dataclass(slots=True)
class ListingMarks:
    """The links a listing showed at ``when``: (url, watching page id or None, announce)."""

    target_id: int
    links: list[tuple[str, int | None, bool]]
    when: datetime
    # The lastmod its sitemaps or feeds gave links (url -> date), remembered for next time.
    dates: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class WarcCapture:
    """A capture to write as WARC records after the commit, with the exact body received.
    ``capture``: its index in the plan's captures."""

    capture: int
    target: str
    page_url: str
    body: bytes
    version_seq: int | None


@dataclass(slots=True)
class Written:
    """The ids the writer gave to the rows a plan created, in the plan's order."""

    pages: list[int] = field(default_factory=list)
    captures: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)

    def page(self, value: int) -> int:
        return value if value >= 0 else self.pages[index_of(value)]

    def capture(self, value: int) -> int:
        return value if value >= 0 else self.captures[index_of(value)]

    def version(self, value: int) -> int:
        return value if value >= 0 else self.versions[index_of(value)]

    def event(self, value: int) -> int:
        return value if value >= 0 else self.events[index_of(value)]


@dataclass(slots=True)
class Plan:
    """Everything one batch writes, in the order the writer writes it.

    ``page_updates``: by page id, the ``pages`` columns to set (a ``last_version_id``
    may be a placeholder). ``volatility``: rule writes and streak resets, in order.
    ``made_at``: when it was decided (the time of its rows that have none of their own).
    ``recorded``: one per observation planned; ``states``: the pages' states after the
    plan (both with placeholders until :meth:`settle`).
    """

    made_at: datetime = field(default_factory=utcnow)
    pages: list[NewPage] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> body
    captures: list[CaptureRow] = field(default_factory=list)
    versions: list[VersionRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    deliveries: list[DeliveryRow] = field(default_factory=list)
    page_updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    site_lines: list[SiteLines] = field(default_factory=list)
    volatility: list[RuleWrite | StreakReset] = field(default_factory=list)
    notes: list[NoteRow] = field(default_factory=list)
    chrome: list[ChromeRow] = field(default_factory=list)
    listings: list[ListingMarks] = field(default_factory=list)
    forget_rules: list[int] = field(default_factory=list)  # page ids: every rule forgotten
    forget_sites: list[str] = field(default_factory=list)  # hosts: chrome and its lines
    warc: list[WarcCapture] = field(default_factory=list)
    recorded: list[RecordedCapture] = field(default_factory=list)
    states: dict[PageKey, PageState] = field(default_factory=dict)

    def settle(self, written: Written) -> None:
        """Put the ids the writer gave into the plan's states and recorded captures."""
        for state in self.states.values():
            if state.page_id is not None:
                state.page_id = written.page(state.page_id)
            if state.last_version_id is not None:
                state.last_version_id = written.version(state.last_version_id)
        for item in self.recorded:
            item.page_id = written.page(item.page_id)
            item.capture_id = written.capture(item.capture_id)
            if item.version_id is not None:
                item.version_id = written.version(item.version_id)
            if item.change_id is not None:
                item.change_id = written.event(item.change_id)
