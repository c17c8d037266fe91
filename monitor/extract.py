"""Extracting the compared content (title, text lines, links) from an HTML document.

Extractors register themselves by name in :data:`EXTRACTORS`; a target's config picks
one. Whatever the extractor, the user's ``selector`` narrows the document to a region
first and ``exclude`` removes regions, and the output has one block element (paragraph,
heading, list item, table row) per line: the differ relies on that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable
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
    # The content region used (an XPath), for extractors that locate one.
    region: str | None = None
    # With a selector: the whole page's visible text (page chrome left out), which the
    # quality judge reads before the selected region.
    page_lines: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """How to extract one target's content (from its config)."""

    extractor: str = "main"
    selector: str | None = None  # "css:..." or "xpath:..."
    exclude: tuple[str, ...] = ()


Extractor = Callable[[lxml.html.HtmlElement, str, Rules, "str | None"], Extracted]
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


def lines_of(
    nodes: Iterable[lxml.html.HtmlElement], skip: Collection[lxml.html.HtmlElement] = ()
) -> list[str]:
    """Visible text of ``nodes``, one block element per line, whitespace collapsed.

    Elements in ``skip`` are left out with their content (their tail text is kept).
    """
    pieces: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if skip and node in skip:
            return
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


def regions(
    root: lxml.html.HtmlElement, rules: Rules, title: str | None = None
) -> list[lxml.html.HtmlElement]:
    """Apply ``exclude`` then ``selector``; a selector that matches nothing is an error
    (carrying ``title`` and the whole page's lines, to judge what the page has become)."""
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
            f"the selector {rules.selector!r} matched nothing on the page",
            title=title,
            page_lines=page_lines(root),
        )
    return found


def page_lines(root: lxml.html.HtmlElement) -> list[str]:
    """The whole page's visible text without its chrome (menus, page header and footer,
    sidebars), one block per line; the tree is left as it is (a selector may want it)."""
    body = root.find("body")
    return lines_of([body if body is not None else root], skip=frozenset(_CHROME(root)))


def _selected(
    root: lxml.html.HtmlElement, base_url: str, rules: Rules, title: str | None
) -> Extracted:
    """The regions a user's selector picks, with the whole page beside them."""
    nodes = regions(root, rules, title)
    return Extracted(
        title=title,
        lines=lines_of(nodes),
        links=links_of(nodes, base_url),
        page_lines=page_lines(root),
    )


@register("text")
def text_extractor(
    root: lxml.html.HtmlElement, base_url: str, rules: Rules, region: str | None = None
) -> Extracted:
    """All visible text of the page (or of the selected region), one block per line."""
    title = title_of(root)
    strip_invisible(root)
    if rules.selector is not None:
        return _selected(root, base_url, rules, title)
    nodes = regions(root, rules)
    return Extracted(title=title, lines=lines_of(nodes), links=links_of(nodes, base_url))


# Page-level chrome: never the statement. Headers and footers inside <article>/<main>
# are kept, since article headers hold the title and the date.
CHROME_XPATH = (
    "//header[not(ancestor::article or ancestor::main)]",
    "//footer[not(ancestor::article or ancestor::main)]",
    "//nav",
    "//aside",
    # Small forms (search boxes, newsletter sign-ups); ASP.NET wraps whole pages in one.
    "//form[string-length(normalize-space()) < 200]",
    "//*[@role='banner' or @role='navigation' or @role='contentinfo' or @role='complementary'"
    " or @role='search']",
)
_CHROME = etree.XPath(" | ".join(CHROME_XPATH))
# Elements whose text is one paragraph of the main content, for mapping text to the tree.
_LEAF_TAGS = (
    "p",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "td",
    "th",
    "dd",
    "dt",
    "pre",
    "blockquote",
    "div",
    "span",
    "a",
    "em",
    "strong",
    "figcaption",
    "caption",
)


_TEXT_LEAVES = frozenset(
    (
        "p",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "td",
        "th",
        "dd",
        "dt",
        "pre",
        "blockquote",
        "span",
        "a",
        "em",
        "strong",
        "b",
        "i",
        "figcaption",
        "caption",
        "tr",
        "tbody",
        "table",
        "ul",
        "ol",
        "dl",
    )
)


def prune_chrome(root: lxml.html.HtmlElement) -> None:
    """Remove menus, page headers and footers, sidebars and search forms."""
    for node in _CHROME(root):
        if node.getparent() is not None:
            node.drop_tree()


def _stable_id(value: str | None) -> bool:
    return bool(value) and not re.search(r"\d{3,}|[0-9a-f]{8,}", value or "")


