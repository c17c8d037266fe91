"""Extracting the compared content (title, text lines, links) from an HTML document.

Extractors register themselves by name in :data:`EXTRACTORS`; a target's config picks
one. Whatever the extractor, the user's ``selector`` narrows the document to a region
first and ``exclude`` removes regions, and the output has one block element (paragraph,
heading, list item, table row) per line: the differ relies on that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from monitor.exceptions import ExtractionError, SelectorNotMatchedError

logger = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "caption",
        "center",
    ]
)
# Never content: removed from every document before any text is taken.
INVISIBLE_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "object",
    "embed",
    "canvas",
    "head",
)


@dataclass(slots=True)
class Extracted:
    """The content of a page as compared between captures."""

    title: str | None
    lines: list[str]
    links: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rules:
    """How to extract one target's content (from its config)."""

    extractor: str = "text"
    selector: str | None = None  # "css:..." or "xpath:..."
    exclude: tuple[str, ...] = ()


Extractor = Callable[[lxml.html.HtmlElement, str, Rules], Extracted]
EXTRACTORS: dict[str, Extractor] = {}


def register(name: str) -> Callable[[Extractor], Extractor]:
    """Register an extractor under ``name``; its docstring documents it."""

    def decorate(function: Extractor) -> Extractor:
        EXTRACTORS[name] = function
        return function

    return decorate


def parse(text: str) -> lxml.html.HtmlElement:
    """Parse HTML leniently (broken markup is normal on the web)."""
    if text.lstrip().startswith("<?xml"):
        text = text[text.find("?>") + 2 :]
    if not text.strip():
        raise ExtractionError("the document is empty")
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"the document cannot be parsed as HTML: {exc}") from exc


def select(root: lxml.html.HtmlElement, expression: str) -> list[lxml.html.HtmlElement]:
    """Elements matching a ``css:`` or ``xpath:`` expression."""
    kind, _, query = expression.partition(":")
    if kind == "css":
        found = root.cssselect(query)
    elif kind == "xpath":
        result = root.xpath(query)
        found = (
            [node for node in result if isinstance(node, etree._Element)]
            if isinstance(result, list)
            else []
        )
    else:
        raise ExtractionError(f"unknown selector kind in {expression!r}")
    return list(found)


def title_of(root: lxml.html.HtmlElement) -> str | None:
    node = root.find(".//title")
    if node is not None and node.text_content().strip():
        return " ".join(node.text_content().split())
    for query in (".//meta[@property='og:title']",):
        meta = root.find(query)
        if meta is not None and meta.get("content"):
            return " ".join(str(meta.get("content")).split())
    heading = root.find(".//h1")
    if heading is not None and heading.text_content().strip():
        return " ".join(heading.text_content().split())
    return None


def strip_invisible(root: lxml.html.HtmlElement) -> None:
    etree.strip_elements(
        root, *INVISIBLE_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False
    )
    for hidden in root.xpath("//*[@hidden or @aria-hidden='true']"):
        hidden.drop_tree()
    for node in root.iter("input", "select", "textarea", "button"):
        # Form controls carry tokens and state, never the page's statement.
        node.drop_tree()


def lines_of(nodes: Iterable[lxml.html.HtmlElement]) -> list[str]:
    """Visible text of ``nodes``, one block element per line, whitespace collapsed."""
    pieces: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        block = tag in BLOCK_TAGS
        if block:
            pieces.append("\n")
        if tag == "br":
            pieces.append("\n")
        if node.text:
            pieces.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                pieces.append(child.tail)
        if block:
            pieces.append("\n")

    for node in nodes:
        walk(node)
        pieces.append("\n")
    lines = []
    for raw in "".join(pieces).split("\n"):
        line = " ".join(raw.split())
        if line:
            lines.append(line)
    return lines


def links_of(nodes: Iterable[lxml.html.HtmlElement], base_url: str) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    for node in nodes:
        for anchor in node.iter("a"):
            href = (anchor.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            links.append((urljoin(base_url, href), " ".join(anchor.text_content().split())))
    return links


def regions(root: lxml.html.HtmlElement, rules: Rules) -> list[lxml.html.HtmlElement]:
    """Apply ``exclude`` then ``selector``; a selector that matches nothing is an error."""
    for expression in rules.exclude:
        for node in select(root, expression):
            if node.getparent() is not None:
                node.drop_tree()
    if rules.selector is None:
        body = root.find("body")
        return [body if body is not None else root]
    found = select(root, rules.selector)
    if not found:
        raise SelectorNotMatchedError(
            f"the selector {rules.selector!r} matched nothing on the page"
        )
    return found


@register("text")
def text_extractor(root: lxml.html.HtmlElement, base_url: str, rules: Rules) -> Extracted:
    """All visible text of the page (or of the selected region), one block per line."""
    title = title_of(root)
    strip_invisible(root)
    nodes = regions(root, rules)
    return Extracted(title=title, lines=lines_of(nodes), links=links_of(nodes, base_url))


def extract(html: str, base_url: str, rules: Rules) -> Extracted:
    """Run the configured extractor on a decoded document."""
    try:
        extractor = EXTRACTORS[rules.extractor]
    except KeyError:
        raise ExtractionError(
            f"unknown extractor {rules.extractor!r}; known: {', '.join(sorted(EXTRACTORS))}"
        ) from None
    return extractor(parse(html), base_url, rules)
