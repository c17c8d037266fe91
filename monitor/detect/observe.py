"""From a fetch to an observation: decode, judge quality, extract, normalise, hash.

Pure functions of plain data; no network, no database. The store then decides whether
an observation is a new version.

Why one module of this size: the order of the steps is the point (a removal or a block
page is judged before the content is read, the whole page before the selected region,
and only when the region does not plainly hold the last version's content), and that
order is read in one place, for pages and documents alike.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from monitor.detect import documents, quality, site_boilerplate, volatility
from monitor.detect import extract as extraction
from monitor.detect.decode import decode
from monitor.detect.normalize import (
    canonical_url,
    image_identity,
    normalize_keyed_lines,
    normalize_line,
    normalize_lines,
)
from monitor.detect.patterns import TimedPatterns
from monitor.exceptions import (
    DocumentError,
    ExtractionError,
    PatternTimeoutError,
    SelectorNotMatchedError,
)
from monitor.records import FetchResult, Observation, PageState
from monitor.vocab import Quality, QualityKind, Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessRules:
    """Everything about a target that shapes how its captures are turned into content."""

    extract: extraction.Rules
    ignore: tuple[str, ...] = ()
    encoding: str | None = None

    def ignore_patterns(self) -> TimedPatterns:
        """The ignore patterns for one page: they share one time budget."""
        return TimedPatterns(self.ignore)

    @cached_property
    def key(self) -> str:
        """A fingerprint of these rules: a stored capture is only reused under equal rules."""
        text = repr((PROCESS_VERSION, self.extract, self.ignore, self.encoding))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TargetRules:
    """A target's process rules by page role: a listing's articles have their own region
    (``follow.selector``/``follow.exclude``, else automatic extraction); its own
    ``selector`` applies to its listing pages only."""

    pages: ProcessRules  # the target's own page, its listing and continuation pages
    articles: ProcessRules | None = None  # None: as ``pages``

    def of(self, role: Role) -> ProcessRules:
        if role == Role.ARTICLE and self.articles is not None:
            return self.articles
        if role == Role.ATTACHMENT and (self.pages.extract.selector or self.pages.extract.exclude):
            # A document link that answers with a web page: its own page, not the target's
            # region (which is its parent's).
            return replace(
                self.pages, extract=replace(self.pages.extract, selector=None, exclude=())
            )
        return self.pages


# Bump when extraction or normalisation changes what content a body yields, so the
# fast path ("same bytes, same content") is not trusted across such a change.
# 5: documents read as text; a page's attachments (document links) are compared.
PROCESS_VERSION = 5


def content_hash(
    title: str | None,
    lines: list[str],
    images: Iterable[Sequence[str]] = (),
    links: Iterable[Sequence[str]] = (),
) -> str:
    """The hash captures are compared by: title, compared lines, the content's images
    (by address without query, and alt text) and its attachments (the addresses of its
    document links); a page without images or attachments hashes as before."""
    digest = hashlib.sha256()
    digest.update((title or "").encode())
    digest.update(b"\x00")
    digest.update("\n".join(lines).encode())
    pictures = sorted({f"{image_identity(image[0])}\t{image[1]}" for image in images})
    if pictures:
        digest.update(b"\x00images\x00")
        digest.update("\n".join(pictures).encode())
    attachments = sorted(url for url, _text in documents.attachments_of(links))
    if attachments:
        digest.update(b"\x00attachments\x00")
        digest.update("\n".join(attachments).encode())
    return digest.hexdigest()


def stored_hash(
    title: str | None,
    text: str,
    images: Iterable[Sequence[str]] | None,
    learned: volatility.Volatility | None,
    chrome: site_boilerplate.SiteChrome | None,
    links: Iterable[Sequence[str]] | None = None,
) -> str:
    """The compare hash of a stored version under what is known now (volatility, site
    chrome): what the next capture of its page is compared with."""
    compared, _candidates = compared_lines(
        text.splitlines(), (), learned or volatility.NONE, chrome or site_boilerplate.NONE
    )
    return content_hash(title, compared, images or (), links or ())


def compared_lines(
    lines: list[str],
    keys: Sequence[str],
    learned: volatility.Volatility,
    chrome: site_boilerplate.SiteChrome,
) -> tuple[list[str], tuple[str, ...]]:
    """Lines as compared: site chrome left out, then volatile parts masked; and the
    candidate site chrome (new text in a chrome block) to look at again. A document's
    lines lose their page markers and page numbers, and no site chrome applies to them."""
    if documents.is_document(lines):
        return volatility.mask(documents.comparable(lines), learned), ()
    site = site_boilerplate.compare(lines, keys, chrome)
    return volatility.mask(site.lines, learned), site.candidates


def observe(fetch: FetchResult, rules: ProcessRules, state: PageState | None) -> Observation:
    """Turn one fetch into an observation of the page's content (or of a failure).

    What the page has become is judged before its content is read: a removal, a block
    page or a login wall is judged on the whole page, whatever region a selector picks;
    only a page that is still the page and lost its region is a target problem. So is
    an ignore regex that runs past its time limit (it is named; the check goes on).
    """
    try:
        return _observe(fetch, rules, state, rules.ignore_patterns())
    except PatternTimeoutError as exc:
        logger.error("%s: %s", fetch.key.target, exc)
        body_sha = hashlib.sha256(fetch.body).hexdigest() if fetch.body else None
        return _problem(
            fetch, body_sha, Quality.ERROR, QualityKind.PATTERN, f"target problem: ignore: {exc}"
        )


def _observe(
    fetch: FetchResult, rules: ProcessRules, state: PageState | None, ignore: TimedPatterns
) -> Observation:
    if fetch.error is not None or fetch.status is None:
        return _problem(
            fetch,
            None,
            Quality.ERROR,
            fetch.error_kind or QualityKind.NETWORK,
            fetch.error or "no response",
        )
    if fetch.status == 304 and state is not None and state.last_content_sha256 is not None:
        # Not Modified, answering our If-None-Match/If-Modified-Since: the last content.
        return _unchanged(fetch, None, state, rules, note="304 Not Modified")
    body_sha = hashlib.sha256(fetch.body).hexdigest()
    if (
        state is not None
        and 200 <= fetch.status < 300
        and state.last_body_sha256 == body_sha
        and state.last_extract_key == rules.key
        and state.last_content_sha256 is not None
        and fetch.role != Role.LISTING
        and not quality.redirect_removal(fetch.requested_url, fetch.final_url)
    ):
        # Same bytes under the same rules as the last good capture: same content.
        return _unchanged(fetch, body_sha, state, rules, note=_served_note(fetch))
    content_type = fetch.headers.get("content-type")
    if 200 <= fetch.status < 300 and fetch.role != Role.LISTING:
        kind = documents.sniff(fetch.body, content_type)
        if kind is not None:
            return observe_document(fetch, kind, body_sha, rules, state, ignore)
        unsupported = documents.unsupported_kind(fetch.body, content_type)
        if unsupported is not None:
            return _problem(
                fetch,
                body_sha,
                Quality.LOW,
                QualityKind.UNSUPPORTED_DOCUMENT,
                f"{unsupported} documents are not supported (PDF, .docx and .odt are read): "
                "the bytes are kept, their text is not compared",
            )
    base_url = fetch.final_url or fetch.requested_url
    html = ""
    encoding: str | None = None
    try:
        html, encoding = decode(fetch.body, content_type, rules.encoding)
        html = repair_mojibake(html)
        extracted = extraction.extract(
            html, base_url, rules.extract, state.content_region if state else None
        )
    except SelectorNotMatchedError as exc:
        title = normalize_line(exc.title) if exc.title else None
        page = normalize_lines(exc.page_lines, ignore)
        verdict = _judge(fetch, title, "\n".join(page), html)
        if verdict.kind != QualityKind.OK:
            return _rejected(fetch, body_sha, verdict, encoding, title)
        return _problem(
            fetch,
            body_sha,
            Quality.ERROR,
            QualityKind.SELECTOR,
            f"target problem: {exc}",
            encoding=encoding,
            title=title,
        )
    except ExtractionError as exc:
        verdict = _judge(fetch, None, "", html)
        if verdict.kind not in (QualityKind.OK, QualityKind.EMPTY) or not 200 <= fetch.status < 300:
            return _rejected(fetch, body_sha, verdict, encoding, None)
        return _problem(fetch, body_sha, Quality.LOW, QualityKind.UNDECODABLE, str(exc))
    title = normalize_line(extracted.title) if extracted.title else None
    lines, keys = normalize_keyed_lines(
        extracted.lines, extracted.keys or [""] * len(extracted.lines), ignore
    )
    verdict = _judge(fetch, title, "\n".join(lines), html)
    whole_page = extracted.whole_page
    if whole_page is not None:
        # A selector: the whole page's verdict comes first (a removal or a block page is
        # judged on all of it), then the selected region's (a "not found" message inside
        # it). A region that holds what the last version held needs no whole-page
        # verdict (the statement is still there), so the whole page is read only for a
        # capture that is not plainly unchanged.
        def judged(observation: Observation) -> Observation:
            if _same_content(observation, state):
                return observation
            page = normalize_lines(whole_page(), ignore)
            first = _judge(fetch, title, "\n".join(page), html)
            if first.kind != QualityKind.OK:
                return _rejected(fetch, body_sha, first, encoding, title)
            return observation

        if verdict.kind != QualityKind.OK:
            return judged(_rejected(fetch, body_sha, verdict, encoding, title))
        return judged(
            _content(fetch, rules, state, extracted, title, lines, keys, html, encoding, body_sha)
        )
    if verdict.kind != QualityKind.OK:
        return _rejected(fetch, body_sha, verdict, encoding, title)
    return _content(fetch, rules, state, extracted, title, lines, keys, html, encoding, body_sha)


def _same_content(observation: Observation, state: PageState | None) -> bool:
    """Whether a capture plainly shows the last version's content (a 2xx page whose
    compare hash is the last version's)."""
    status = observation.fetch.status
    return (
        observation.outcome_hint == "content"
        and state is not None
        and state.last_content_sha256 is not None
        and status is not None
        and 200 <= status < 300
        and observation.content_sha256 == state.last_content_sha256
    )


