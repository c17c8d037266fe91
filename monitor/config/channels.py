"""The alert sections: channels (by ``type``), routes and the event kinds they filter."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from monitor.config.base import Strict, check_http_url
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

    check_events = field_validator("events", mode="before")(
        lambda cls, value: validate_events(value)
    )

    @property
    def digest_period(self) -> float | None:
        """Seconds of a period digest; None for "off" and "cycle"."""
        return None if self.digest in ("off", "cycle") else parse_duration(self.digest)


class EmailChannel(ChannelBase):
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


class WebhookChannel(ChannelBase):
    """Alerts as a signed JSON POST to a URL."""

    type: Literal["webhook"]
    url: str
    secret_env: str | None = Field(
        default=None, description="Environment variable holding the HMAC secret."
    )
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = 10.0

    check_url = field_validator("url")(lambda cls, value: check_http_url(value))


class AppriseChannel(ChannelBase):
    """Alerts to chat and push services (Slack, Telegram, Matrix, ntfy, ...) via Apprise."""

    type: Literal["apprise"]
    urls_env: str = Field(
        description="Environment variable holding the Apprise URL(s), space-separated "
        "(they carry tokens, so they are secrets)."
    )
    timeout: float = 30.0


Channel = Annotated[EmailChannel | WebhookChannel | AppriseChannel, Field(discriminator="type")]
#: Channel models by the ``type`` the config names them with.
CHANNEL_TYPES: dict[str, type[BaseModel]] = {
    "apprise": AppriseChannel,
    "email": EmailChannel,
    "webhook": WebhookChannel,
}


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
