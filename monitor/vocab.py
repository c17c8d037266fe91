"""The monitor's words, defined once: what a page is, what a fetch was for, how good a
capture was, what recording it meant, which event it made, where an alert stands.

Every one is a :class:`~enum.StrEnum`: a member *is* its string, so the database, the JSON
API, the webhook payloads and the WARC metadata hold exactly the words they always held
(``Outcome.NEW == "new"``, ``json.dumps(EventKind.CHANGED) == '"changed"'``).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a watched page is to its target."""

    PAGE = "page"  # the target's own page
    LISTING = "listing"  # a listing's first page (its links are followed)
    PART = "part"  # a listing's continuation page, read for links only
    ARTICLE = "article"  # a page found on a listing
    ATTACHMENT = "attachment"  # a document (.pdf, .docx, .odt) linked from a page's content


class Purpose(StrEnum):
    """Why a page was fetched."""

    CHECK = "check"  # the scheduled check
    CONFIRM = "confirm"  # a second fetch of a suspected removal
    PROBE = "probe"  # a second fetch of a new page, to learn what changes on every visit


class Quality(StrEnum):
    """How good a capture is, before its content is looked at."""

    OK = "ok"  # the page itself
    LOW = "low"  # a block page, a login wall, an empty page: never a version
    ERROR = "error"  # no page: network error, HTTP error, removal signal


class QualityKind(StrEnum):
    """Why a capture is (or is not) the page: the quality verdict's kind, or the reason a
    fetch or its processing failed (``Observation.kind``; ``captures.note`` starts with it)."""

    OK = "ok"
    # Removal signals (:data:`REMOVAL_KINDS`).
    NOT_FOUND = "not_found"
    GONE = "gone"
    SOFT_404 = "soft_404"
    REDIRECT_HOME = "redirect_home"
    # Errors that are not removals.
    NETWORK = "network"
    SERVER_ERROR = "server_error"
    CLIENT_ERROR = "client_error"
    RATE_LIMITED = "rate_limited"
    UNEXPECTED_STATUS = "unexpected_status"
    # Low-quality captures.
    BLOCKED = "blocked"
    LOGIN_WALL = "login_wall"
    EMPTY = "empty"
    UNDECODABLE = "undecodable"  # binary, or text in no encoding
    UNSUPPORTED_DOCUMENT = "unsupported_document"  # .doc, .rtf, spreadsheets: not read
    NO_TEXT = "no_text"  # a document without a text layer (a scanned image?)
    # The target's own problem: its selector or follow rules matched nothing.
    SELECTOR = "selector"
    # The target's own problem: one of its regexes (ignore) ran past its time limit.
    PATTERN = "pattern"
    # A fetch that failed (spiders.base): the network error's kind.
    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECTION = "connection"
    TLS = "tls"
    TRUNCATED = "truncated"
    CANCELLED = "cancelled"
    TOO_LARGE = "too_large"
    ROBOTS = "robots"
    REDIRECT_LOOP = "redirect_loop"
    PRIVATE_ADDRESS = "private_address"  # a redirect into a private address, refused
    IGNORED = "ignored"
    FETCH_ERROR = "error"  # any other failure of the fetch


#: Quality kinds that say the page may be gone (confirmed by a second fetch).
REMOVAL_KINDS = frozenset(
    {QualityKind.NOT_FOUND, QualityKind.GONE, QualityKind.SOFT_404, QualityKind.REDIRECT_HOME}
)


class Outcome(StrEnum):
    """What recording one capture meant (``captures.outcome``)."""

    NEW = "new"  # a new version (or the first)
    UNCHANGED = "unchanged"
    FLIPFLOP = "flipflop"  # back to one of the last few versions
    ERROR = "error"  # the fetch failed
    LOW = "low"  # a low-quality capture (block page, empty page)
    SUSPECT = "suspect"  # a removal signal, waiting for its confirmation
    REMOVED = "removed"  # the removal confirmed
    GONE = "gone"  # still removed
    PROBE = "probe"  # a probe fetch (learning, not checking)
    PART = "part"  # a listing's continuation page


class EventKind(StrEnum):
    """What happened to a page (``changes.kind``): what people are alerted about."""

    CHANGED = "changed"
    REMOVED = "removed"
    ADDED = "added"
    RESTORED = "restored"
    ERROR = "error"
    RECOVERED = "recovered"
    # A removed page's content reappeared at another URL of its site (monitor.detect.moves):
    # one event, old URL -> new URL, instead of "removed" + "added".
    MOVED = "moved"


class PageStatus(StrEnum):
    """Where a page stands (``pages.state``)."""

    ACTIVE = "active"
    ERROR = "error"  # failing for longer than error_after: an error event was sent
    REMOVED = "removed"


class DeliveryStatus(StrEnum):
    """Where an alert stands in the outbox (``deliveries.status``)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # out of attempts, or refused for good: `monitor notify retry`