def _content(
    fetch: FetchResult,
    rules: ProcessRules,
    state: PageState | None,
    extracted: extraction.Extracted,
    title: str | None,
    lines: list[str],
    keys: list[str],
    html: str,
    encoding: str | None,
    body_sha: str,
) -> Observation:
    """The observation of a page whose quality is judged fine: its content as compared
    (or the listing's or the page's problem)."""
    links = [(canonical_url(url), normalize_line(text)) for url, text in extracted.links]
    if fetch.role == Role.LISTING:
        if not fetch.article_links:
            reason = (
                "the listing could not be read completely"
                if fetch.article_links is None
                else "the follow rules matched no article link on the listing"
            )
            return _problem(
                fetch,
                body_sha,
                Quality.ERROR,
                QualityKind.SELECTOR,
                f"target problem: {reason}",
                encoding=encoding,
                title=title,
            )
        if not fetch.listing_complete:
            return _problem(
                fetch,
                body_sha,
                Quality.LOW,
                "incomplete",
                "a continuation page of the listing failed",
                encoding=encoding,
                title=title,
            )
        # A listing is a set of articles: order and pagination are not content.
        lines = sorted(
            {f"{normalize_line(text)} <{canonical_url(url)}>" for url, text in fetch.article_links}
        )
        links = [(canonical_url(url), normalize_line(text)) for url, text in fetch.article_links]
    skeleton = _skeleton_note(fetch, lines, html)
    if not lines and not title:
        return _problem(
            fetch,
            body_sha,
            Quality.LOW,
            QualityKind.EMPTY,
            "; ".join(filter(None, ("the page has no text content", skeleton))),
            encoding=encoding,
        )
    learned = state.volatility if state is not None and state.volatility else volatility.NONE
    chrome = site_boilerplate.NONE
    images: list[tuple[str, str]] = []
    if fetch.role != Role.LISTING:
        images = [(canonical_url(url), normalize_line(alt)) for url, alt in extracted.images]
        if state is not None and state.site_chrome:
            chrome = state.site_chrome
    else:
        keys = []
    compared, candidates = compared_lines(lines, keys, learned, chrome)
    return Observation(
        fetch=fetch,
        body_sha256=body_sha,
        quality=Quality.OK,
        outcome_hint="content",
        encoding=encoding,
        title=title,
        text="\n".join(lines),
        compared=compared,
        links=links,
        images=images,
        keys=keys,
        chrome_candidates=candidates,
        content_sha256=content_hash(title, compared, images, links),
        extract_key=rules.key,
        region=extracted.region,
        note="; ".join(filter(None, (_served_note(fetch), skeleton))) or None,
    )


