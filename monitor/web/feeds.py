"""Atom feeds of events: all of them, one target's, or one tag's.

- ``/feeds/events.atom``
- ``/feeds/targets/{name}.atom``
- ``/feeds/tags/{tag}.atom``

Each entry is one event (changed, removed, added, restored, error, recovered) with its
significance, the reasons behind it and the diff in colour (the changed stretches, the
web's diff stylesheet written into the elements' ``style`` attributes, since feed readers
drop stylesheets and classes); its link is the event's diff (or the page's timeline).
The XML is built with ElementTree, so every value is escaped, and characters XML cannot
carry (control characters in a captured page) are dropped.

Why not ``feedgen``: the element building it would replace is a few dozen lines, while
what is ours either way (dropping the characters XML cannot carry, the inline-styled diff
as entry content, the links to the diff pages) stays; it would add a dependency (and its
lxml serialisation) to every install for no line of behaviour saved.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor import __version__, history
from monitor.exceptions import UnknownTargetError
from monitor.storage.models import Target, Version
from monitor.storage.store import Store
from monitor.timefmt import stamp

logger = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
#: Entries per feed.
ENTRIES = 50
#: Word diffs are put in entries only for versions up to this many characters (each side);
#: a bigger change links to its diff page instead.
DIFF_CHARS = 300_000
#: Changed lines shown per entry.
DIFF_LINES = 40
#: Unchanged text kept around an edit inside a long line (characters, each side).
EXCERPT = 120

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as text that XML 1.0 can hold."""
    return _NOT_XML.sub("", str(value))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(
        parent, f"{{{ATOM}}}{tag}", {k: xml_text(v) for k, v in attributes.items()}
    )
    if text is not None:
        element.text = xml_text(text)
    return element


@lru_cache(maxsize=1)
def _stylesheet() -> str:
    from importlib import resources

    css = (resources.files("monitor.web") / "static" / "diff.css").read_text(encoding="utf-8")
    # No line numbers in a feed reader (they are drawn by ::before): no room kept for them.
    return css + "\n.diff .line { padding: 0.1rem 0.4rem; }\n"


def diff_html(diff: Any) -> str:
    """The first DIFF_LINES changed lines of a TextDiff as inline HTML, a line of context
    around each stretch, with the diff stylesheet written into the elements' ``style``."""
    import css_inline

    pieces, left_out = history.diff_excerpt(diff, changed_lines=DIFF_LINES, chars=EXCERPT)
    parts = [piece.inline_html(context=None) for piece in pieces]
    if left_out:
        parts.append(f'<p class="more">… {left_out} more changed lines</p>')
    return str(css_inline.inline_fragment("\n".join(parts), _stylesheet()))


def _diffs(store: Store, events: list[history.EventView]) -> dict[int, str]:
    """The coloured diff of each event between two versions (skipping very large pages)."""
    pairs = {
        event.id: (event.page_id, event.from_seq, event.to_seq)
        for event in events
        if event.from_seq is not None
        and event.to_seq is not None
        and event.from_seq != event.to_seq
    }
    if not pairs:
        return {}
    wanted = {(page_id, seq) for page_id, a, b in pairs.values() for seq in (a, b)}
    texts: dict[tuple[int, int], Any] = {}
    with store.session() as session:
        page_ids = {page_id for page_id, _seq in wanted}
        for row in session.execute(
            select(
                Version.id,
                Version.page_id,
                Version.seq,
                Version.title,
                Version.text,
                Version.links,
                Version.images,
            )
            .where(Version.page_id.in_(page_ids))
            .where(Version.seq.in_({seq for _page, seq in wanted}))
        ):
            if (row.page_id, row.seq) in wanted:
                texts[(row.page_id, row.seq)] = row
    out: dict[int, str] = {}
    for event_id, (page_id, a, b) in pairs.items():
        old, new = texts.get((page_id, a)), texts.get((page_id, b))
        if old is None or new is None or max(len(old.text), len(new.text)) > DIFF_CHARS:
            continue
        text_diff = history.cached_diff(old, new)[0]
        if text_diff.changed:
            out[event_id] = diff_html(text_diff)
    return out


