"""Loading and validating the YAML configuration.

The config is validated once, when loaded: every error names the file, the key (as a
path such as ``targets[2].schedule.every``) and what is allowed there. Secrets never
live in the file: a key ending in ``_env`` names the environment variable that holds
the secret, and :func:`secret` reads it when it is needed.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.evidence.warc import ArchiveSettings
from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_DATABASE = "sqlite:///monitor.db"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 15m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and (match := _DURATION_RE.match(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"{value!r} is not a duration; use a number of seconds or a number with a unit "
            "(ms, s, m, h, d, w), e.g. 90s, 15m, 2h, 1d"
        )
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration must be zero or more")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"10MB"``, ``"512 KiB"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MB")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE_RE.match(value)):
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    else:
        raise ValueError(f"{value!r} is not a size; use bytes or a unit (KB, MB, GB, KiB, MiB)")
    if size <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return size


Duration = Annotated[float, Field(json_schema_extra={"format": "duration"})]


_CHANNEL_TYPES: dict[str, type[BaseModel]] = {}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an absolute http:// or https:// URL")
    return value.strip()


class Schedule(_Strict):
    """When a target is checked: a fixed interval (with jitter) or a cron expression."""

    every: float | None = Field(default=None, description="Interval between checks, e.g. 30m.")
    cron: str | None = Field(default=None, description="Cron expression (5 fields).")
    timezone: str = Field(default="UTC", description="Time zone of the cron expression.")
    jitter: float = Field(default=0.0, description="Random delay added to each check, e.g. 2m.")
    active_hours: str | None = Field(
        default=None, description='Only check within these hours, e.g. "07:00-20:00" (timezone).'
    )
    weekdays: tuple[str, ...] = Field(
        default=(), description="Only check on these days, e.g. [mon, tue, wed, thu, fri]."
    )

    @field_validator("active_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
        if (
            not match
            or int(match[1]) > 23
            or int(match[3]) > 24
            or int(match[2]) > 59
            or int(match[4]) > 59
        ):
            raise ValueError(f"{value!r} is not a range of hours such as 07:00-20:00")
        return value

    @field_validator("weekdays", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        value = [value] if isinstance(value, str) else value
        if isinstance(value, list | tuple):
            for day in value:
                if str(day).lower()[:3] not in WEEKDAYS:
                    raise ValueError(f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}")
            return [str(day).lower()[:3] for day in value]
        return value

    @field_validator("every", "jitter", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        return seconds

    @field_validator("every")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value < 1:
            raise ValueError("an interval must be at least 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid cron expression ({exc})") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a known time zone (e.g. UTC, Europe/Paris)"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (an interval) or 'cron'")
        return self


class Selector(_Strict):
    """A CSS or XPath expression that picks the content region of a page."""

    css: str | None = None
    xpath: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Selector:
        if (self.css is None) == (self.xpath is None):
            raise ValueError("give exactly one of 'css' or 'xpath'")
        if self.css is not None:
            from cssselect import GenericTranslator, SelectorError

            try:
                GenericTranslator().css_to_xpath(self.css)
            except SelectorError as exc:
                raise ValueError(f"{self.css!r} is not a valid CSS selector ({exc})") from None
        if self.xpath is not None:
            from lxml import etree

            try:
                etree.XPath(self.xpath)
            except etree.XPathSyntaxError as exc:
                raise ValueError(f"{self.xpath!r} is not a valid XPath ({exc})") from None
        return self

    @property
    def expression(self) -> str:
        return f"css:{self.css}" if self.css is not None else f"xpath:{self.xpath}"


def _coerce_selector(value: object) -> object:
    """Accept ``"css:article"``, ``"xpath://main"`` or a plain CSS string as shorthand."""
    if isinstance(value, str):
        if value.startswith("xpath:"):
            return {"xpath": value[len("xpath:") :]}
        if value.startswith("css:"):
            return {"css": value[len("css:") :]}
        if value.startswith("/"):
            return {"xpath": value}
        return {"css": value}
    return value


def _coerce_selectors(value: object) -> object:
    """A list of selectors, or one given alone."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(_coerce_selector(item) for item in value)
    return value


