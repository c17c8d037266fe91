"""Subjects and bodies of alerts, from Jinja2 templates (defaults here, overridable).

Template variables (documented in README "Alerts"):

    event     one event payload (see monitor.notify.payload), for single-event messages
    events    the list of event payloads (one element unless a digest)
    digest    True for a digest message
    count     len(events)

A channel's ``templates: {subject, text, html}`` replaces a default: inline Jinja2
text, or ``file:PATH`` to read it from a file. HTML templates autoescape.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)

from monitor.exceptions import ConfigError

logger = logging.getLogger(__name__)

DEFAULTS = {"subject": "subject.txt.j2", "text": "body.txt.j2", "html": "body.html.j2"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("monitor", "notify/templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template(part: str, override: str | None, channel: str) -> Template:
    env = environment()
    if override is None:
        return env.get_template(DEFAULTS[part])
    source = override
    if override.startswith("file:"):
        path = Path(override[len("file:") :]).expanduser()
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"channels.{channel}.templates.{part}: cannot read {path}: {exc}"
            ) from None
    try:
        if part == "html":
            return env.overlay(autoescape=True).from_string(source)
        return env.from_string(source)
    except TemplateError as exc:
        raise ConfigError(
            f"channels.{channel}.templates.{part}: not a valid template: {exc}"
        ) from None


def render(
    channel: str, templates: Any, events: list[dict[str, Any]], *, digest: bool
) -> dict[str, str]:
    """Subject, plain-text and HTML bodies for one message."""
    context = {"event": events[0], "events": events, "digest": digest, "count": len(events)}
    out = {}
    for part in ("subject", "text", "html"):
        override = getattr(templates, part, None) if templates is not None else None
        try:
            out[part] = _template(part, override, channel).render(**context)
        except TemplateError as exc:
            raise ConfigError(
                f"channels.{channel}.templates.{part}: rendering failed: {exc}"
            ) from None
    out["subject"] = " ".join(out["subject"].split())
    return out
