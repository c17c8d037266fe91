"""The database schema: targets, pages, every capture, content-addressed bodies, versions.

The chain of evidence is ``Capture -> Blob``: every fetch is a capture row, kept forever,
with the sha256 of the exact body received; bodies are stored once per distinct sha256,
compressed. A ``Version`` is a capture whose normalised content differs from the page's
previous version. ``Change`` rows record detected events between versions, and
``Delivery`` rows are the alert outbox. Rows of captures, blobs and versions are only
ever inserted, never updated in their evidential columns.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from monitor.timefmt import utcnow as utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the monitor stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Target(Base):
    """A watched entry of the config: a single page, or a listing whose articles are watched."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "page" or "listing"
    url: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    pages: Mapped[list[Page]] = relationship(back_populates="target")


class Page(Base):
    """One URL under watch: the target's own page, a listing page, or a discovered article."""

    __tablename__ = "pages"
    # By URL too: a listing's new links are looked up among every target's pages.
    __table_args__ = (UniqueConstraint("target_id", "url"), Index("ix_pages_url", "url"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # "page", "listing", "article", "attachment"
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Listing bookkeeping: when an article was last seen on its listing.
    last_listed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Checking state; the daemon schedules from these.
    last_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Fast path: the raw body hash and extraction settings of the last good capture, so an
    # identical body skips extraction entirely.
    last_body_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    last_extract_key: Mapped[str | None] = mapped_column(String(64), default=None)
    # The page's latest version (a cache of max(versions.seq); no FK, to keep the
    # pages <-> versions relation acyclic for SQLite's batch migrations).
    last_version_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # The hash the next capture is compared with: the last version's content under the
    # page's current volatility (it moves when volatility is learned or on a flip-flop).
    compare_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # Removal and error bookkeeping (see monitor.detect.events).
    removal_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    # The content region located by the main-content extractor, as an XPath.
    content_region: Mapped[str | None] = mapped_column(Text, default=None)
    # Validators of the last good answer, sent back as If-None-Match/If-Modified-Since.
    etag: Mapped[str | None] = mapped_column(Text, default=None)
    last_modified: Mapped[str | None] = mapped_column(String(64), default=None)
    # A document's metadata (title, author, dates) at its last good capture: never
    # compared; a change of it is a note on the page's timeline.
    document_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # A page that moved: the page it moved to (its content reappeared there), and on that
    # page, the one it came from. No FK, like last_version_id (acyclic batch migrations).
    moved_to_id: Mapped[int | None] = mapped_column(Integer, default=None)
    moved_from_id: Mapped[int | None] = mapped_column(Integer, default=None)

    target: Mapped[Target] = relationship(back_populates="pages")


class ListedLink(Base):
    """An article link seen on a listing target, followed or not: the listing's memory.

    A listing remembers every URL it ever listed (``first_listed_at``), so an article is
    reported ``added`` only the first time its URL appears, never when an old one comes
    back into view. ``page_id`` is the page that watches it: one of the listing's own
    articles, or a page of another target watching the same URL (fetched once, alerted
    under both); none when the link was not followed (``follow.max_articles``).
    """

    __tablename__ = "listed_links"
    __table_args__ = (UniqueConstraint("target_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("pages.id", ondelete="SET NULL"), default=None, index=True
    )
    first_listed_at: Mapped[datetime]
    last_listed_at: Mapped[datetime]
    # The link was new to every watched target when first listed: the first version of
    # its page is reported "added" (kept here, so a first fetch that failed still is).
    announce: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Its date in the listing's sitemap or feed (as written there), when last listed.
    lastmod: Mapped[str | None] = mapped_column(String(64), default=None)


class DaemonLock(Base):
    """The one running scheduler of a database, and its heartbeat."""

    __tablename__ = "daemon_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    holder: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(32), default="running")
    config_path: Mapped[str | None] = mapped_column(Text, default=None)


class Blob(Base):
    """A response body, stored once per distinct sha256 of its exact bytes."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[str] = mapped_column(String(16))  # "zstd" or "none"
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Capture(Base):
    """One fetch of one page, whatever its outcome: the monitor's log of evidence."""

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_page_id_started_at", "page_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float)
    requested_url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text, default=None)
    redirects: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # sha256 of the exact body received (after transfer decoding). The body itself is
    # kept in ``blobs`` when ``body_stored``: always for a new version or an error page,
    # never for a check that found the content unchanged (that costs one row, no body).
    body_sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    body_stored: Mapped[bool] = mapped_column(Boolean, default=False)
    encoding: Mapped[str | None] = mapped_column(String(40), default=None)
    content_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # The request as sent (method, headers) and the protocol of the answer: with the
    # response headers and the exact body, enough to write the exchange as WARC records.
    # (Nullable: captures recorded before this column existed have no request headers.)
    request_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    protocol: Mapped[str | None] = mapped_column(String(16), default=None)
    # Where the exchange was also written as WARC records: "file.warc.gz#offset".
    warc_record: Mapped[str | None] = mapped_column(Text, default=None)
    quality: Mapped[str] = mapped_column(String(16), default="ok")  # ok, low, error
    outcome: Mapped[str] = mapped_column(String(16))  # new, unchanged, error, ...
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # The proxy the request went through: scheme://host:port, never its credentials.
    proxy: Mapped[str | None] = mapped_column(String(300), default=None)
    # "browser" when a browser rendered the page: the body is then the rendered DOM, and
    # ``raw_body_sha256`` the document as the server sent it (in ``blobs`` with the body).
    renderer: Mapped[str | None] = mapped_column(String(16), default=None)
    raw_body_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    # Where a capture the monitor did not fetch itself came from: "warc" (imported from
    # a WARC file) or "archive" (backfilled from a web archive); None: fetched by us.
    source: Mapped[str | None] = mapped_column(String(16), default=None)
    # ... and exactly where: the archive's URL of the capture, or "file.warc.gz#offset".
    provenance: Mapped[str | None] = mapped_column(Text, default=None)


class Version(Base):
    """A capture whose normalised content differs from the page's previous version."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("page_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... per page
    captured_at: Mapped[datetime]
    content_sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text, default=None)
    text: Mapped[str] = mapped_column(Text)
    links: Mapped[list[Any]] = mapped_column(default=list)
    # The content's images as [src, alt] pairs (null on versions made before they were kept).
    images: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    # A public web archive's copy of the page, when one was requested (Save Page Now).
    archive_url: Mapped[str | None] = mapped_column(Text, default=None)

    capture: Mapped[Capture] = relationship()


class VolatileLine(Base):
    """Text learned to change on every visit of a page: never a change by itself."""

    __tablename__ = "volatile_lines"
    __table_args__ = (UniqueConstraint("page_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "signature" or "after"
    value: Mapped[str] = mapped_column(Text)
    lines: Mapped[int] = mapped_column(Integer, default=1)  # for "after": lines that rotate
    source: Mapped[str] = mapped_column(String(16))  # "probe" or "observed"
    streak: Mapped[int] = mapped_column(Integer, default=0)
    learned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # For a block ("after"): {"seen": [...], "known": [...]}, the lines (digits masked) it
    # showed while a candidate, and the lines it is known to rotate among once learned.
    samples: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class LearningNote(Base):
    """Something the monitor learned (or forgot) about a page: a note on its timeline.

    Recorded, never alerted: it tells a reader why a later change of that text was not
    an event, and when that started.
    """

    __tablename__ = "learning_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), default=None)
    noted_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))  # "learned" or "forgotten"
    source: Mapped[str] = mapped_column(String(16))  # "probe", "observed" or "user"
    rules: Mapped[list[Any]] = mapped_column(default=list)  # [{kind, value, lines}]
    summary: Mapped[str] = mapped_column(Text, default="")


class SiteLine(Base):
    """A line of a page's latest version that could be site chrome, for learning it.

    Replaced whenever the page gets a new version; counted per site (``host``) to find
    the lines and blocks many of its pages repeat (see monitor.detect.site_boilerplate).
    """

    __tablename__ = "site_lines"
    __table_args__ = (Index("ix_site_lines_host_line", "host", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the line's index in the version's text
    line: Mapped[str] = mapped_column(Text)
    block: Mapped[str] = mapped_column(Text, default="")  # its block key


class SiteBoilerplate(Base):
    """A line or block learned to be chrome on a whole site: masked when comparing."""

    __tablename__ = "site_boilerplate"
    __table_args__ = (UniqueConstraint("host", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "line" or "block"
    value: Mapped[str] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)  # pages showing it when learned
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Change(Base):
    """An event detected on a page: changed, removed, added, restored, error, recovered."""

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_page_id_detected_at", "page_id", "detected_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    detected_at: Mapped[datetime]
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("captures.id"), default=None)
    from_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), default=None)
    to_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), default=None)
    significance: Mapped[float] = mapped_column(Float, default=0.0)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")


class Delivery(Base):
    """One alert to send: an event routed to a channel (the outbox)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("change_id", "channel"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Set while a sender works on it: a delivery claimed long ago by a dead process is
    # taken up again (delivered at most once more, with the same event id).
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)


class DeliveryAttempt(Base):
    """One try at sending a delivery, with the server's answer."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # sent, retry, permanent
    detail: Mapped[str] = mapped_column(Text, default="")  # SMTP reply, HTTP status, error
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)


# --- the cluster (issue 12, docs/SCALING.md): leader, processes, batches, site leases ---


class ClusterLeader(Base):
    """The leading scheduler of a cluster (one row): its epoch fences every dispatch.

    Leadership itself is a PostgreSQL advisory lock held by a session of the leader; this
    row says who holds it, since when, and the epoch a dispatch transaction must match.
    """

    __tablename__ = "cluster_leader"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    node_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class ClusterNode(Base):
    """One process of the cluster (a scheduler or a worker) and its heartbeat."""

    __tablename__ = "cluster_nodes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # new at each start
    role: Mapped[str] = mapped_column(String(16))  # scheduler, worker
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(200), default=None)
    concurrency: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16))  # leading, standby, running, stopped


class Dispatch(Base):
    """One batch of due targets of one site, sent to the workers (re-sent until done)."""

    __tablename__ = "cluster_dispatches"
    __table_args__ = (Index("ix_cluster_dispatches_site_finished_at", "site", "finished_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    targets: Mapped[list[Any]] = mapped_column(default=list)  # target names
    epoch: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(index=True)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    sends: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    starts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    pages: Mapped[int] = mapped_column(Integer, default=0)  # pages checked
    errors: Mapped[int] = mapped_column(Integer, default=0)


class RobotsTxt(Base):
    """A site's robots.txt as a worker last fetched it, for every worker of the cluster."""

    __tablename__ = "robots_txt"

    site: Mapped[str] = mapped_column(String(255), primary_key=True)  # scheme://host[:port]
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime]


class SiteLease(Base):
    """A site's crawl lease: one batch of a site runs at a time in the whole cluster."""

    __tablename__ = "site_leases"

    site: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger, default=1)
    expires_at: Mapped[datetime]
