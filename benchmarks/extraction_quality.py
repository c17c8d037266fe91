"""Extraction quality on real pages whose main content is marked: recall, leak, edits.

For each page folder of the extraction corpus (``source.html`` as captured,
``expected.html`` the main content, ``expected-metadata.json``), by default
``../shared/corpus/extraction`` next to the repository (``--corpus DIR`` to change it;
the corpus is never copied into the repository):

* **recall**: the share of the gold text found in what the monitor extracts;
* **leak**: the share of the extracted text that lies outside the gold (boilerplate);
* **one-word edits**: one word changed in the source, inside the gold (paragraphs, the
  headline, the lead) or outside it (captions, credits, related lists, share widgets,
  footers: visible text of the source that is not in the gold), then the page compared
  as a second capture compares it (the region learned on the first capture, content
  hashes compared). Every inside edit must change the hash; no outside edit may. A
  second figure leaves out the edits the gold cannot judge (:data:`NEUTRAL`).

The extraction is the monitor's own path: :func:`monitor.detect.observe.observe` on a 200
response with the page's bytes (decode, mojibake repair, main-content extraction with
default rules, normalisation, masking), as on a page's first capture.

The gold is ``expected.html``'s visible text, plus the page's headline (its ``<h1>``
matching the metadata title) and its lead (the metadata excerpt, when the source shows
it as a block of text): the corpus README says those are content for a statement page.
The byline line is neutral (neither gold nor leak): Readability drops it, a statement
page's date line and signature are content to us.

Text units: tokens are words (runs of letters and digits, lower-cased; every
CJK/kana/Thai character is a token of its own), and the document is a token stream
cut in overlapping 5-token shingles (lines joined: gold and extraction split blocks
differently). A token of the extraction is *inside the gold* when some shingle that
holds it is a gold shingle; recall and leak are token counts. This is robust to
whitespace, punctuation, markup and line splitting, and still exact enough that a
caption of three words between two gold paragraphs counts as leak (no shingle holding
it is a gold shingle).

    python benchmarks/extraction_quality.py [--corpus DIR] [--pages aclu,cnn] [--verbose]
    python benchmarks/extraction_quality.py --half first    # develop on one half ...
    python benchmarks/extraction_quality.py --half second   # ... check on the other
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
from lxml import etree

from monitor.detect.decode import decode
from monitor.detect.extract import Rules
from monitor.detect.observe import ProcessRules, observe, repair_mojibake
from monitor.records import FetchResult, Observation, PageKey, PageState

ROOT = Path(__file__).resolve().parents[1]
# ../shared/corpus/extraction beside the checkout (or beside a folder holding it).
DEFAULT_CORPUS = next(
    (
        folder / "shared" / "corpus" / "extraction"
        for folder in ROOT.parents
        if (folder / "shared" / "corpus" / "extraction").is_dir()
    ),
    ROOT.parent / "shared" / "corpus" / "extraction",
)
SHINGLE = 5
URL = "http://127.0.0.1:8000/article"
RULES = ProcessRules(extract=Rules())
INVISIBLE = frozenset(
    ["script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "canvas",
     "head", "title", "select", "option", "textarea", "button"]
)  # fmt: skip

_CJK = (
    r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0e7f"
    r"\u3000-\u303f"
)
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Words (lower-cased) and single CJK/kana/Thai characters."""
    return [t for t in _TOKEN.findall(text.lower()) if t.strip() and not t.isspace()]


def shingles(seq: list[str]) -> Iterator[tuple[str, ...]]:
    if len(seq) < SHINGLE:
        if seq:
            yield tuple(seq)
        return
    for start in range(len(seq) - SHINGLE + 1):
        yield tuple(seq[start : start + SHINGLE])


def covered(seq: list[str], known: set[tuple[str, ...]]) -> list[bool]:
    """Per token of ``seq``: is it inside some shingle that is in ``known``?"""
    hit = [False] * len(seq)
    if len(seq) < SHINGLE:
        if tuple(seq) in known or all((t,) in known for t in seq):
            return [True] * len(seq)
        return hit
    for start in range(len(seq) - SHINGLE + 1):
        if tuple(seq[start : start + SHINGLE]) in known:
            for index in range(start, start + SHINGLE):
                hit[index] = True
    return hit