def atom(
    store: Store,
    events: list[history.EventView],
    *,
    title: str,
    feed_id: str,
    self_url: str,
    base_url: str,
) -> bytes:
    """An Atom 1.0 document of ``events`` (newest first)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", feed_id)
    _sub(feed, "title", title)
    _sub(feed, "updated", stamp(events[0].detected_at if events else datetime.now(UTC)))
    _sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _sub(feed, "link", rel="alternate", href=base_url + "/", type="text/html")
    _sub(feed, "generator", "monitor", version=__version__)
    author = _sub(feed, "author")
    _sub(author, "name", "monitor")
    diffs = _diffs(store, events)
    for event in events:
        entry = _sub(feed, "entry")
        _sub(entry, "id", f"urn:uuid:{event.uid}")
        _sub(entry, "title", event.summary or f"{event.kind}: {event.url}")
        _sub(entry, "updated", stamp(event.detected_at))
        _sub(entry, "published", stamp(event.detected_at))
        if (
            event.from_seq is not None
            and event.to_seq is not None
            and event.from_seq != event.to_seq
        ):
            link = f"{base_url}/pages/{event.page_id}/diff/{event.from_seq}/{event.to_seq}"
        elif event.to_seq is not None:
            link = f"{base_url}/pages/{event.page_id}/versions/{event.to_seq}"
        else:
            link = f"{base_url}/pages/{event.page_id}"
        _sub(entry, "link", rel="alternate", href=link, type="text/html")
        _sub(entry, "category", term=event.kind, label=event.kind)
        if event.target:
            _sub(entry, "category", term=event.target, scheme=f"{base_url}/targets/")
        for tag in event.tags:
            _sub(entry, "category", term=tag, scheme=f"{base_url}/feeds/tags/")
        reasons = "; ".join(event.reasons)
        _sub(
            entry,
            "summary",
            f"{event.kind} · significance {event.significance:.2f}"
            + (f" ({reasons})" if reasons else "")
            + f" · {event.url}",
            type="text",
        )
        # HTML built here, all captured text escaped once: a reader shows it as text.
        parts = [
            f"<p><strong>{html.escape(event.kind)}</strong> on "
            f"<code>{html.escape(event.url)}</code>, significance "
            f"{event.significance:.2f}</p>"
        ]
        if event.reasons:
            items = "".join(f"<li>{html.escape(reason)}</li>" for reason in event.reasons)
            parts.append(f"<ul>{items}</ul>")
        if event.id in diffs:
            parts.append(diffs[event.id])  # the differ escaped every text of the page
        parts.append(f'<p><a href="{html.escape(link)}">See the change</a></p>')
        _sub(entry, "content", "".join(parts), type="html")
    body: bytes = ET.tostring(feed, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _base_url(request: Request) -> str:
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _feed(request: Request, events: list[history.EventView], title: str, path: str) -> Response:
    base = _base_url(request)
    body = atom(
        request.app.state.store,
        events,
        title=title,
        feed_id=f"{base}{path}",
        self_url=f"{base}{path}",
        base_url=base,
    )
    return Response(body, media_type=MEDIA_TYPE)


def all_events(request: Request) -> Response:
    events = history.recent_events(request.app.state.store, limit=ENTRIES)
    return _feed(request, events, "monitor: all events", "/feeds/events.atom")


def target_events(request: Request) -> Response:
    name = request.path_params["name"]
    store: Store = request.app.state.store
    with store.session() as session:
        if session.scalar(select(Target.id).where(Target.name == name)) is None:
            raise UnknownTargetError(f"no target named {name!r}")
    events = history.recent_events(store, target=name, limit=ENTRIES)
    return _feed(request, events, f"monitor: {name}", f"/feeds/targets/{quote(name)}.atom")


def tag_events(request: Request) -> Response:
    tag = request.path_params["tag"]
    events = history.recent_events(request.app.state.store, tag=tag, limit=ENTRIES)
    return _feed(request, events, f"monitor: tag {tag}", f"/feeds/tags/{quote(tag)}.atom")


def routes() -> list[Route]:
    return [
        Route("/feeds/events.atom", all_events, name="feed_all"),
        Route("/feeds/targets/{name}.atom", target_events, name="feed_target"),
        Route("/feeds/tags/{tag}.atom", tag_events, name="feed_tag"),
    ]
