"""The whole configuration file (:class:`Config`) and its daemon, outbox and archive sections."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from monitor.config.base import MAX_NAME_LENGTH, Strict
from monitor.config.channels import Route
from monitor.config.errors import ConfigKeyError, allowed
from monitor.config.fetch_options import Browser
from monitor.config.peek import DEFAULT_DATABASE
from monitor.config.registry import SECTIONS
from monitor.config.targets import Defaults, Detect, Fetch, Schedule, Target
from monitor.config.units import parse_duration
from monitor.exceptions import ConfigError

if TYPE_CHECKING:
    from monitor.cluster.settings import ClusterSettings
    from monitor.config.channels import ChannelBase as Channel
    from monitor.evidence.settings import ArchiveSettings


logger = logging.getLogger(__name__)


class Metrics(Strict):
    """The Prometheus metrics endpoint of the daemon (off by default)."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", description="Address to bind; keep it local.")
    port: int = Field(default=9464, ge=1, le=65535)


class Daemon(Strict):
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


class Outbox(Strict):
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


def _section(key: str) -> Any:
    """The defaults of a plugin's section (its model, registered when it was loaded)."""
    return SECTIONS[key]()


class Config(Strict):
    """The whole configuration file."""

    database: str = Field(default=DEFAULT_DATABASE, description="SQLAlchemy database URL.")
    fetch: Fetch = Field(default_factory=Fetch)
    detect: Detect = Field(default_factory=Detect)
    defaults: Defaults = Field(default_factory=Defaults)
    channels: dict[str, Channel] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    outbox: Outbox = Field(default_factory=Outbox)
    daemon: Daemon = Field(default_factory=Daemon)
    browser: Browser = Field(default_factory=Browser)
    # Both resolved when the plugins that own them are loaded (config.loading.load_plugins).
    archive: ArchiveSettings = Field(default_factory=lambda: _section("archive"))
    cluster: ClusterSettings = Field(default_factory=lambda: _section("cluster"))
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
        for name in self.channels:
            if len(name) > MAX_NAME_LENGTH:
                raise ConfigKeyError(
                    ("channels", name[:40] + "..."),
                    f"a channel name of {len(name)} characters is too long; "
                    f"the most is {MAX_NAME_LENGTH}",
                )
        seen: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.name in seen:
                raise ConfigKeyError(
                    ("targets", index, "name"),
                    f"{target.name!r} is already the name of targets[{seen[target.name]}]; "
                    "names must be unique",
                )
            seen[target.name] = index
            for channel in target.notify or ():
                if channel not in self.channels:
                    raise ConfigKeyError(
                        ("targets", index, "notify"),
                        f"{channel!r} is not a channel; defined channels: "
                        f"{allowed(sorted(self.channels))}",
                    )
        for index, route in enumerate(self.routes):
            for channel in route.channels:
                if channel not in self.channels:
                    raise ConfigKeyError(
                        ("routes", index, "channels"),
                        f"{channel!r} is not a channel; defined channels: "
                        f"{allowed(sorted(self.channels))}",
                    )
            names = {t.name for t in self.targets}
            for name in route.targets:
                if name not in names:
                    raise ConfigKeyError(
                        ("routes", index, "targets"),
                        f"{name!r} is not a target; known targets: {allowed(sorted(names))}",
                    )
        self._browser_checks()
        for channel in self.defaults.notify:
            if channel not in self.channels:
                raise ConfigKeyError(
                    ("defaults", "notify"),
                    f"{channel!r} is not a channel; defined channels: "
                    f"{allowed(sorted(self.channels))}",
                )
        return self

    def _browser_checks(self) -> None:
        """Targets rendered by a browser need the browser, and Chromium cannot log in to
        a SOCKS proxy."""
        import os

        for index, target in enumerate(self.targets):
            if target.render != "browser":
                continue
            if not os.access(self.browser.executable, os.X_OK):
                raise ConfigKeyError(
                    ("browser", "executable"),
                    f"{self.browser.executable} is not an executable browser, and "
                    f"targets[{index}] ({target.name}) has render: browser; install "
                    "Debian's chromium (apt-get install chromium) or set browser.executable",
                )
            proxy = target.proxy if target.proxy_env else self.defaults.proxy
            if proxy and proxy.startswith("socks") and "@" in proxy.split("//", 1)[-1]:
                where = (
                    ("targets", index, "proxy_env")
                    if target.proxy_env
                    else ("defaults", "proxy_env")
                )
                raise ConfigKeyError(
                    where,
                    f"targets[{index}] ({target.name}) has render: browser, and Chromium "
                    "cannot log in to a SOCKS proxy: use a SOCKS proxy without credentials "
                    "or an HTTP proxy",
                )

    def schedule_of(self, target: Target) -> Schedule:
        return target.schedule or self.defaults.schedule

    def channels_of(self, target: Target) -> tuple[str, ...]:
        return target.notify if target.notify is not None else self.defaults.notify

    def private_allowed(self, target: Target) -> bool:
        """Whether redirects of ``target`` may lead into private addresses."""
        if target.allow_private is not None:
            return target.allow_private
        return self.fetch.allow_private

    def ignore_of(self, target: Target) -> tuple[str, ...]:
        return self.defaults.ignore + target.ignore

    def select(self, names: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> list[Target]:
        """Enabled targets, limited to the given names and tags when any are given."""
        unknown = [name for name in names if name not in {t.name for t in self.targets}]
        if unknown:
            raise ConfigError(
                f"no target named {', '.join(map(repr, unknown))}; "
                f"known targets: {allowed([t.name for t in self.targets])}"
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