def shingle_set(seq: list[str]) -> set[tuple[str, ...]]:
    found = set(shingles(seq))
    if len(seq) < SHINGLE:
        found |= {(t,) for t in seq}
    return found


# --- the gold ---------------------------------------------------------------------------


def visible_text(root: lxml.html.HtmlElement) -> str:
    """Visible text, block boundaries as newlines."""
    pieces: list[str] = []
    _walk_text(root, pieces)
    return " ".join(pieces)


def _walk_text(node: lxml.html.HtmlElement, out: list[str]) -> None:
    if isinstance(node.tag, str) and node.tag.lower() in INVISIBLE:
        return
    if isinstance(node.tag, str) and node.text:
        out.append(node.text)
    for child in node:
        _walk_text(child, out)
        if child.tail:
            out.append(child.tail)


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Page:
    name: str
    body: bytes
    html: str  # decoded source
    metadata: dict[str, object]
    gold_tokens: list[str]
    gold: set[tuple[str, ...]]
    headline: str | None
    lead: str | None
    byline: str | None
    results: dict[str, object] = field(default_factory=dict)


def _headline(root: lxml.html.HtmlElement, title: str) -> lxml.html.HtmlElement | None:
    """The source's heading that is the page's headline (matches the metadata title)."""
    wanted = set(tokens(title))
    if not wanted:
        return None
    best, best_score = None, 0.0
    for heading in root.iter("h1", "h2"):
        if _hidden(heading):
            continue
        have = tokens(heading.text_content())
        if not have:
            continue
        overlap = len(set(have) & wanted) / max(len(set(have)), 1)
        score = overlap * min(1.0, len(set(have) & wanted) / max(len(wanted) * 0.5, 1))
        if heading.tag == "h1":
            score += 0.01
        if score > best_score:
            best, best_score = heading, score
    return best if best_score >= 0.6 else None


def _lead(root: lxml.html.HtmlElement, excerpt: str) -> lxml.html.HtmlElement | None:
    """The visible block of the source whose text is the metadata excerpt (the lead)."""
    want = tokens(excerpt)
    if len(want) < 5:
        return None
    probe = " ".join(want[: min(len(want), 12)])
    best = None
    body = root.find("body")
    if body is None:
        return None
    for node in body.iter("p", "div", "h2", "h3", "span", "strong", "section", "li"):
        if best is not None and best not in node.iterancestors():
            break  # the first match in document order, and the deepest inside it
        if _hidden(node) or any(a.tag == "a" for a in node.iterancestors()):
            continue
        text = " ".join(tokens(_unlinked_text(node)))
        if probe in text and len(text) < 2.5 * len(" ".join(want)):
            best = node
    return best


def _unlinked_text(node: lxml.html.HtmlElement) -> str:
    """The text of ``node`` outside links (a teaser linking elsewhere is not a lead)."""
    pieces: list[str] = []

    def walk(element: lxml.html.HtmlElement) -> None:
        if element.text:
            pieces.append(element.text)
        for child in element:
            if isinstance(child.tag, str) and child.tag != "a":
                walk(child)
            if child.tail:
                pieces.append(child.tail)

    walk(node)
    return " ".join(pieces)