class Follow(_Strict):
    """How a listing page is followed: which links are articles, how many listing pages."""

    links: Selector | None = Field(
        default=None, description="Selector of the article links (the <a> elements)."
    )
    pattern: str | None = Field(
        default=None, description="Regex an article URL must match (searched, not anchored)."
    )
    next_page: Selector | None = Field(
        default=None, description="Selector of the link to the next listing page."
    )
    max_pages: int = Field(default=1, ge=1, le=1000, description="Listing pages to read.")
    same_domain: bool = Field(default=True, description="Only follow links on the same host.")
    max_articles: int = Field(
        default=500,
        ge=1,
        le=100000,
        description="The most articles the listing watches; further new links are not "
        "followed (reported by check and status).",
    )
    selector: Selector | None = Field(
        default=None,
        description="Content region of each article (default: found automatically); the "
        "target's own selector applies to its listing pages only.",
    )
    exclude: tuple[Selector, ...] = Field(
        default=(), description="Regions removed from each article first."
    )
    article_every: float | None = Field(
        default=None,
        description="How often the daemon checks a new article (default: the listing's "
        "interval); the interval grows with the article's age.",
    )
    article_slowdown: float = Field(
        default=1.0, ge=0, description="Extra interval per day of age, as a multiple."
    )
    article_max_every: float = Field(
        default=7 * 86400.0, description="The longest interval between checks of an article."
    )

    @field_validator("article_every", "article_max_every", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    coerce_selectors = field_validator("links", "next_page", "selector", mode="before")(
        lambda cls, value: _coerce_selector(value)
    )
    coerce_excludes = field_validator("exclude", mode="before")(
        lambda cls, value: _coerce_selectors(value)
    )

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> Follow:
        if self.links is None and self.pattern is None:
            raise ValueError("give 'links' (a selector), 'pattern' (a regex), or both")
        return self


class Target(_Strict):
    """One watched page, or a listing page whose articles are watched."""

    name: str = Field(description="Unique name, used on the command line.")
    url: str = Field(description="The page's URL (http or https).")
    tags: tuple[str, ...] = Field(default=(), description="Free labels for grouping.")
    schedule: Schedule | None = Field(default=None, description="Overrides defaults.schedule.")
    selector: Selector | None = Field(
        default=None,
        description="Content region (CSS/XPath); on a listing target, of its listing pages.",
    )
    exclude: tuple[Selector, ...] = Field(default=(), description="Regions removed first.")
    ignore: tuple[str, ...] = Field(default=(), description="Regexes of text to ignore.")
    encoding: str | None = Field(default=None, description="Force a character set.")
    obey_robots: bool | None = Field(default=None, description="Override fetch.obey_robots.")
    follow: Follow | None = Field(default=None, description="Makes this a listing target.")
    notify: tuple[str, ...] | None = Field(default=None, description="Channel names.")
    watch_terms: tuple[str, ...] = Field(default=(), description="Extra significant words.")
    min_significance: float = Field(default=0.0, ge=0, le=1, description="Alert threshold.")
    enabled: bool = Field(default=True, description="False keeps history but stops checks.")

    coerce_selector = field_validator("selector", mode="before")(
        lambda cls, value: _coerce_selector(value)
    )

    coerce_excludes = field_validator("exclude", mode="before")(
        lambda cls, value: _coerce_selectors(value)
    )

    @field_validator("tags", "ignore", "notify", "watch_terms", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a usable name; use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    check_url = field_validator("url")(lambda cls, value: _check_http_url(value))

    @field_validator("ignore")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression ({exc})") from None
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import codecs

        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(
                f"{value!r} is not a known character set (e.g. utf-8, windows-1251)"
            ) from None

    @property
    def kind(self) -> Literal["page", "listing"]:
        return "listing" if self.follow is not None else "page"


class Fetch(_Strict):
    """How pages are fetched: politeness, limits and retries."""

    user_agent: str = Field(
        default="monitor/{version} (+{contact})",
        description="User-Agent; {version} and {contact} are filled in.",
    )
    contact: str = Field(
        default="https://github.com/monitor-project/monitor",
        description="URL or e-mail where site owners can reach you.",
    )
    obey_robots: bool = Field(default=True, description="Obey robots.txt.")
    concurrency: int = Field(default=16, ge=1, le=1024, description="Requests in flight.")
    per_domain_concurrency: int = Field(default=2, ge=1, le=256)
    delay: float = Field(default=1.0, description="Delay between requests to one domain.")
    timeout: float = Field(default=30.0, description="Per-request timeout.")
    max_body_size: int = Field(default=20 * 1024 * 1024, description="Larger bodies fail.")
    retries: int = Field(default=2, ge=0, le=10, description="Retries of transient failures.")
    autothrottle: bool = Field(default=False, description="Adapt the delay to server latency.")

    @field_validator("delay", "timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("timeout")
    @classmethod
    def _timeout_positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("the timeout must be greater than zero")
        return value

    @field_validator("max_body_size", mode="before")
    @classmethod
    def _size(cls, value: object) -> int:
        return parse_size(value)


class Detect(_Strict):
    """How changes are detected: extraction, confirmation of removals, noise learning."""

    extractor: Literal["main", "text"] = Field(
        default="main", description="main: the page's main content; text: all visible text."
    )
    confirm_removal_after: float = Field(
        default=10.0, description="Delay before the fetch that confirms a removal."
    )
    probe_delay: float = Field(
        default=5.0, description="Delay before the second fetch of a new page (learns noise)."
    )
    error_after: float = Field(
        default=6 * 3600.0, description="A page failing this long produces an error event."
    )
    volatile_after: int = Field(
        default=3, ge=2, le=100, description="A line changed in this many captures in a row."
    )
    flipflop_versions: int = Field(
        default=5, ge=0, le=100, description="Distinct versions compared for flip-flops."
    )
    site_boilerplate_pages: int = Field(
        default=3,
        ge=0,
        le=10000,
        description="A line on this many pages of one site is site chrome (0: never learn).",
    )
    site_boilerplate_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="... and on at least this share of the site's watched pages.",
    )
    default_watch_terms: bool | tuple[str, ...] = Field(
        default=True,
        description="Built-in watch terms: true (every language), false (none), or a list "
        "of language codes.",
    )
    watch_terms: tuple[str, ...] = Field(
        default=(),
        description="Your own watch terms, added to the built-in ones.",
    )

    @field_validator("default_watch_terms", mode="before")
    @classmethod
    def _languages(cls, value: object) -> object:
        from monitor.detect.terms import defaults

        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            known = defaults()
            for language in value:
                if language not in known:
                    raise ValueError(
                        f"{language!r} has no built-in watch terms; use true, false or "
                        f"languages among: {', '.join(known)}"
                    )
        return value

    @property
    def terms(self) -> tuple[str, ...]:
        """The watch terms in force: the chosen built-in lists, then your own."""
        from monitor.detect.terms import default_terms

        chosen = self.default_watch_terms
        if chosen is False:
            built_in: tuple[str, ...] = ()
        elif chosen is True:
            built_in = default_terms()
        else:
            built_in = default_terms(chosen)
        return tuple(dict.fromkeys((*built_in, *self.watch_terms)))

    @field_validator("confirm_removal_after", "probe_delay", "error_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("watch_terms", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Defaults(_Strict):
    """Values every target inherits unless it sets its own."""

    schedule: Schedule = Field(default_factory=lambda: Schedule(every=3600.0, jitter=60.0))
    notify: tuple[str, ...] = Field(default=(), description="Channels of every target.")
    ignore: tuple[str, ...] = Field(default=(), description="Regexes ignored on every target.")

    @field_validator("notify", "ignore", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


EVENT_KINDS = ("changed", "removed", "added", "restored", "error", "recovered")


def _check_events(value: object) -> object:
    value = [value] if isinstance(value, str) else value
    if isinstance(value, list | tuple):
        for kind in value:
            if kind not in EVENT_KINDS:
                raise ValueError(
                    f"{kind!r} is not an event kind; allowed: {', '.join(EVENT_KINDS)}"
                )
    return value


class Templates(_Strict):
    """Jinja2 templates overriding a channel's defaults: inline text, or "file:PATH"."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None


class _ChannelBase(_Strict):
    """What every channel has: digest mode, templates, its own filters."""

    digest: str = Field(
        default="off",
        description="off: one message per event; cycle: one per check cycle; or a period "
        "such as 1h: one message per period listing all its events.",
    )
    templates: Templates = Field(default_factory=Templates)
    min_significance: float = Field(default=0.0, ge=0, le=1)
    events: tuple[str, ...] = Field(default=EVENT_KINDS, description="Event kinds sent.")

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if value in ("off", "cycle"):
            return value
        try:
            if parse_duration(value) < 60:
                raise ValueError("a digest period must be at least 1m")
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a digest mode; use off, cycle or a period such as 1h ({exc})"
            ) from None
        return value

    check_events = field_validator("events", mode="before")(lambda cls, value: _check_events(value))

    @property
    def digest_period(self) -> float | None:
        """Seconds of a period digest; None for "off" and "cycle"."""
        return None if self.digest in ("off", "cycle") else parse_duration(self.digest)


class EmailChannel(_ChannelBase):
    """Alerts by e-mail over SMTP."""

    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(
        default=None, description="Environment variable holding the SMTP password."
    )
    sender: str = Field(alias="from")
    to: tuple[str, ...]
    timeout: float = 30.0

    @field_validator("to", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class WebhookChannel(_ChannelBase):
    """Alerts as a signed JSON POST to a URL."""

    type: Literal["webhook"]
    url: str
    secret_env: str | None = Field(
        default=None, description="Environment variable holding the HMAC secret."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = 10.0

    check_url = field_validator("url")(lambda cls, value: _check_http_url(value))


class AppriseChannel(_ChannelBase):
    """Alerts to chat and push services (Slack, Telegram, Matrix, ntfy, ...) via Apprise."""

    type: Literal["apprise"]
    urls_env: str = Field(
        description="Environment variable holding the Apprise URL(s), space-separated "
        "(they carry tokens, so they are secrets)."
    )
    timeout: float = 30.0


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")]
_CHANNEL_TYPES.update(email=EmailChannel, webhook=WebhookChannel, apprise=AppriseChannel)


class Route(_Strict):
    """Which events of which targets go to which channels."""

    targets: tuple[str, ...] = Field(default=(), description="Target names (any if empty).")
    tags: tuple[str, ...] = Field(default=(), description="Target tags (any if empty).")
    channels: tuple[str, ...] = Field(description="Channel names.")
    min_significance: float = Field(default=0.0, ge=0, le=1)
    events: tuple[str, ...] = Field(default=EVENT_KINDS)

    @field_validator("targets", "tags", "channels", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    check_events = field_validator("events", mode="before")(lambda cls, value: _check_events(value))

    def matches(self, target: Target) -> bool:
        if self.targets and target.name not in self.targets:
            return False
        return not self.tags or bool(set(self.tags) & set(target.tags))


class Metrics(_Strict):
    """The Prometheus metrics endpoint of the daemon (off by default)."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", description="Address to bind; keep it local.")
    port: int = Field(default=9464, ge=1, le=65535)


class Daemon(_Strict):
    """How `monitor run` schedules and supervises checks."""

    tick: float = Field(default=1.0, description="How often due checks are looked for.")
    max_parallel_crawls: int = Field(default=4, ge=1, le=64)
    crawl_timeout: float = Field(
        default=600.0, description="A crawl running longer is cancelled (its pages: errors)."
    )
    grace: float = Field(default=30.0, description="On SIGTERM, in-flight checks get this long.")
    heartbeat: float = Field(default=10.0, description="How often the daemon says it is alive.")
    stale_factor: float = Field(
        default=3.0, ge=1, description="A target unchecked for this many intervals: an error."
    )
    spread_overdue: float = Field(
        default=60.0, description="After a restart, overdue checks are spread over this long."
    )
    outbox_interval: float = Field(default=5.0, description="How often alerts are sent.")
    metrics: Metrics = Field(default_factory=Metrics)

    @field_validator(
        "tick",
        "crawl_timeout",
        "grace",
        "heartbeat",
        "spread_overdue",
        "outbox_interval",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)


class Outbox(_Strict):
    """How alerts are delivered: retries, backoff, and the one-shot flush."""

    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff: float = Field(default=30.0, description="First retry delay; doubles each time.")
    max_backoff: float = Field(default=6 * 3600.0, description="Longest delay between tries.")
    claim_timeout: float = Field(
        default=120.0,
        description="A delivery claimed this long ago by a process that died is sent again.",
    )
    flush_timeout: float = Field(
        default=60.0, description="How long `monitor check` waits to deliver before exiting."
    )

    @field_validator("backoff", "max_backoff", "claim_timeout", "flush_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)


class Config(_Strict):
    """The whole configuration file."""

    database: str = Field(default=DEFAULT_DATABASE, description="SQLAlchemy database URL.")
    fetch: Fetch = Field(default_factory=Fetch)
    detect: Detect = Field(default_factory=Detect)
    defaults: Defaults = Field(default_factory=Defaults)
    channels: dict[str, Channel] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    outbox: Outbox = Field(default_factory=Outbox)
    daemon: Daemon = Field(default_factory=Daemon)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    public_url: str | None = Field(
        default=None, description="Base URL of `monitor serve`, for links in alerts."
    )
    targets: tuple[Target, ...] = ()

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                f"{value!r} is not a database URL (e.g. sqlite:///monitor.db or "
                "postgresql+psycopg://user@host/dbname)"
            ) from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                f"{url.get_backend_name()!r} is not supported; use sqlite or postgresql"
            )
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        seen: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.name in seen:
                raise _KeyError(
                    ("targets", index, "name"),
                    f"{target.name!r} is already the name of targets[{seen[target.name]}]; "
                    "names must be unique",
                )
            seen[target.name] = index
            for channel in target.notify or ():
                if channel not in self.channels:
                    raise _KeyError(
                        ("targets", index, "notify"),
                        f"{channel!r} is not a channel; defined channels: "
                        f"{_allowed(sorted(self.channels))}",
                    )
        for index, route in enumerate(self.routes):
            for channel in route.channels:
                if channel not in self.channels:
                    raise _KeyError(
                        ("routes", index, "channels"),
                        f"{channel!r} is not a channel; defined channels: "
                        f"{_allowed(sorted(self.channels))}",
                    )
            names = {t.name for t in self.targets}
            for name in route.targets:
                if name not in names:
                    raise _KeyError(
                        ("routes", index, "targets"),
                        f"{name!r} is not a target; known targets: {_allowed(sorted(names))}",
                    )
        for channel in self.defaults.notify:
            if channel not in self.channels:
                raise _KeyError(
                    ("defaults", "notify"),
                    f"{channel!r} is not a channel; defined channels: "
                    f"{_allowed(sorted(self.channels))}",
                )
        return self

    def schedule_of(self, target: Target) -> Schedule:
        return target.schedule or self.defaults.schedule

    def channels_of(self, target: Target) -> tuple[str, ...]:
        return target.notify if target.notify is not None else self.defaults.notify

    def ignore_of(self, target: Target) -> tuple[str, ...]:
        return self.defaults.ignore + target.ignore

    def select(self, names: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> list[Target]:
        """Enabled targets, limited to the given names and tags when any are given."""
        unknown = [name for name in names if name not in {t.name for t in self.targets}]
        if unknown:
            raise ConfigError(
                f"no target named {', '.join(map(repr, unknown))}; "
                f"known targets: {_allowed([t.name for t in self.targets])}"
            )
        chosen = []
        for target in self.targets:
            if names and target.name not in names:
                continue
            if tags and not set(tags) & set(target.tags):
                continue
            if not target.enabled and not names:
                continue
            chosen.append(target)
        return chosen


class _KeyError(ValueError):
    """A cross-field error that knows which key it belongs to."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _allowed(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names) if names else "(none)"


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The config model class that holds the key at ``loc`` (for listing allowed keys)."""
    import typing

    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        model = _first_model(annotation, typing)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _first_model(annotation: Any, typing: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _first_model(arg, typing)
        if found is not None:
            return found
    return None


def _describe(error: Any) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    channel_model: type[BaseModel] | None = None
    if len(loc) >= 3 and loc[0] == "channels" and loc[2] in _CHANNEL_TYPES:
        # pydantic puts the discriminator's value in the path; people never wrote it
        channel_model = _CHANNEL_TYPES[str(loc[2])]
        loc = loc[:2] + loc[3:]
    if kind == "extra_forbidden":
        parent = channel_model if channel_model and len(loc) == 3 else _model_at(loc[:-1])
        allowed = ""
        if parent is not None:
            names = [f.alias or n for n, f in parent.model_fields.items()]
            allowed = f" (allowed: {_allowed(sorted(names))})"
        hint = ""
        key = str(loc[-1])
        if key in ("password", "secret", "token"):
            hint = (
                "; secrets are not stored in the config: put it in an environment variable "
                f"and name it with '{key}_env'"
            )
        return _path(loc), f"unknown key{allowed}{hint}"
    if kind == "missing":
        return _path(loc), "required key is missing"
    if kind == "union_tag_invalid":
        return _path(loc), "unknown channel type; allowed: apprise, email, webhook"
    if kind == "union_tag_not_found":
        return _path(loc), "missing 'type'; allowed: apprise, email, webhook"
    message = str(error.get("msg", "invalid value"))
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), _KeyError):
        key_error: _KeyError = ctx["error"]
        return _path(key_error.loc), key_error.message
    message = message.removeprefix("Value error, ")
    if kind == "literal_error" and "expected" in ctx:
        message = f"must be one of {ctx['expected']}"
    return _path(loc), message


def parse(data: object, source: str = "<config>") -> Config:
    """Validate an already-parsed YAML document; raise ConfigError naming file and key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys, not {type(data).__name__}"
        )
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_url=False):
            key, message = _describe(error)
            lines.append(f"{source}: {key}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
    return config


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file (start from config.example.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from None
    config = parse(data, str(file))
    logger.debug("loaded %d targets from %s", len(config.targets), file)
    return config


def database_of(config_path: str | os.PathLike[str], database: str | None) -> str:
    """The database URL for a command: ``--db`` if given, else the config file's."""
    if database:
        return database
    if not Path(config_path).exists():
        raise ConfigError(
            f"{config_path}: no such config file; pass -c CONFIG or --db DATABASE_URL"
        )
    return load(config_path).database


def secret(variable: str | None, key: str) -> str | None:
    """The secret held by the environment variable ``variable``; ConfigError if it is unset."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise ConfigError(f"{key}: the environment variable {variable} is not set")
    return value
