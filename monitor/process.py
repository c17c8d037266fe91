"""From a fetch to an observation: decode, judge quality, extract, normalise, hash.

Pure functions of plain data; no network, no database. The store then decides whether
an observation is a new version.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from functools import cached_property

from monitor import extract as extraction
from monitor.exceptions import ExtractionError, SelectorNotMatchedError
from monitor.normalize import canonical_url, normalize_line, normalize_lines
from monitor.records import FetchResult, Observation, PageState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessRules:
    """Everything about a target that shapes how its captures are turned into content."""

    extract: extraction.Rules
    ignore: tuple[str, ...] = ()
    encoding: str | None = None

    @cached_property
    def ignore_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(pattern) for pattern in self.ignore)

    @cached_property
    def key(self) -> str:
        """A fingerprint of these rules: a stored capture is only reused under equal rules."""
        text = repr((PROCESS_VERSION, self.extract, self.ignore, self.encoding))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# Bump when extraction or normalisation changes what content a body yields, so the
# fast path ("same bytes, same content") is not trusted across such a change.
PROCESS_VERSION = 1


def content_hash(title: str | None, lines: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update((title or "").encode())
    digest.update(b"\x00")
    digest.update("\n".join(lines).encode())
    return digest.hexdigest()


def observe(fetch: FetchResult, rules: ProcessRules, state: PageState | None) -> Observation:
    """Turn one fetch into an observation of the page's content (or of a failure)."""
    if fetch.error is not None or fetch.status is None:
        return Observation(
            fetch=fetch, body_sha256=None, quality="error", outcome_hint="error", note=fetch.error
        )
    body_sha = hashlib.sha256(fetch.body).hexdigest()
    if not 200 <= fetch.status < 300:
        return Observation(
            fetch=fetch,
            body_sha256=body_sha,
            quality="error",
            outcome_hint="error",
            note=f"HTTP {fetch.status}",
        )
    if (
        state is not None
        and state.last_body_sha256 == body_sha
        and state.last_extract_key == rules.key
        and state.last_content_sha256 is not None
    ):
        # Same bytes under the same rules as the last good capture: same content.
        return Observation(
            fetch=fetch,
            body_sha256=body_sha,
            quality="ok",
            outcome_hint="unchanged",
            content_sha256=state.last_content_sha256,
            extract_key=rules.key,
        )
    content_type = fetch.headers.get("content-type")
    base_url = fetch.final_url or fetch.requested_url
    try:
        from monitor.decode import decode

        html, encoding = decode(fetch.body, content_type, rules.encoding)
        extracted = extraction.extract(html, base_url, rules.extract)
    except SelectorNotMatchedError as exc:
        return Observation(
            fetch=fetch,
            body_sha256=body_sha,
            quality="error",
            outcome_hint="error",
            note=f"target problem: {exc}",
        )
    except ExtractionError as exc:
        return Observation(
            fetch=fetch, body_sha256=body_sha, quality="low", outcome_hint="error", note=str(exc)
        )
    title = normalize_line(extracted.title) if extracted.title else None
    lines = normalize_lines(extracted.lines, rules.ignore_patterns)
    links = [(canonical_url(url), normalize_line(text)) for url, text in extracted.links]
    if fetch.role == "listing" and fetch.article_links is not None:
        # A listing is a set of articles: order and pagination are not content.
        lines = sorted(
            {f"{normalize_line(text)} <{canonical_url(url)}>" for url, text in fetch.article_links}
        )
    if not lines and not title:
        return Observation(
            fetch=fetch,
            body_sha256=body_sha,
            quality="low",
            outcome_hint="error",
            encoding=encoding,
            note="the page has no text content",
        )
    return Observation(
        fetch=fetch,
        body_sha256=body_sha,
        quality="ok",
        outcome_hint="content",
        encoding=encoding,
        title=title,
        text="\n".join(lines),
        links=links,
        content_sha256=content_hash(title, lines),
        extract_key=rules.key,
    )