def region_path(element: lxml.html.HtmlElement) -> str:
    """A readable XPath for ``element`` that survives small layout shifts (ids, classes)."""
    steps: list[str] = []
    node: lxml.html.HtmlElement | None = element
    anchored = False
    while node is not None and isinstance(node.tag, str):
        node_id = node.get("id")
        if _stable_id(node_id):
            steps.append(f"*[@id={_literal(str(node_id))}]")
            anchored = True
            break
        step = str(node.tag)
        css_class = node.get("class")
        parent = node.getparent()
        if css_class and not re.search(r"\d{3,}", css_class):
            step += f"[@class={_literal(css_class)}]"
        if parent is not None:
            alike = [s for s in parent if s.tag == node.tag and s.get("class") == css_class]
            if len(alike) > 1:
                step += f"[{alike.index(node) + 1}]"
        steps.append(step)
        node = parent
    path = ("//" if anchored else "/") + "/".join(reversed(steps))
    try:
        found = element.getroottree().getroot().xpath(path)
    except etree.XPathError:
        found = []
    if len(found) == 1 and found[0] is element:
        return path
    return str(element.getroottree().getpath(element))


def _literal(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    parts = value.split("'")
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in parts) + ")"


def locate_main(root: lxml.html.HtmlElement, share: float = 0.8) -> lxml.html.HtmlElement | None:
    """The smallest element holding most of the main text, as found by trafilatura."""
    import trafilatura

    document = trafilatura.bare_extraction(
        root, include_comments=False, include_tables=True, with_metadata=False
    )
    text = getattr(document, "text", None) if document is not None else None
    if not text:
        return None
    probes = {}
    for line in text.splitlines():
        line = " ".join(line.split()).lstrip("-#*> ")
        if len(line) >= 25:
            probes[line[:60]] = len(line)
    if not probes:
        return None
    weight: dict[lxml.html.HtmlElement, int] = {}
    total = 0
    matched: set[str] = set()
    for element in root.iter(*_LEAF_TAGS):
        prefix = " ".join(element.text_content().split())[:60]
        if prefix in probes:
            # Nested elements may share a prefix: the deepest wins (later in document order).
            matched.add(prefix)
            weight.setdefault(element, 0)
            weight[element] = max(weight[element], probes[prefix])
    # Keep only the deepest element per prefix.
    deepest: dict[str, lxml.html.HtmlElement] = {}
    for element in weight:
        prefix = " ".join(element.text_content().split())[:60]
        deepest[prefix] = element
    totals: dict[lxml.html.HtmlElement, int] = {}
    for prefix, element in deepest.items():
        size = probes[prefix]
        total += size
        for ancestor in (element, *element.iterancestors()):
            totals[ancestor] = totals.get(ancestor, 0) + size
    if not total:
        return None
    candidates = [el for el, size in totals.items() if size >= share * total]
    region = max(candidates, key=lambda el: sum(1 for _ in el.iterancestors()))
    # A region is a container: a single paragraph would leave its siblings unwatched.
    while region.tag in _TEXT_LEAVES and region.getparent() is not None:
        region = region.getparent()
    # Prefer the semantic container (<article>, <main>) around it: it holds the title and
    # date, and it is found again after a redesign renames every class.
    for ancestor in (region, *region.iterancestors()):
        if ancestor.tag in ("article", "main") or ancestor.get("role") == "main":
            return ancestor
    return region


_PREDICATE = re.compile(r"\[(?:@class=(?:'[^']*'|\"[^\"]*\")|\d+)\]")


def find_region(root: lxml.html.HtmlElement, path: str) -> lxml.html.HtmlElement | None:
    """The element at a learned region path; if a redesign renamed classes, the same
    path without class and position predicates, when that is unambiguous."""
    for candidate in (path, _PREDICATE.sub("", path)):
        try:
            found = root.xpath(candidate)
        except etree.XPathError:
            continue
        if len(found) == 1 and isinstance(found[0], etree._Element):
            node: lxml.html.HtmlElement = found[0]
            if " ".join(node.text_content().split()):
                return node
    return None


@register("main")
def main_extractor(
    root: lxml.html.HtmlElement, base_url: str, rules: Rules, region: str | None = None
) -> Extracted:
    """The page's main content: title, then the text and links of its content region.

    The region is located once with trafilatura (page chrome pruned first) and then
    remembered per page as an XPath, so later captures read the same region cheaply and
    consistently. A user ``selector`` replaces this; ``exclude`` applies first.
    """
    title = title_of(root)
    strip_invisible(root)
    if rules.selector is not None:
        return _selected(root, base_url, rules, title)
    regions(root, rules)  # applies exclude
    prune_chrome(root)
    node = find_region(root, region) if region else None
    if node is None:
        node = locate_main(root)
        if node is None:
            body = root.find("body")
            node = body if body is not None else root
        region = region_path(node)
    return Extracted(
        title=title, lines=lines_of([node]), links=links_of([node], base_url), region=region
    )


def extract(html: str, base_url: str, rules: Rules, region: str | None = None) -> Extracted:
    """Run the configured extractor on a decoded document (``region``: a learned one)."""
    try:
        extractor = EXTRACTORS[rules.extractor]
    except KeyError:
        raise ExtractionError(
            f"unknown extractor {rules.extractor!r}; known: {', '.join(sorted(EXTRACTORS))}"
        ) from None
    return extractor(parse(html), base_url, rules, region)
