"""The config sections about what is watched and how: targets, schedules, selectors,
following listings, fetching and detection, and their defaults.

Why one module of this size: a target and the defaults it inherits are one schema (every
field a target sets has its default here, validated the same way, and a listing's follow
rules are checked against its own selector); split, the halves would import each other.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from monitor.config.base import MAX_NAME_LENGTH, NAME_RE, WEEKDAYS, Strict, check_http_url
from monitor.config.fetch_options import RequestOptions
from monitor.config.peek import DEFAULT_MAX_ARTICLES
from monitor.config.units import parse_duration, parse_size
from monitor.detect import patterns
from monitor.selector import Selector as SelectorValue

logger = logging.getLogger(__name__)


class Schedule(Strict):
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


class Selector(Strict):
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
    def value(self) -> SelectorValue:
        """The selector as the value extraction and the spiders take."""
        if self.css is not None:
            return SelectorValue("css", self.css)
        return SelectorValue("xpath", self.xpath or "")

    @property
    def expression(self) -> str:
        return self.value.expression


def _coerce_selector(value: object) -> object:
    """Accept ``"css:article"``, ``"xpath://main"`` or a plain CSS string as shorthand."""
    if isinstance(value, str):
        parsed = SelectorValue.parse(value)
        return {parsed.kind: parsed.query}
    return value


def _coerce_selectors(value: object) -> object:
    """A list of selectors, or one given alone."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(_coerce_selector(item) for item in value)
    return value


class Follow(Strict):
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
        default=DEFAULT_MAX_ARTICLES,
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
    sitemap: str | None = Field(
        default=None,
        description="Read the articles from this sitemap (index, gzip) instead of the "
        "listing page's links; 'robots': the sitemaps the site's robots.txt names.",
    )
    feed: str | None = Field(
        default=None, description="Read the articles from this RSS or Atom feed (too)."
    )

    @field_validator("sitemap")
    @classmethod
    def _sitemap(cls, value: str | None) -> str | None:
        if value is None or value == "robots":
            return value
        return check_http_url(value)

    @field_validator("feed")
    @classmethod
    def _feed(cls, value: str | None) -> str | None:
        return None if value is None else check_http_url(value)

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
        return None if value is None else patterns.check(value)

    @model_validator(mode="after")
    def _something(self) -> Follow:
        if self.sitemap is not None or self.feed is not None:
            if self.links is not None or self.next_page is not None:
                raise ValueError(
                    "'links' and 'next_page' read a listing page; with 'sitemap' or 'feed' "
                    "the articles come from those (filter them with 'pattern')"
                )
            return self
        if self.links is None and self.pattern is None:
            raise ValueError(
                "give 'links' (a selector), 'pattern' (a regex), or both; or a 'sitemap' or 'feed'"
            )
        return self


class Target(RequestOptions):
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
    allow_private: bool | None = Field(
        default=None,
        description="Override fetch.allow_private: true lets this target's redirects lead "
        "into private addresses.",
    )
    follow: Follow | None = Field(default=None, description="Makes this a listing target.")
    notify: tuple[str, ...] | None = Field(default=None, description="Channel names.")
    watch_terms: tuple[str, ...] = Field(default=(), description="Extra significant words.")
    min_significance: float = Field(default=0.0, ge=0, le=1, description="Alert threshold.")
    enabled: bool = Field(default=True, description="False keeps history but stops checks.")
    attachments: bool = Field(
        default=True,
        description="Watch the documents (.pdf, .docx, .odt) its content links to.",
    )
    render: Literal["plain", "browser"] = Field(
        default="plain",
        description="browser: a browser (Chromium) runs the page's scripts and the rendered "
        "page is captured.",
    )
    wait_for: str | None = Field(
        default=None,
        description="With render: browser, what to wait for before reading the page: "
        '"css:SELECTOR" (or "xpath:...") or "network_idle" (the default).',
    )
    wait_timeout: float = Field(
        default=15.0, description="How long the browser waits for wait_for (or network idle)."
    )

    @field_validator("wait_timeout", mode="before")
    @classmethod
    def _wait_duration(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("wait_timeout")
    @classmethod
    def _wait_positive(cls, value: float) -> float:
        if not 0 < value <= 300:
            raise ValueError("the wait must be longer than 0 s and at most 5m")
        return value

    @field_validator("wait_for")
    @classmethod
    def _wait_for(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("render") != "browser":
            raise ValueError("wait_for needs render: browser")
        if value is None or value == "network_idle":
            return value
        if not value.startswith(("css:", "xpath:")):
            raise ValueError(
                f"{value!r}: write 'css:SELECTOR', 'xpath:EXPRESSION' or 'network_idle'"
            )
        kind, _, query = value.partition(":")
        Selector.model_validate({kind: query})  # a clear error for a bad selector
        return value

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
        if not NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a usable name; use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if len(value) > MAX_NAME_LENGTH:
            raise ValueError(
                f"a name of {len(value)} characters is too long; the most is {MAX_NAME_LENGTH}"
            )
        return value

    check_url = field_validator("url")(lambda cls, value: check_http_url(value))

    @field_validator("ignore")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(patterns.check(pattern) for pattern in value)

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


class Fetch(Strict):
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
    allow_private: bool = Field(
        default=False,
        description="Follow redirects and meta refreshes from public addresses into "
        "private ones (loopback, private, link-local, metadata); a target whose own URL "
        "is private may always redirect.",
    )
    public_networks: tuple[str, ...] = Field(
        default=(),
        description="Address ranges (CIDR) counted as public although reserved, e.g. a "
        "lab network that stands for the internet.",
    )

    @field_validator("public_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        import ipaddress

        value = [value] if isinstance(value, str) else value
        if isinstance(value, list | tuple):
            for item in value:
                try:
                    ipaddress.ip_network(str(item).strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r} is not an address range such as 10.0.0.0/8 or fd00::/8"
                    ) from None
        return value

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


class Detect(Strict):
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


class Defaults(RequestOptions):
    """Values every target inherits unless it sets its own (headers and cookies are
    merged, the target's winning)."""

    schedule: Schedule = Field(default_factory=lambda: Schedule(every=3600.0, jitter=60.0))
    notify: tuple[str, ...] = Field(default=(), description="Channels of every target.")
    ignore: tuple[str, ...] = Field(default=(), description="Regexes ignored on every target.")

    @field_validator("notify", "ignore", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("ignore")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(patterns.check(pattern) for pattern in value)
