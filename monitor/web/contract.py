"""The JSON API's contract: pydantic models of every answer of :mod:`monitor.web.api`.

:mod:`monitor.web.openapi` generates the OpenAPI document's ``components.schemas`` from
these models (the paths and parameters are declared there); tests check that every real
answer fits them. The read model (:mod:`monitor.history`) builds the answers; these models
only say what they may hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from monitor.schemagen import Contract
from monitor.vocab import EventKind, PageStatus

DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
Pair = tuple[str, str]

TargetStatus = Literal["failing", "removed", "paused", "never checked", "ok"]


class Error(Contract):
    """An error answer."""

    error: str
    status: int


class Target(Contract):
    """A target with its state."""

    name: str
    kind: Literal["page", "listing"]
    url: str
    site: str = Field(description="The host of the target's URL.")
    tags: list[str]
    active: bool
    status: TargetStatus
    page_id: int | None = Field(
        description="The target's own page (for a listing, the listing page)."
    )
    pages: int = Field(description="Pages watched (a listing's articles included).")
    versions: int
    failing_pages: int
    removed_pages: int
    consecutive_failures: int
    last_checked_at: DateTime | None
    last_event: str | None
    last_change_at: DateTime | None
    significance: float | None = Field(description="Of the last event.")
    summary: str | None = Field(description="Of the last event.")


class WatchedPage(Contract):
    """A page a target watches."""

    id: int
    url: str
    role: str
    state: str


class TargetDetail(Target):
    """One target and its pages."""

    watched_pages: list[WatchedPage]


class TargetList(Contract):
    """Every target with its state."""

    targets: list[Target]


class SignificanceView(Contract):
    """How much an event matters, and why."""

    score: Annotated[float, Field(ge=0, le=1)]
    reasons: list[str]
    features: dict[str, Any]


class Change(Contract):
    """One event on a page."""

    id: str = Field(
        description="Stable: the id alerts carry.", json_schema_extra={"format": "uuid"}
    )
    event: EventKind
    page_id: int
    target: str
    url: str
    detected_at: DateTime
    significance: SignificanceView
    summary: str
    from_version: int | None
    to_version: int | None
    alerted: bool = Field(description="False below the target's min_significance.")


class ChangeList(Contract):
    """Events, newest first."""

    changes: list[Change]


class Version(Contract):
    """One version of a page."""

    seq: Annotated[int, Field(ge=1)]
    captured_at: DateTime
    title: str | None
    status: int | None
    final_url: str | None
    content_sha256: str
    body_sha256: Sha256 | None
    body_size: int | None


class VersionList(Contract):
    """A page's versions, oldest first."""

    page_id: int
    versions: list[Version]


class Capture(Contract):
    """The fetch that made a version: its time, addresses, status, headers and hashes."""

    id: int
    started_at: DateTime
    duration_ms: float
    requested_url: str
    final_url: str | None
    redirects: list[Any]
    status: int | None
    headers: dict[str, str]
    request_headers: dict[str, str]
    protocol: str | None
    body_size: int | None
    body_sha256: str | None
    body_stored: bool
    encoding: str | None
    warc_record: str | None
    proxy: str | None = Field(description="The proxy it went through (no credentials).")
    renderer: str | None = Field(description="browser: the body is the rendered DOM.")
    raw_body_sha256: str | None = Field(
        description="With a browser: the hash of the document as served."
    )


class VersionDetail(Version):
    """One version: its text, links and capture."""

    page_id: int
    url: str
    text: str = Field(description="The extracted text, one block a line.")
    links: list[Pair]
    images: list[Pair]
    capture: Capture
    archive_url: str | None
    previous_version: int | None
    next_version: int | None


class LearningNote(Contract):
    """What the monitor learned (or forgot) about a page's noise, or a document's
    metadata that changed."""

    id: int
    note: Literal["learned", "forgotten", "metadata"]
    source: Literal["probe", "observed", "user", "document"] = Field(
        description="probe: two fetches of a new page seconds apart differed; "
        "observed: changed like noise over several captures; user: a reset; "
        "document: a document's metadata changed (never compared)."
    )
    noted_at: DateTime
    summary: str
    rules: list[dict[str, Any]]
    alerted: bool = Field(description="Always false: a note is recorded, never alerted.")


class Page(Contract):
    """A page with its versions and events (its timeline)."""

    id: int
    url: str
    role: Literal["page", "listing", "article", "attachment"]
    state: PageStatus
    target: str
    tags: list[str]
    title: str | None
    created_at: DateTime | None
    last_checked_at: DateTime | None
    consecutive_failures: int
    failing_since: DateTime | None
    latest_version: int | None
    captures: int
    versions: list[Version]
    changes: list[Change]
    learning_notes: list[LearningNote]


class DiffLine(Contract):
    """One line of a diff, with its word segments."""

    op: Literal["equal", "insert", "delete", "change", "moved_out", "moved_in"]
    old: int | None
    new: int | None
    segments: list[tuple[Literal["equal", "insert", "delete"], str]]
    counterpart: int | None


class Move(Contract):
    """A block of lines that moved."""

    old_start: int
    new_start: int
    length: int


class DiffStats(Contract):
    """How much changed."""

    chars_added: int
    chars_removed: int
    words_added: int
    words_removed: int
    ratio_changed: float
    hunks: int
    lines_added: int
    lines_removed: int
    moved_lines: int
    longest_change_chars: int


class TextDiff(Contract):
    """The text diff of two versions: lines, word segments and statistics."""

    lines: list[DiffLine]
    moves: list[Move]
    stats: DiffStats
    added_text: str
    removed_text: str
    degenerate: bool


class LinkDiff(Contract):
    """Links (address, text) added, removed, or whose text changed."""

    added: list[Pair]
    removed: list[Pair]
    text_changed: list[Annotated[list[str], Field(min_length=3)]]


class Diff(Contract):
    """The diff between two versions of a page."""

    page_id: int
    url: str
    from_: Version = Field(alias="from")
    to: Version
    diff: TextDiff
    links: LinkDiff
    images: LinkDiff
    events: list[Change]


class SearchPage(Contract):
    """A page whose versions match a search."""

    page_id: int
    target: str
    url: str
    title: str | None
    versions: list[int]
    first_match_at: DateTime
    last_match_at: DateTime
    latest_version: int | None
    current: bool = Field(description="The page's newest version matches.")
    excerpt: str


class SearchResult(Contract):
    """Pages whose versions match, the newest match first."""

    query: str
    matching_versions: int
    matching_pages: int
    pages: list[SearchPage]


#: The answers, by the name the OpenAPI document gives them.
ANSWERS: dict[str, type[BaseModel]] = {
    "Error": Error,
    "TargetList": TargetList,
    "TargetDetail": TargetDetail,
    "ChangeList": ChangeList,
    "VersionList": VersionList,
    "VersionDetail": VersionDetail,
    "Page": Page,
    "Diff": Diff,
    "SearchResult": SearchResult,
}
