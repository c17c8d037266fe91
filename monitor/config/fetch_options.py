"""How a target's pages are requested: headers, cookies, a proxy and a User-Agent
(:class:`RequestOptions`, per target and in ``defaults``), and the browser that renders
``render: browser`` targets (:class:`Browser`, the ``browser`` section).

Secrets are never written in the config: a header or cookie value may be ``{env: VAR}``
and the proxy URL (credentials included) is named by ``proxy_env``; every variable is
checked when the config is loaded, and an unset one is an error naming the key.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from monitor.config.base import Strict
from monitor.config.units import parse_duration

logger = logging.getLogger(__name__)

__all__ = ["Browser", "FromEnv", "RequestOptions"]

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
COOKIE_NAME = HEADER_NAME
# Headers a target may not set: the proxy's and the transfer's own.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "proxy-authorization", "cookie"}
)


class FromEnv(Strict):
    """A value read from an environment variable (a secret never written in the config)."""

    env: str = Field(description="Name of the environment variable holding the value.")

    @field_validator("env")
    @classmethod
    def _set(cls, value: str) -> str:
        if os.environ.get(value) is None:
            raise ValueError(f"the environment variable {value} is not set")
        return value

    @property
    def value(self) -> str:
        return os.environ.get(self.env, "")


def env_value(variable: str) -> str:
    """The value of ``variable`` (checked when the config was loaded)."""
    value = os.environ.get(variable)
    if value is None:
        raise ValueError(f"the environment variable {variable} is not set")
    return value


def check_proxy_url(value: str, variable: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(
            f"the environment variable {variable} does not hold a proxy URL "
            f"({', '.join(s + '://host:port' for s in PROXY_SCHEMES)})"
        )
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ValueError(f"the proxy URL in {variable} has an invalid port") from None
    return value.strip()


class RequestOptions(Strict):
    """Request headers, cookies, a proxy and a User-Agent: per target and in ``defaults``."""

    headers: dict[str, str | FromEnv] = Field(
        default_factory=dict,
        description="Request headers, e.g. {Accept-Language: ru}; a value may be "
        "{env: VAR} (read from the environment).",
    )
    cookies: dict[str, str | FromEnv] = Field(
        default_factory=dict,
        description="Cookies sent with every request, e.g. {lang: ru, session: {env: VAR}}.",
    )
    proxy_env: str | None = Field(
        default=None,
        description="Environment variable holding the proxy URL (http://, https://, "
        "socks5:// or socks5h://, credentials in the URL).",
    )
    user_agent: str | None = Field(
        default=None, description="User-Agent for this target (overrides fetch.user_agent)."
    )

    @field_validator("headers", "cookies", mode="before")
    @classmethod
    def _from_env(cls, value: object, info: ValidationInfo) -> object:
        """A value is text, or {env: VAR}: checked here so the error names the entry."""
        if not isinstance(value, dict):
            return value
        what = "header" if info.field_name == "headers" else "cookie"
        for name, item in value.items():
            if isinstance(item, dict):
                if set(item) != {"env"} or not isinstance(item["env"], str):
                    raise ValueError(
                        f"{what} {name!r}: a value is text or {{env: VARIABLE}}, not {item!r}"
                    )
                if os.environ.get(item["env"]) is None:
                    raise ValueError(
                        f"{what} {name!r}: the environment variable {item['env']} is not set"
                    )
            elif not isinstance(item, str | int | float) or isinstance(item, bool):
                raise ValueError(f"{what} {name!r}: a value is text or {{env: VARIABLE}}")
        return {
            name: str(item) if isinstance(item, int | float) else item
            for name, item in value.items()
        }

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str | FromEnv]) -> dict[str, str | FromEnv]:
        for name in value:
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() == "cookie":
                raise ValueError("set cookies with 'cookies', not a Cookie header")
            if name.lower() == "user-agent":
                raise ValueError("set the User-Agent with 'user_agent', not a header")
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"the {name} header cannot be set")
        return value

    @field_validator("cookies")
    @classmethod
    def _cookie_names(cls, value: dict[str, str | FromEnv]) -> dict[str, str | FromEnv]:
        for name, item in value.items():
            if not COOKIE_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid cookie name")
            text = item.value if isinstance(item, FromEnv) else item
            if any(c in text for c in ";\r\n"):
                raise ValueError(f"the value of cookie {name!r} holds ';' or a line break")
        return value

    @field_validator("proxy_env")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None:
            check_proxy_url(env_value(value), value)
        return value

    @property
    def proxy(self) -> str | None:
        """The proxy URL, with its credentials (for requests only)."""
        return None if self.proxy_env is None else env_value(self.proxy_env).strip()


class Browser(Strict):
    """The browser that renders ``render: browser`` targets (Debian's Chromium), and its bounds."""

    executable: str = Field(
        default="/usr/bin/chromium",
        description="The Chromium to run (never a downloaded one).",
    )
    concurrency: int = Field(default=2, ge=1, le=32, description="Pages rendered at once.")
    max_contexts: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Browser contexts open at once (one per proxy and cookie set).",
    )
    restart_after: int = Field(
        default=50,
        ge=1,
        le=10000,
        description="Pages rendered before the browser is restarted (bounds its memory).",
    )
    navigation_timeout: float = Field(default=30.0, description="How long a page may load.")
    launch_args: tuple[str, ...] = Field(
        default=(), description="Extra Chromium command-line switches."
    )

    @field_validator("navigation_timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)