def _hidden(node: lxml.html.HtmlElement) -> bool:
    for element in (node, *node.iterancestors()):
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() in INVISIBLE:
            return True
        if element.get("hidden") is not None or element.get("aria-hidden") == "true":
            return True
        style = (element.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
    return False


def load(folder: Path) -> Page:
    body = (folder / "source.html").read_bytes()
    html, _encoding = decode(body, None)
    html = repair_mojibake(html)
    metadata = json.loads((folder / "expected-metadata.json").read_text())
    expected = lxml.html.document_fromstring((folder / "expected.html").read_text())
    gold_text = visible_text(expected)
    root = lxml.html.document_fromstring(html)
    headline_node = _headline(root, str(metadata.get("title") or ""))
    lead_node = _lead(root, str(metadata.get("excerpt") or ""))
    headline = _norm(headline_node.text_content()) if headline_node is not None else None
    lead = _norm(lead_node.text_content()) if lead_node is not None else None
    gold_tokens = tokens(" \n ".join(x for x in (headline, lead, gold_text) if x))
    gold = shingle_set(tokens(gold_text))
    for extra in (headline, lead):
        if extra:
            gold |= shingle_set(tokens(extra))
    byline = str(metadata.get("byline") or "") or None
    return Page(folder.name, body, html, metadata, gold_tokens, gold, headline, lead, byline)


# --- the monitor's path -----------------------------------------------------------------


def fetch_of(body: bytes, content_type: str | None) -> FetchResult:
    return FetchResult(
        key=PageKey("bench", URL),
        role="page",
        requested_url=URL,
        final_url=URL,
        started_at=datetime.now(UTC),
        duration_ms=1.0,
        status=200,
        headers={"content-type": content_type} if content_type else {},
        body=body,
    )


def first_capture(body: bytes, content_type: str | None = None) -> Observation:
    return observe(fetch_of(body, content_type), RULES, None)


def later_capture(body: bytes, first: Observation, content_type: str | None = None) -> Observation:
    """A second capture: the region learned on the first one, its hash to compare with."""
    state = PageState(
        page_id=1,
        target_id=1,
        role="page",
        last_version_id=1,
        last_version_seq=1,
        last_content_sha256=first.content_sha256,
        last_body_sha256="0" * 64,
        content_region=first.region,
    )
    return observe(fetch_of(body, content_type), RULES, state)


# --- recall and leak --------------------------------------------------------------------


def measure(page: Page) -> dict[str, float]:
    observation = first_capture(page.body)
    text = observation.text or ""
    lines = text.splitlines()
    if observation.title is None and not lines:
        return {"recall": 0.0, "leak": 0.0, "gold": len(page.gold_tokens), "extracted": 0}
    neutral = {
        index
        for index, line in enumerate(lines)
        if page.byline
        and len(tokens(line)) <= len(tokens(page.byline)) + 8
        and " ".join(tokens(page.byline)) in " ".join(tokens(line))
    }
    seq: list[str] = []
    is_neutral: list[bool] = []
    for index, line in enumerate(lines):
        line_tokens = tokens(line)
        seq.extend(line_tokens)
        is_neutral.extend([index in neutral] * len(line_tokens))
    inside = covered(seq, page.gold)
    counted = [i for i in range(len(seq)) if not is_neutral[i]]
    leaked = sum(1 for i in counted if not inside[i])
    found = covered(page.gold_tokens, shingle_set(seq))
    # Per line: the share of its tokens inside the gold, read off the stream.
    line_leaks = []
    position = 0
    for index, line in enumerate(lines):
        count = len(tokens(line))
        share = sum(inside[position : position + count]) / count if count else 1.0
        position += count
        if count and index not in neutral and share < 0.5:
            line_leaks.append(line)
    measured_lines = sum(1 for i, line in enumerate(lines) if tokens(line) and i not in neutral)
    page.results["leaked_lines"] = line_leaks
    return {
        "recall": sum(found) / max(len(found), 1),
        "leak": leaked / max(len(counted), 1),
        "gold": len(page.gold_tokens),
        "extracted": len(seq),
        "found": sum(found),
        "leaked": leaked,
        "counted": len(counted),
        "line_leak": len(line_leaks) / max(measured_lines, 1),
        "lines_leaked": len(line_leaks),
        "lines": measured_lines,
    }


# --- one-word edits ---------------------------------------------------------------------


@dataclass
class Edit:
    kind: str  # "headline", "lead", "paragraph", or where outside: "caption", "related", ...
    inside: bool
    before: str
    after: str
    # Where the gold cannot be the judge (see NEUTRAL): "caption", "date line", "promo".
    neutral: str | None = None


_WORD = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]{{3,}}", re.UNICODE)


def _edited_word(word: str) -> str:
    if len(word) == 1:  # a CJK character
        return "变" if word != "变" else "改"
    flipped = word[::-1]
    return flipped if flipped.lower() != word.lower() else word + "q"


