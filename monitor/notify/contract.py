"""The webhook contract: pydantic models of the event and digest payloads.

:mod:`monitor.notify.payload` builds the payloads; these models say what they may hold,
and the published JSON Schemas ``schemas/webhook-event.v1.json`` and
``schemas/webhook-digest.v1.json`` are generated from them::

    python -m monitor.notify.contract      # writes both files into schemas/

The payload itself did not change when the schemas became generated (same fields, same
values, ``schema: monitor.event/1``). A new event kind joins v1's ``event`` enum (as
``moved`` did), so a receiver should accept kinds it does not know; a change to an
existing field's shape is a new version (``v2`` files and ``monitor.event/2``), never an
edit of ``v1``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from monitor.schemagen import Contract, definitions, dumps
from monitor.vocab import EventKind

SCHEMA_ID = "https://github.com/monitor-project/monitor/schemas/"
EVENT_FILE = "webhook-event.v1.json"
DIGEST_FILE = "webhook-digest.v1.json"

Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Link = tuple[str, str]


class VersionRef(Contract):
    """One version of the page, as captured."""

    seq: Annotated[int, Field(ge=1)]
    captured_at: DateTime
    content_sha256: Sha256
    body_sha256: Sha256 | None
    status: int | None


class Significance(Contract):
    """How much the change matters, and why."""

    score: Annotated[float, Field(ge=0, le=1)]
    features: dict[str, Any] = Field(description="Named features behind the score.")
    reasons: list[str]


class TextChange(Contract):
    """The text that changed. A removal's ``removed`` holds what the page said before it
    went (the last version's title and first lines)."""

    added: str = Field(description="Inserted text.")
    removed: str = Field(description="Deleted text.")
    unified: str = Field(description="Unified diff of the two versions.")
    inline_html: str = Field("", description="Escaped HTML with <ins>/<del>.")
    stats: dict[str, int] = Field(default_factory=dict, description="Characters, words, hunks.")


class LinkChange(Contract):
    """Links (address, text) added to and removed from the page."""

    added: list[Link]
    removed: list[Link]


class Event(Contract):
    """The body of a webhook POST for one event (X-Monitor-Event names its kind). `id` is
    stable across retries: a receiver drops a second POST with the same id."""

    schema_: Literal["monitor.event/1"] = Field(alias="schema")
    id: Annotated[str, Field(min_length=1, description="Unique per event (a UUID).")]
    event: EventKind
    target: str = Field(description="The target's name in the config.")
    tags: list[str]
    url: str = Field(description="The watched page.")
    final_url: str | None = Field(description="Where the fetch ended (redirects).")
    status: int | None = Field(description="HTTP status of the capture.")
    title: str
    site: str = Field(description="Host name of the page.")
    detected_at: DateTime
    from_version: VersionRef | None
    to_version: VersionRef | None
    significance: Significance
    summary: str = Field(description="One line: what happened and where.")
    diff: TextChange
    links: LinkChange
    history_url: str | None = Field(
        description="This change in the web UI, when public_url is set."
    )
    monitor_version: str


class Digest(Contract):
    """The body of a webhook POST from a channel in digest mode (X-Monitor-Event: digest):
    several events in one message."""

    schema_: Literal["monitor.digest/1"] = Field(alias="schema")
    id: str = Field(description="Derived from the ids of its events: stable across retries.")
    count: Annotated[int, Field(ge=1)]
    events: list[Event]
    monitor_version: str


def _document(model: type[Contract], file: str, title: str) -> dict[str, Any]:
    defs = definitions([model], ref_template="#/$defs/{model}")
    root = defs.pop(model.__name__)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID + file,
        "title": title,
        **root,
        **({"$defs": defs} if defs else {}),
    }


def event_schema() -> dict[str, Any]:
    """The JSON Schema of one event's payload."""
    return _document(Event, EVENT_FILE, "monitor event, version 1")


def digest_schema() -> dict[str, Any]:
    """The JSON Schema of a digest's payload (its events are complete event payloads)."""
    return _document(Digest, DIGEST_FILE, "monitor digest, version 1")


def documents() -> dict[str, str]:
    """Every published webhook schema, by file name, as written to ``schemas/``."""
    return {EVENT_FILE: dumps(event_schema()), DIGEST_FILE: dumps(digest_schema())}


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("schemas")
    for name, text in documents().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote {folder / name}")