def _skeleton_note(fetch: FetchResult, lines: list[str], html: str) -> str | None:
    """The quality note of a page whose text its scripts write: a plain fetch should be
    rendered by a browser; a rendered one should wait for its text."""
    if fetch.role == Role.LISTING or not quality.script_skeleton("\n".join(lines), html):
        return None
    if fetch.renderer:
        # The rendered DOM keeps its scripts: only a page still without text is suspect.
        return None if lines else quality.RENDERED_SKELETON_NOTE
    return quality.SKELETON_NOTE


def observe_document(
    fetch: FetchResult,
    kind: str,
    body_sha: str,
    rules: ProcessRules,
    state: PageState | None,
    ignore: TimedPatterns,
) -> Observation:
    """A document (PDF, .docx, .odt) observed by its text: each page opened by a marker
    line; its metadata (title, author, dates) goes in the capture's note, never in what
    is compared, so a document saved again with the same text is the same version."""
    try:
        document = documents.read(kind, fetch.body)
    except DocumentError as exc:
        return _problem(fetch, body_sha, Quality.LOW, QualityKind.UNDECODABLE, str(exc))
    lines = documents.lines_of(document, lambda page: normalize_lines(page, ignore))
    note = "; ".join(filter(None, [documents.metadata_note(document), _served_note(fetch)]))
    if not documents.has_text(lines):
        return _problem(
            fetch,
            body_sha,
            Quality.LOW,
            QualityKind.NO_TEXT,
            f"the document has no text layer (a scanned image?): {note}",
        )
    learned = state.volatility if state is not None and state.volatility else volatility.NONE
    compared, _candidates = compared_lines(lines, (), learned, site_boilerplate.NONE)
    return Observation(
        fetch=fetch,
        body_sha256=body_sha,
        quality=Quality.OK,
        outcome_hint="content",
        text="\n".join(lines),
        compared=compared,
        content_sha256=content_hash(None, compared),
        extract_key=rules.key,
        note=note,
        metadata=dict(document.metadata),
    )