def _text_slots(root: lxml.html.HtmlElement) -> Iterator[tuple[lxml.html.HtmlElement, str]]:
    """Visible text nodes of the body: (element, "text"|"tail")."""
    body = root.find("body")
    if body is None:
        return
    for node in body.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text and node.text.strip() and not _hidden(node):
            yield node, "text"
        if node.tail and node.tail.strip():
            parent = node.getparent()
            if parent is not None and not _hidden(parent):
                yield node, "tail"


def _slot_text(node: lxml.html.HtmlElement, where: str) -> str:
    return (node.text if where == "text" else node.tail) or ""


def _set_slot(node: lxml.html.HtmlElement, where: str, value: str) -> None:
    if where == "text":
        node.text = value
    else:
        node.tail = value


def _owner(node: lxml.html.HtmlElement, where: str) -> lxml.html.HtmlElement:
    parent = node.getparent()
    return node if where == "text" or parent is None else parent


_OUTSIDE_KINDS = (
    ("caption", re.compile(r"caption|credit|photo|image|media|figure|getty|reuters", re.I)),
    ("share", re.compile(r"share|social|facebook|twitter|whatsapp|email|print", re.I)),
    (
        "related",
        re.compile(r"related|more|recommend|promo|popular|trending|read|also|teaser", re.I),
    ),
    ("newsletter", re.compile(r"newsletter|subscri|signup|sign-up", re.I)),
    ("footer", re.compile(r"footer|contact|bio|author|copyright", re.I)),
)


def _outside_kind(node: lxml.html.HtmlElement) -> str:
    for element in (node, *node.iterancestors()):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in ("figcaption", "figure", "picture"):
            return "caption"
        if tag == "footer":
            return "footer"
        if tag == "nav":
            return "nav"
        if tag == "aside":
            return "related"
        marks = f"{element.get('class') or ''} {element.get('id') or ''}"
        for kind, pattern in _OUTSIDE_KINDS:
            if pattern.search(marks):
                return kind
    return "other"


_BLOCKS = frozenset(
    ["p", "div", "li", "td", "th", "dd", "dt", "h1", "h2", "h3", "h4", "h5", "h6",
     "figcaption", "caption", "blockquote", "pre", "section", "article", "header",
     "footer", "aside", "nav", "ul", "ol", "table", "form", "body", "main", "figure"]
)  # fmt: skip


