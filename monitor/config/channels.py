"""The alert sections: what every channel has, routes, and the event kinds they filter.

Each channel kind's own settings model lives with its notifier (``monitor/notify/``) and
registers itself (:mod:`monitor.config.registry`).
"""

from __future__ import annotations

import logging

from pydantic import Field, field_validator

from monitor.config.base import Strict
from monitor.config.targets import Target
from monitor.config.units import parse_duration
from monitor.vocab import EventKind

logger = logging.getLogger(__name__)

EVENT_KINDS = tuple(kind.value for kind in EventKind)


def validate_events(value: object) -> object:
    value = [value] if isinstance(value, str) else value
    if isinstance(value, list | tuple):
        for kind in value:
            if kind not in EVENT_KINDS:
                raise ValueError(
                    f"{kind!r} is not an event kind; allowed: {', '.join(EVENT_KINDS)}"
                )
    return value


class Templates(Strict):
    """Jinja2 templates overriding a channel's defaults: inline text, or "file:PATH"."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None


class ChannelBase(Strict):
    """What every channel has: its kind, digest mode, templates, its own filters."""

    type: str

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

    check_events = field_validator("events", mode="before")(
        lambda cls, value: validate_events(value)
    )

    @property
    def digest_period(self) -> float | None:
        """Seconds of a period digest; None for "off" and "cycle"."""
        return None if self.digest in ("off", "cycle") else parse_duration(self.digest)


class Route(Strict):
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

    check_events = field_validator("events", mode="before")(
        lambda cls, value: validate_events(value)
    )

    def matches(self, target: Target) -> bool:
        if self.targets and target.name not in self.targets:
            return False
        return not self.tags or bool(set(self.tags) & set(target.tags))