def _served_note(fetch: FetchResult) -> str | None:
    """What a capture served besides the page's own answer: another site's page after a
    redirect, a meta refresh that was not followed (so the capture records it)."""
    notes = []
    if quality.redirected_off_site(fetch.requested_url, fetch.final_url):
        notes.append(f"served by another site after a redirect: {fetch.final_url}")
    if fetch.refresh is not None:
        delay, target = fetch.refresh
        notes.append(f"meta refresh after {delay:g} s to {target} (not followed)")
    return "; ".join(notes) or None


def _judge(fetch: FetchResult, title: str | None, text: str, html: str) -> quality.Verdict:
    return quality.judge(
        fetch.status,
        fetch.requested_url,
        fetch.final_url,
        title,
        text,
        headers=fetch.headers,
        markup=html,
    )


def _unchanged(
    fetch: FetchResult,
    body_sha: str | None,
    state: PageState,
    rules: ProcessRules,
    note: str | None = None,
) -> Observation:
    """The page's last content, known without extracting (same bytes, or a 304)."""
    return Observation(
        fetch=fetch,
        body_sha256=body_sha,
        quality=Quality.OK,
        outcome_hint="unchanged",
        content_sha256=state.last_content_sha256,
        extract_key=rules.key,
        region=state.content_region,
        note=note,
    )


def _problem(
    fetch: FetchResult,
    body_sha: str | None,
    quality_: str,
    kind: str,
    note: str,
    *,
    encoding: str | None = None,
    title: str | None = None,
) -> Observation:
    """A capture that is not the page's content: an error or a low-quality answer."""
    return Observation(
        fetch=fetch,
        body_sha256=body_sha,
        quality=quality_,  # type: ignore[arg-type]
        outcome_hint="error",
        encoding=encoding,
        title=title,
        kind=kind,
        note=note,
    )


def _rejected(
    fetch: FetchResult,
    body_sha: str,
    verdict: quality.Verdict,
    encoding: str | None,
    title: str | None,
) -> Observation:
    """A capture the quality judge rejected: a removal signal, an error or a low capture."""
    return _problem(
        fetch,
        body_sha,
        verdict.quality,
        verdict.kind,
        verdict.reason or f"HTTP {fetch.status}",
        encoding=encoding,
        title=title,
    )


# UTF-8 continuation bytes (0x80-0xBF) as windows-1251 shows them: they follow "Р"/"С"
# in Cyrillic mojibake, and almost never in real Russian text.
_CP1251_TAILS = bytes(range(0x80, 0xC0)).decode("cp1251", errors="ignore")
# The first characters of UTF-8 read as latin-1/windows-1252 (Ã Â Ð Ñ â) or windows-1251
# (Р С). The pattern starts with one character class so that the regex engine skips
# quickly over text without them.
_MOJIBAKE_LEADS = "ÃÂÐÑâРС"
_MOJIBAKE = re.compile(
    f"[{_MOJIBAKE_LEADS}]"
    "(?:(?<=[ÃÂÐÑâ])[\x80-\xbf\u0080-\u00ff\u0400-\u045f\u2018-\u203a\u20ac\u2122]"
    "|(?<=[РС])[" + re.escape(_CP1251_TAILS) + "])"
)


def repair_mojibake(text: str) -> str:
    """Undo text decoded with the wrong charset upstream (UTF-8 read as latin-1/cp1251).

    The whole text is looked at, wherever the first garbled character sits; ftfy (slow)
    runs only when a garbled sequence is there, and it leaves correct text alone.
    """
    if text.isascii() or not any(lead in text for lead in _MOJIBAKE_LEADS):
        return text  # the usual case, found at C speed
    if _MOJIBAKE.search(text) is None:
        return text
    import ftfy

    return ftfy.fix_encoding(text)