def _block(node: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The nearest block element holding ``node`` (itself when it is one)."""
    for element in (node, *node.iterancestors()):
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            return element
    return node


def _content_root(
    root: lxml.html.HtmlElement, inside_nodes: list[lxml.html.HtmlElement]
) -> lxml.html.HtmlElement | None:
    """The smallest element holding every inside node: "near the content" starts here."""
    if not inside_nodes:
        return None
    chains = [[n, *n.iterancestors()] for n in inside_nodes]
    common = set(chains[0])
    for chain in chains[1:]:
        common &= set(chain)
    for element in chains[0]:
        if element in common:
            return element
    return None


#: Edits the gold cannot judge, left out of the second ("fair") figure, never out of the
#: first: photo captions (the gold keeps them on 7 pages and drops them on 7 others, so
#: no extractor can agree with it on both), the page's date line (content for a
#: statement page, as the corpus README says, but absent from the gold), and newsletter
#: promos (which the gold keeps as content on some pages and the issue names as
#: boilerplate).
NEUTRAL = ("caption", "date line", "promo")
_CAPTION_MARK = re.compile(r"caption", re.I)
_CREDIT_MARK = re.compile(r"credit|copyright", re.I)
_PROMO_MARK = re.compile(r"newsletter|subscri|signup|sign-up", re.I)
_MONTHS = (
    r"jan|feb|m[aä]r|apr|ma[iy]|jun|jul|aug|sep|o[ck]t|nov|de[cz]|janv|févr|mars|avr|juin|"
    r"juil|août|sept|déc|ene|abr|ago|dic|fev|out|set|led|úno|bře|dub|kvě|čer|srp|zář|říj|lis|pro"
)
_DATE = re.compile(
    rf"\b\d{{1,2}}[./-]\s?\d{{1,2}}[./-]\s?\d{{2,4}}\b|\b\d{{4}}[./-]\d{{1,2}}[./-]\d{{1,2}}\b|"
    rf"\b(?:{_MONTHS})[a-zéûăíáčřžý]*\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b|"
    rf"\b\d{{1,2}}\.?\s*(?:de\s+)?(?:{_MONTHS})[a-zéûăíáčřžý]*\.?(?:\s+de)?\s+\d{{4}}\b|"
    r"\d{4}\s*年\s*\d{1,2}\s*月",
    re.I,
)


def _neutral(
    node: lxml.html.HtmlElement,
    inside: bool,
    before_content: bool,
    headline: lxml.html.HtmlElement | None,
) -> str | None:
    """Why the gold cannot judge an edit of ``node``'s text, if it cannot (NEUTRAL)."""
    # A caption or a promo is a box of its own inside the page, never a wrapper of it
    # (one holding the headline, or "non-subscriber" on <html>).
    boxes = []
    for element in (node, *node.iterancestors()):
        if element.tag in ("body", "html") or (
            headline is not None and (element is headline or headline in element.iterdescendants())
        ):
            break
        boxes.append(element)
    marks = [f"{e.get('class') or ''} {e.get('id') or ''}" for e in boxes]
    if inside:
        return "promo" if any(_PROMO_MARK.search(m) for m in marks) else None
    if any(_CREDIT_MARK.search(m) for m in marks):
        return None  # a photo credit is furniture (the issue says so), caption or not
    if any(e.tag == "figcaption" for e in boxes) or any(_CAPTION_MARK.search(m) for m in marks):
        return "caption"
    block = " ".join(_block(node).text_content().split())
    if before_content and len(tokens(block)) <= 12 and _DATE.search(block):
        return "date line"
    return None


def plan_edits(page: Page, per_page: int, seed: int) -> tuple[str, list[tuple[Edit, str]]]:
    """The page re-serialised, and (edit, edited page) pairs, inside and outside the gold."""
    root = lxml.html.document_fromstring(page.html)
    original = etree.tostring(root, method="html", encoding="unicode")
    root = lxml.html.document_fromstring(original)
    rng = random.Random(f"{seed}:{page.name}")
    inside_slots: list[tuple[str, lxml.html.HtmlElement, str]] = []
    outside_slots: list[tuple[str, lxml.html.HtmlElement, str]] = []
    headline = _headline(root, str(page.metadata.get("title") or ""))
    lead = _lead(root, str(page.metadata.get("excerpt") or ""))
    byline_tokens = " ".join(tokens(page.byline or "")) or None
    # Each visible text node's tokens, in document order as one stream: a node is inside
    # the gold when its tokens are covered there (shingles crossing into its neighbours,
    # so a short heading between two gold paragraphs is recognised too).
    slots = [(node, where, tokens(_slot_text(node, where))) for node, where in _text_slots(root)]
    stream = [token for _n, _w, slot_tokens in slots for token in slot_tokens]
    hits = covered(stream, page.gold)
    slot_hits: dict[lxml.html.HtmlElement, list[bool]] = {}
    position = 0
    for node, where, slot_tokens in slots:
        slot_hits.setdefault(_owner(node, where), []).extend(
            hits[position : position + len(slot_tokens)]
        )
        position += len(slot_tokens)

    def block_share(block: lxml.html.HtmlElement) -> float:
        found = [hit for element in block.iter() for hit in slot_hits.get(element, ())]
        return sum(found) / max(len(found), 1)

    # Text shown twice (a sticky header repeating the headline, a "tweet this" quote):
    # which copy is the content is ambiguous, so neither is edited.
    seen: dict[str, int] = {}
    for _node, _where, slot_tokens in slots:
        phrase = " ".join(slot_tokens)
        seen[phrase] = seen.get(phrase, 0) + 1
    position = 0
    early: set[tuple[lxml.html.HtmlElement, str]] = set()  # outside, before the content
    for node, where, slot_tokens in slots:
        share = sum(hits[position : position + len(slot_tokens)]) / max(len(slot_tokens), 1)
        position += len(slot_tokens)
        text = _slot_text(node, where)
        if not _WORD.findall(text) or (len(slot_tokens) >= 3 and seen[" ".join(slot_tokens)] > 1):
            continue
        owner = _owner(node, where)
        chain = {owner, *owner.iterancestors()}
        if headline is not None and headline in chain:
            inside_slots.append(("headline", node, where))
            continue
        if lead is not None and lead in chain:
            inside_slots.append(("lead", node, where))
            continue
        block_tokens = " ".join(tokens(_block(owner).text_content()))
        if byline_tokens and byline_tokens in block_tokens and len(block_tokens) < 160:
            continue  # the byline is neutral
        if len(slot_tokens) >= 8 and share == 1.0:
            inside_slots.append(("paragraph", node, where))
        elif share == 0.0 and block_share(_block(owner)) <= 0.2:
            # Outside, and not a fragment of a gold paragraph (an inline note, a footnote
            # mark): the block around it is outside the gold too.
            outside_slots.append((_outside_kind(owner), node, where))
            if not any(kind == "paragraph" for kind, _n, _w in inside_slots):
                early.add((node, where))
    near = _content_root(root, [n for _k, n, _w in inside_slots if _k == "paragraph"])
    chosen: list[tuple[str, lxml.html.HtmlElement, str, bool]] = []
    for kind in ("headline", "lead"):
        found = [s for s in inside_slots if s[0] == kind]
        if found:
            chosen.append((*max(found, key=lambda s: len(_slot_text(s[1], s[2]))), True))
    paragraphs = [s for s in inside_slots if s[0] == "paragraph"]
    rng.shuffle(paragraphs)
    chosen += [(*s, True) for s in paragraphs[: max(0, per_page - len(chosen))]]
    # Outside: mostly near the content (captions, related lists, share widgets inside
    # the article's container), one far away (menus, footers).
    near_slots = [
        s for s in outside_slots if near is not None and near in {s[1], *s[1].iterancestors()}
    ]
    far_slots = [s for s in outside_slots if s not in near_slots]
    rng.shuffle(near_slots)
    rng.shuffle(far_slots)
    by_kind: dict[str, list[tuple[str, lxml.html.HtmlElement, str]]] = {}
    for slot in near_slots:
        by_kind.setdefault(slot[0], []).append(slot)
    picked: list[tuple[str, lxml.html.HtmlElement, str]] = []
    while len(picked) < per_page - 1 and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(picked) < per_page - 1:
                picked.append(by_kind[kind].pop())
    picked += far_slots[: per_page - len(picked)]
    chosen += [(kind, node, where, False) for kind, node, where in picked]
    edits: list[tuple[Edit, str]] = []
    for kind, node, where, inside in chosen:
        text = _slot_text(node, where)
        matches = list(_WORD.finditer(text))
        match = matches[rng.randrange(len(matches))]
        new_word = _edited_word(match.group())
        edited = text[: match.start()] + new_word + text[match.end() :]
        _set_slot(node, where, edited)
        serialised = etree.tostring(root, method="html", encoding="unicode")
        _set_slot(node, where, text)
        label = (
            kind if inside else ("near:" if (kind, node, where) in near_slots else "far:") + kind
        )
        neutral = _neutral(_owner(node, where), inside, (node, where) in early, headline)
        edit = Edit(label, inside, _norm(text)[:90], _norm(edited)[:90], neutral)
        edits.append((edit, serialised))
    return original, edits


def run_edits(page: Page, per_page: int, seed: int) -> list[tuple[Edit, bool]]:
    original, edits = plan_edits(page, per_page, seed)
    content_type = "text/html; charset=utf-8"
    first = first_capture(original.encode(), content_type)
    results = []
    for edit, html in edits:
        later = later_capture(html.encode(), first, content_type)
        alerted = later.content_sha256 is not None and later.content_sha256 != first.content_sha256
        results.append((edit, alerted))
    return results


# --- report -----------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus folder")
    parser.add_argument("--pages", help="only these page folders (comma-separated)")
    parser.add_argument(
        "--half",
        choices=("first", "second"),
        help="only the pages whose names sort in the first or second half (develop a rule "
        "on one half, check it on the other)",
    )
    parser.add_argument("--edits", type=int, default=5, help="edits per page inside and outside")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", "-v", action="store_true", help="leaked lines, missed edits")
    args = parser.parse_args(list(argv) if argv is not None else None)
    folders = sorted(p for p in args.corpus.iterdir() if (p / "source.html").exists())
    if args.pages:
        wanted = set(args.pages.split(","))
        folders = [p for p in folders if p.name in wanted]
    if args.half:
        middle = (len(folders) + 1) // 2
        folders = folders[:middle] if args.half == "first" else folders[middle:]
    if not folders:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = []
    totals = {"found": 0, "gold": 0, "leaked": 0, "counted": 0, "lines_leaked": 0, "lines": 0}
    edit_rows: list[tuple[str, Edit, bool]] = []
    print(
        f"{'page':<18} {'recall':>7} {'leak':>6} {'lines':>6} {'in: alert':>10} {'out: alert':>11}"
    )
    for folder in folders:
        page = load(folder)
        figures = measure(page)
        for key in totals:
            totals[key] += int(figures.get(key, 0))
        results = run_edits(page, args.edits, args.seed)
        edit_rows += [(page.name, edit, alerted) for edit, alerted in results]
        inside = [alerted for edit, alerted in results if edit.inside]
        outside = [alerted for edit, alerted in results if not edit.inside]
        rows.append((page.name, figures["recall"], figures["leak"]))
        print(
            f"{page.name:<18} {figures['recall']:>7.1%} {figures['leak']:>6.1%} "
            f"{figures['line_leak']:>6.1%} "
            f"{sum(inside):>5}/{len(inside):<4} {sum(outside):>6}/{len(outside):<4}"
        )
        if args.verbose:
            for line in page.results.get("leaked_lines", [])[:12]:  # type: ignore[index]
                print(f"    leak: {line[:110]}")
            for edit, alerted in results:
                if alerted != edit.inside:
                    what = "MISSED" if edit.inside else "FALSE ALERT"
                    aside = f" (neutral: {edit.neutral})" if edit.neutral else ""
                    print(f"    {what} {edit.kind}{aside}: {edit.before!r}")
    inside_all = [(n, e, a) for n, e, a in edit_rows if e.inside]
    outside_all = [(n, e, a) for n, e, a in edit_rows if not e.inside]
    print()
    print(
        f"overall ({len(folders)} pages): recall {totals['found'] / max(totals['gold'], 1):.1%} "
        f"(median {statistics.median(r[1] for r in rows):.1%}), "
        f"leak {totals['leaked'] / max(totals['counted'], 1):.1%} "
        f"(median {statistics.median(r[2] for r in rows):.1%}); "
        f"lines outside the gold {totals['lines_leaked'] / max(totals['lines'], 1):.1%} "
        f"({totals['lines_leaked']}/{totals['lines']})"
    )
    print(
        f"edits inside the gold that alerted: {sum(a for *_x, a in inside_all)}/{len(inside_all)}"
        f"; outside that alerted: {sum(a for *_x, a in outside_all)}/{len(outside_all)}"
    )
    fair_in = [a for _n, e, a in inside_all if not e.neutral]
    fair_out = [a for _n, e, a in outside_all if not e.neutral]
    aside = ", ".join(
        f"{sum(1 for _n, e, _a in edit_rows if e.neutral == reason)} {reason}" for reason in NEUTRAL
    )
    print(
        f"  the same, edits the gold cannot judge aside ({aside}): inside "
        f"{sum(fair_in)}/{len(fair_in)}, outside {sum(fair_out)}/{len(fair_out)}"
    )
    kinds: dict[str, list[bool]] = {}
    for _name, edit, alerted in edit_rows:
        kinds.setdefault(edit.kind, []).append(alerted)
    print(
        "by kind (alerted/edits): "
        + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(kinds.items()))
    )
    print(f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
