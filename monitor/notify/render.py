"""Subjects and bodies of alerts, from Jinja2 templates (defaults here, overridable).

Template variables (documented in README "Alerts"):

    event     one event payload (see monitor.notify.payload), for single-event messages
    events    the list of event payloads (one element unless a digest)
    digest    True for a digest message
    count     len(events)

and filters: ``human`` (a time as a person reads it, with its UTC offset, in the
channel's ``timezone``), ``short_title(site)`` (a page's title without the site's name
its pages end with), ``change_url`` (the web page of this change: its diff, else the
version, else the event on the page's timeline).

A channel's ``templates: {subject, text, html}`` replaces a default: inline Jinja2
text, or ``file:PATH`` to read it from a file. HTML templates autoescape, and the HTML
part's ``<style>`` rules are written into each element's ``style`` attribute (mail
clients drop ``<style>``; css-inline does it, never fetching a remote stylesheet).
"""

from __future__ import annotations

import logging
import re
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from monitor.exceptions import ConfigError
from monitor.timefmt import human as human_time

logger = logging.getLogger(__name__)

DEFAULTS = {"subject": "subject.txt.j2", "text": "body.txt.j2", "html": "body.html.j2"}


# " | ", " — ", " - ", " :: " ...: what separates a page's own title from its site's name.
_SEPARATOR = re.compile(r"\s+(?:[|–—·•:»«~/-]|::)\s+")


def short_title(title: str | None, site: str = "") -> str:
    """A page's title without the site's name that its pages' titles end with, for a
    subject line that names the site once (its host follows).

    The last part after a separator goes when it reads as a name, not as part of the
    title: no digits, and several words or a word of the host.

    >>> short_title("Consular bulletin 12 — Embassy of Examplestan in Testland")
    'Consular bulletin 12'
    >>> short_title("Statement | MFA", "mfa.example.org")
    'Statement'
    >>> short_title("Visa rules - Updated", "embassy.example.org")
    'Visa rules - Updated'
    >>> short_title("Press release - 3 March 2026")
    'Press release - 3 March 2026'
    """
    text = " ".join((title or "").split())
    separators = list(_SEPARATOR.finditer(text))
    if not separators:
        return text
    head, tail = text[: separators[-1].start()], text[separators[-1].end() :]
    host_words = {word for word in re.split(r"[.\-:]", site.lower()) if len(word) > 1}
    words = tail.split()
    name_like = not re.search(r"\d", tail) and (
        len(words) >= 2 or any(word.lower().strip(".") in host_words for word in words)
    )
    if not name_like or len(head) < 3:
        return text
    return head


def change_url(event: dict[str, Any]) -> str | None:
    """The web page of this change: the diff of its two versions, else its version,
    else the event on the page's timeline (None without ``public_url``)."""
    base = event.get("history_url")
    if not base:
        return None
    before, after = event.get("from_version"), event.get("to_version")
    if before and after and before["seq"] != after["seq"]:
        return f"{base}/diff/{before['seq']}/{after['seq']}"
    if after:
        return f"{base}/versions/{after['seq']}"
    return f"{base}#event-{event['id']}"


@pass_context
def _human(context: Context, value: Any) -> str:
    zone: tzinfo | None = context.get("timezone")
    return human_time(value, zone)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor", "notify/templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(human=_human, short_title=short_title, change_url=change_url)
    return env


@lru_cache(maxsize=1)
def _inliner() -> Any:
    import css_inline

    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


def inline_styles(html: str) -> str:
    """The HTML part with its ``<style>`` rules moved into ``style`` attributes."""
    try:
        inlined: str = _inliner().inline(html)
    except ValueError as exc:  # css_inline.InlineError: a rule it cannot read
        logger.warning("could not inline the message's styles: %s", exc)
        return html
    return inlined


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
    channel: str,
    templates: Any,
    events: list[dict[str, Any]],
    *,
    digest: bool,
    zone: tzinfo | None = None,
) -> dict[str, str]:
    """Subject, plain-text and HTML bodies for one message (times in ``zone``, else UTC)."""
    context = {
        "event": events[0],
        "events": events,
        "digest": digest,
        "count": len(events),
        "timezone": zone,
    }
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
    out["html"] = inline_styles(out["html"])
    return out
