"""Plain data that flows through a check: fetch -> observation -> recorded outcome.

Stages take and return these dataclasses; only the spiders (network) and the store
(database) touch the outside world.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from monitor.vocab import REMOVAL_KINDS, Outcome, PageStatus, Purpose, Quality, QualityKind, Role


@dataclass(frozen=True, slots=True)
class PageKey:
    """Identifies a watched URL within a target."""

    target: str
    url: str


def proxy_label(url: str | None) -> str | None:
    """A proxy URL as it may be shown and stored: scheme://host:port, never credentials.

    >>> proxy_label("http://user:secret@10.0.0.1:3128/")
    'http://10.0.0.1:3128'
    >>> proxy_label(None) is None
    True
    """
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How a target's pages are fetched besides the politeness settings: request headers,
    cookies, a proxy, a User-Agent, and whether a browser renders them.

    The values are the real ones (secrets from the environment included) and go only
    into requests; ``shown`` holds what a capture records instead of a secret value
    (e.g. ``{"cookie": "lang=ru; session=<env SITE_SESSION>"}``), and ``proxy_label``
    the proxy without its credentials. The repr hides everything secret.
    """

    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    proxy: str | None = field(default=None, repr=False)  # with credentials: requests only
    user_agent: str | None = None
    render: bool = False  # a browser renders the page (render: browser)
    # What the browser waits for before the DOM is read: a selector written
    # "css:..."/"xpath:...", or None for network idle; bounded by ``wait_timeout`` s.
    wait_for: str | None = None
    wait_timeout: float = 15.0
    # Header names (lower case) whose values are secret, with the value to record.
    shown: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def proxy_label(self) -> str | None:
        return proxy_label(self.proxy)

    @property
    def cookie_header(self) -> str | None:
        return "; ".join(f"{name}={value}" for name, value in self.cookies) or None

    def redact(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Request headers as recorded: secret values replaced, proxy credentials dropped."""
        shown = dict(self.shown)
        return {
            name: shown.get(name, value)
            for name, value in headers.items()
            if name != "proxy-authorization"
        }

    def __bool__(self) -> bool:
        return self != NO_OPTIONS


NO_OPTIONS = FetchOptions()


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
    purpose: Purpose = Purpose.CHECK
    # A <meta http-equiv="refresh"> the spider did not follow (delayed, or to another
    # site), as (delay in seconds, absolute URL); a followed one is a hop in ``redirects``.
    refresh: tuple[float, str] | None = None
    # The proxy the request went through (scheme://host:port, never its credentials).
    proxy: str | None = None
    # "browser" when a browser rendered the page: ``body`` is then the rendered DOM and
    # ``raw_body`` the document as the server sent it (None when it could not be read).
    renderer: str | None = None
    raw_body: bytes | None = None
    # For an attachment (a document a page links to): the page that links to it.
    parent: PageKey | None = None
    # A capture the monitor did not make (monitor import, monitor backfill): "warc" or
    # "archive", and exactly where it came from (file#offset, the archive's URL).
    source: str | None = None
    provenance: str | None = None


@dataclass(frozen=True, slots=True)
class Imported:
    """One past capture of a URL the monitor did not make: from a WARC file, or a web
    archive (``monitor import``, ``monitor backfill``)."""

    url: str
    captured_at: datetime
    status: int
    headers: dict[str, str]
    body: bytes
    source: str  # "warc", "archive"
    provenance: str  # "file.warc.gz#offset", or the archive's URL of the capture
    request_headers: dict[str, str] = field(default_factory=dict)
    protocol: str | None = None


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
    kind: str = QualityKind.OK  # why it is (not) the page: a QualityKind
    note: str | None = None
    # A document's metadata (title, author, dates...): shown, never compared.
    metadata: dict[str, str] | None = None

    @property
    def removal(self) -> bool:
        return self.kind in REMOVAL_KINDS


# --- what was learned about pages and sites (kept by the store, used by detection) ---

SEPARATOR = "\x1f"


def block_key(before: str, after: str) -> str:
    """How a block is named in storage (``volatile_lines.value``)."""
    return f"{before}{SEPARATOR}{after}"


def block_pair(value: str) -> tuple[str, str]:
    before, _, after = value.partition(SEPARATOR)
    return before, after


@dataclass(frozen=True, slots=True)
class Volatility:
    """What was learned about one page: digit signatures and rotating blocks.

    A block is known by the stable lines around it, ``(before, after)`` in ``after``
    ("<start>"/"<end>" at the edges); ``known`` holds, per block, the lines (as digit
    signatures) it was seen to rotate among: ``(before, after, line)``. Only known lines
    are ignored in a block; a line it never showed is compared like any other.
    """

    signatures: frozenset[str] = field(default_factory=frozenset)
    after: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    known: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)

    def merged(self, other: Volatility) -> Volatility:
        return Volatility(
            self.signatures | other.signatures, self.after | other.after, self.known | other.known
        )

    def __bool__(self) -> bool:
        return bool(self.signatures or self.after)


@dataclass(frozen=True, slots=True)
class Rule:
    """One stored piece of learning about a page, learned or still a candidate.

    ``kind`` is "signature" (``value``: the line with digits masked) or "after" (``value``:
    a block's stable lines, see :func:`block_key`). ``streak``: captures in a row that
    changed it. ``seen``: for a candidate block, the lines it showed during the streak;
    for a learned one, lines it showed once that are not known yet. ``known``: the lines
    a learned block rotates among.
    """

    kind: str
    value: str
    streak: int = 0
    learned: bool = False
    seen: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.value

    def volatility(self) -> Volatility:
        if not self.learned:
            return Volatility()
        if self.kind == "signature":
            return Volatility(signatures=frozenset({self.value}))
        before, after = block_pair(self.value)
        return Volatility(
            after=frozenset({(before, after)}),
            known=frozenset((before, after, line) for line in self.known),
        )


def host_of(url: str) -> str:
    """The site of a URL: its host (and port), lower-cased, without ``www.``.

    >>> host_of("https://WWW.Example.gov:8443/news/1")
    'example.gov:8443'
    """
    netloc = urlsplit(url).netloc.lower().rpartition("@")[2]
    return netloc[4:] if netloc.startswith("www.") else netloc


@dataclass(frozen=True, slots=True)
class SiteChrome:
    """What was learned about one site: chrome lines (verbatim) and chrome blocks (keys)."""

    lines: frozenset[str] = field(default_factory=frozenset)
    blocks: frozenset[str] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.lines or self.blocks)

    def merged(self, other: SiteChrome) -> SiteChrome:
        return SiteChrome(self.lines | other.lines, self.blocks | other.blocks)


@dataclass(slots=True)
class SiteCounts:
    """How many pages of one site carry each line and each block (from their latest
    versions), as far as learning needs: lines and blocks on few pages may be left out.

    ``candidates``: for lines seen in chrome blocks during this cycle, the pages that
    carry them, so the pages of this cycle can be added before counting.
    """

    pages: int = 0
    line_pages: dict[str, int] = field(default_factory=dict)
    block_pages: dict[str, int] = field(default_factory=dict)
    # For the blocks in block_pages: every line seen in them.
    block_lines: dict[str, set[str]] = field(default_factory=dict)
    candidates: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, pages: Mapping[int, Iterable[tuple[str, str]]]) -> SiteCounts:
        """Counts of (line, block key) pairs given per page (for tests and small sets)."""
        counts = cls(pages=len(pages))
        line_pages: dict[str, set[int]] = {}
        block_pages: dict[str, set[int]] = {}
        for page, entries in pages.items():
            for line, key in entries:
                line_pages.setdefault(line, set()).add(page)
                if key:
                    block_pages.setdefault(key, set()).add(page)
                    counts.block_lines.setdefault(key, set()).add(line)
        counts.line_pages = {line: len(found) for line, found in line_pages.items()}
        counts.block_pages = {key: len(found) for key, found in block_pages.items()}
        return counts


def threshold(pages: int, min_pages: int, min_share: float) -> int:
    """Pages a line must be on to be chrome, on a site of ``pages`` pages.

    >>> threshold(5, 3, 0.3), threshold(100, 3, 0.3)
    (3, 30)
    """
    return max(min_pages, math.ceil(min_share * pages))


@dataclass(slots=True)
class PageState:
    """What the store knows of a page before a check: enough to decide 'new version?'."""

    page_id: int | None
    target_id: int
    role: Role
    state: str = PageStatus.ACTIVE
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
    volatility: Volatility | None = None
    site_chrome: SiteChrome | None = None  # of the page's site
    etag: str | None = None
    last_modified: str | None = None
    next_due_at: datetime | None = None
    created_at: datetime | None = None
    last_checked_at: datetime | None = None
    # What is stored about the page's volatility, learned or still a candidate, by
    # (kind, value): monitor.detect.volatility.Rule.
    volatile_rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    # Found as a new link on a listing: its first version is reported "added".
    announce_added: bool = False
    # A document's metadata at its last good capture (shown when it changes, not compared).
    document_meta: dict[str, str] | None = None
    # Set for one recording by the check's move finder (monitor.detect.moves): this page's
    # removal is a move to that URL; this new page's first version is a page that moved
    # here (no "added").
    moved_to: str | None = None
    moved_from: str | None = None


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """A stored version as recording decisions read it: what the page said before."""

    id: int
    title: str | None
    text: str
    links: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    """One routing rule of a target: events of these kinds, at least this significant,
    go to this channel (built from the config by :mod:`monitor.notify.routing`)."""

    channel: str
    min_significance: float
    events: frozenset[str]


def channels_for(routes: Iterable[Route], kind: str, significance: float) -> list[str]:
    """The channels an event goes to (each once).

    >>> changed = frozenset({"changed"})
    >>> routes = [Route("mail", 0.5, changed), Route("hook", 0, changed)]
    >>> channels_for(routes, "changed", 0.3), channels_for(routes, "removed", 0.9)
    (['hook'], [])
    """
    chosen: list[str] = []
    for route in routes:
        wanted = kind in route.events and significance >= route.min_significance
        if wanted and route.channel not in chosen:
            chosen.append(route.channel)
    return chosen


@dataclass(frozen=True, slots=True)
class ListedLinkState:
    """What the store knows of one link a listing showed before."""

    url: str
    last_listed_at: datetime
    page: PageKey | None = None  # the page watching it; None: never followed
    page_id: int | None = None
    role: Role = Role.ARTICLE
    lastmod: str | None = None  # its date in the listing's sitemap or feed, last seen


@dataclass(slots=True)
class RecordedCapture:
    """The outcome of recording one observation."""

    key: PageKey
    page_id: int
    capture_id: int
    outcome: str  # an Outcome
    version_id: int | None = None
    version_seq: int | None = None
    status: int | None = None
    error: str | None = None
    change_id: int | None = None
    event: str | None = None  # an EventKind
    purpose: str = Purpose.CHECK
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
        if recorded.purpose != Purpose.CHECK or recorded.outcome == Outcome.PART:
            return  # confirming and probing fetches, listing continuation pages
        self.checked += 1
        if recorded.outcome == Outcome.NEW:
            if recorded.version_seq == 1:
                self.first_versions += 1
            else:
                self.new_versions += 1
        elif recorded.outcome in (Outcome.UNCHANGED, Outcome.FLIPFLOP):
            self.unchanged += 1
        elif recorded.outcome in (Outcome.REMOVED, Outcome.SUSPECT, Outcome.GONE):
            self.gone += 1  # answered "removed" (404, soft 404, redirect home): not a failure
        else:
            self.errors += 1
