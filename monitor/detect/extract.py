"""Extracting the compared content (title, text lines, links) from an HTML document.

Extractors register themselves by name in :data:`EXTRACTORS`; a target's config picks
one. Whatever the extractor, the user's ``selector`` narrows the document to a region
first and ``exclude`` removes regions, and the output has one block element (paragraph,
heading, list item, table row) per line: the differ relies on that.

Why one module of this size: one extraction pipeline (parse, strip, find the region,
prune furniture, key the lines) behind one registry of extractors; boilerplate scoring
already lives in :mod:`monitor.detect.boilerplate`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from monitor.exceptions import ExtractionError, SelectorNotMatchedError
from monitor.selector import Selector

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
    # Per line, its block key (see keyed_lines_of): how site-wide furniture is recognised.
    keys: list[str] = field(default_factory=list)
    # The images of the content, as (src, alt).
    images: list[tuple[str, str]] = field(default_factory=list)
    # With a selector: the whole page's visible text (page chrome left out), which the
    # quality judge reads beside the selected region; read from the tree when asked for
    # (a page whose region holds what it held last time is not judged on it).
    whole_page: Callable[[], list[str]] | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    """How to extract one target's content (from its config)."""

    extractor: str = "main"
    selector: Selector | None = None
    exclude: tuple[Selector, ...] = ()


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


def select(root: lxml.html.HtmlElement, selector: Selector) -> list[lxml.html.HtmlElement]:
    """Elements matching a selector."""
    if selector.kind == "css":
        found = root.cssselect(selector.query)
    else:
        result = root.xpath(selector.query)
        found = (
            [node for node in result if isinstance(node, etree._Element)]
            if isinstance(result, list)
            else []
        )
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


#: A block key holds the innermost block of a line and this many block ancestors in all.
KEY_STEPS = 3


def keyed_lines_of(nodes: Iterable[lxml.html.HtmlElement]) -> tuple[list[str], list[str]]:
    """:func:`lines_of`, with each line's *block key*: the tags and classes of the block
    element holding the line and of its nearest block ancestors
    (``article.news/div.promo/p``), without positions, so the same widget has the same
    key on every page of a site."""
    pieces: list[str] = []
    append = pieces.append
    # Block number -> its parent's number and its step ("tag.class"); paths are built only
    # for the blocks lines come from.
    parents: list[int] = [0]
    steps: list[str] = [""]
    # Every block boundary is a break followed by \x01 (no text node holds control
    # characters); ``order`` holds, boundary by boundary, the block from there on.
    order: list[int] = []

    def walk(node: lxml.html.HtmlElement, key: int) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        inner = key
        if tag in BLOCK_TAGS:
            css = node.get("class")
            steps.append(tag + "." + css if css else tag)
            parents.append(key)
            inner = len(steps) - 1
            append("\n\x01")
            order.append(inner)
        elif tag == "br":
            append("\n")
        if node.text:
            append(node.text)
        for child in node:
            walk(child, inner)
            if child.tail:
                append(child.tail)
        if inner != key:
            append("\n\x01")
            order.append(key)

    for node in nodes:
        walk(node, 0)
        append("\n")
    paths: dict[int, str] = {0: ""}

    def path(number: int) -> str:
        # From the nearest block with a class (the widget's own name) down to the line,
        # at most KEY_STEPS steps: the same widget has the same key whether the region is
        # located at <article> on one page, at a <div> of another layout, or falls back
        # to <body>.
        found = paths.get(number)
        if found is None:
            chain: list[str] = []
            step = number
            while step and len(chain) < KEY_STEPS:
                chain.append(steps[step])
                if "." in steps[step]:
                    break
                step = parents[step]
            found = paths[number] = "/".join(reversed(chain))
        return found

    lines: list[str] = []
    line_keys: list[str] = []
    current = 0
    boundary = 0
    for raw in "".join(pieces).split("\n"):
        if raw.startswith("\x01") and boundary < len(order):
            current = order[boundary]
            boundary += 1
            raw = raw[1:]
        line = " ".join(raw.split())
        if line:
            lines.append(line)
            line_keys.append(path(current))
    return lines, line_keys


def links_of(nodes: Iterable[lxml.html.HtmlElement], base_url: str) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    for node in nodes:
        for anchor in node.iter("a"):
            href = (anchor.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
                continue
            links.append((urljoin(base_url, href), " ".join(anchor.text_content().split())))
    return links


# Where lazy-loading pages keep an image's real address while ``src`` holds a placeholder.
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy")


def images_of(nodes: Iterable[lxml.html.HtmlElement], base_url: str) -> list[tuple[str, str]]:
    """The images of ``nodes`` as (absolute src, alt text): what a picture shows is content.

    Lazy-loaded images count by their real address; inline ``data:`` images and tracking
    pixels (1x1) do not count.
    """
    images: list[tuple[str, str]] = []
    for node in nodes:
        for image in node.iter("img"):
            src = next((image.get(name) for name in _LAZY_SRC if image.get(name)), None)
            src = (src or image.get("src") or "").strip()
            if not src or src.startswith(("data:", "javascript:")):
                continue
            if image.get("width") in ("0", "1") or image.get("height") in ("0", "1"):
                continue
            alt = " ".join((image.get("alt") or "").split())
            images.append((urljoin(base_url, src), alt))
    return images


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
    root: lxml.html.HtmlElement,
    base_url: str,
    rules: Rules,
    title: str | None,
    *,
    keyed: bool = True,
) -> Extracted:
    """The regions a user's selector picks, with the whole page beside them."""
    extracted = _extracted(title, regions(root, rules, title), base_url, keyed=keyed)
    extracted.whole_page = functools.partial(page_lines, root)
    return extracted


@register("text")
def text_extractor(
    root: lxml.html.HtmlElement, base_url: str, rules: Rules, region: str | None = None
) -> Extracted:
    """All visible text of the page (or of the selected region), one block per line."""
    title = title_of(root)
    strip_invisible(root)
    if rules.selector is not None:
        return _selected(root, base_url, rules, title, keyed=False)
    return _extracted(title, regions(root, rules), base_url, keyed=False)


def _extracted(
    title: str | None,
    nodes: list[lxml.html.HtmlElement],
    base_url: str,
    region: str | None = None,
    *,
    keyed: bool = True,
) -> Extracted:
    """What the extractors return. ``keyed``: with the block key of each line (the whole
    page's text has none: site boilerplate is learned there line by line only)."""
    lines, keys = keyed_lines_of(nodes) if keyed else (lines_of(nodes), [])
    return Extracted(
        title=title,
        lines=lines,
        links=links_of(nodes, base_url),
        region=region,
        keys=keys,
        images=images_of(nodes, base_url),
    )


# Page-level chrome: never the statement. Headers and footers inside <article>/<main>
# are kept, since article headers hold the title and the date.
CHROME_XPATH = (
    # A header that holds the page's headline (an <h1> that is not a link) is kept.
    "//header[not(ancestor::article or ancestor::main)][not(.//h1[not(.//a or ancestor::a)])]",
    "//footer[not(ancestor::article or ancestor::main)]",
    "//nav",
    "//aside",
    # Small forms (search boxes, newsletter sign-ups); ASP.NET wraps whole pages in one.
    "//form[string-length(normalize-space()) < 200]",
    # [@role] first: libxml2 then compares values only where there is one (6x faster).
    "//*[@role][@role='banner' or @role='navigation' or @role='contentinfo'"
    " or @role='complementary' or @role='search']",
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


#: A located region is widened to the ancestor it shares with the headline when that adds
#: at most this many characters (the lead, the date line, the byline between them).
HEADLINE_REACH = 1000
#: Otherwise the headline's own block joins the region, up to this many characters.
HEADER_CHARS = 600

_TITLE_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W\u3040-\u30ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af]+",
    re.UNICODE,
)


def _words(text: str) -> list[str]:
    return _TITLE_TOKEN.findall(text.lower())


def _text_length(node: lxml.html.HtmlElement) -> int:
    return len(" ".join(node.text_content().split()))


def headline_of(
    root: lxml.html.HtmlElement, titles: Iterable[str | None]
) -> lxml.html.HtmlElement | None:
    """The page's headline: the heading that names the page.

    An ``<h1>`` or ``<h2>`` most of whose words are in the page's ``<title>`` or
    ``og:title`` (site names around the headline are common in titles); else the only
    ``<h1>`` of the page. A heading that is a link (a logo, a teaser) is never one.
    """
    wanted: set[str] = set()
    for title in titles:
        wanted.update(_words(title or ""))
    best: tuple[float, int, int] | None = None
    found: lxml.html.HtmlElement | None = None
    h1s: list[lxml.html.HtmlElement] = []
    body = root.find("body")
    for position, heading in enumerate((body if body is not None else root).iter("h1", "h2")):
        if heading.find(".//a") is not None or any(a.tag == "a" for a in heading.iterancestors()):
            continue
        words = _words(heading.text_content())
        if len(words) < 2 and not (words and len(words[0]) > 3):
            continue
        if heading.tag == "h1":
            h1s.append(heading)
        if not wanted:
            continue
        overlap = len(set(words) & wanted) / len(set(words))
        if overlap < 0.6:
            continue
        score = (overlap, 1 if heading.tag == "h1" else 0, -position)
        if best is None or score > best:
            best, found = score, heading
    if found is None and len(h1s) == 1:
        found = h1s[0]
    return found


def with_headline(
    region: lxml.html.HtmlElement, headline: lxml.html.HtmlElement | None
) -> list[lxml.html.HtmlElement]:
    """The region's elements once the page's headline (and its lead) are part of it.

    A headline inside the region changes nothing. Otherwise the region widens to the
    element holding both when that adds little text (:data:`HEADLINE_REACH`); else the
    headline's own block (the headline with the lead, kicker and date line around it,
    up to :data:`HEADER_CHARS`) is watched beside the region.
    """
    if headline is None or headline is region:
        return [region]
    region_chain = [region, *region.iterancestors()]
    if any(ancestor is region for ancestor in headline.iterancestors()):
        return [region]
    if any(ancestor is headline for ancestor in region.iterancestors()):
        return [headline]
    headline_chain = {headline, *headline.iterancestors()}
    common = next((a for a in region_chain if a in headline_chain), None)
    region_chars, headline_chars = _text_length(region), _text_length(headline)
    if (
        common is not None
        and common.tag not in ("body", "html")
        and _text_length(common) <= region_chars + headline_chars + HEADLINE_REACH
    ):
        return [common]
    block = headline
    for ancestor in headline.iterancestors():
        if ancestor is common or ancestor.tag in ("body", "html"):
            break
        if _text_length(ancestor) > headline_chars + HEADER_CHARS:
            break
        block = ancestor
    parts = [block, region]
    lead = lead_of(block, region)
    if lead is not None:
        parts.insert(1, lead)
    return parts


#: A lead is a block of this much text (not links) between the headline and the content.
LEAD_CHARS = (40, 1000)


def lead_of(
    headline: lxml.html.HtmlElement, region: lxml.html.HtmlElement
) -> lxml.html.HtmlElement | None:
    """The lead (teaser, standfirst, deck) between a headline block and the content region.

    The first block after the headline, before the region, with a sentence or a few of
    text that is neither links nor page furniture nor a picture's caption.
    """
    from monitor.detect import boilerplate

    low, high = LEAD_CHARS
    for element in headline.xpath("following::*[position() <= 300]"):
        if element is region:
            return None
        if not isinstance(element.tag, str) or element.tag not in (
            "p", "div", "h2", "h3", "h4", "section", "header", "span", "strong",
        ):  # fmt: skip
            continue
        if any(ancestor is element for ancestor in region.iterancestors()):
            continue  # a wrapper of the content region itself
        if any(a.tag in ("figure", "figcaption", "a") for a in element.iterancestors()):
            continue
        text = " ".join(element.text_content().split())
        if not low <= len(text) <= high:
            continue
        linked = sum(len(" ".join(a.text_content().split())) for a in element.iter("a"))
        if linked > 0.5 * len(text) or boilerplate.is_furniture(element):
            continue
        return element
    return None


def _split_union(path: str) -> list[str]:
    """The parts of an XPath union ``a | b`` (a ``|`` inside a quoted literal is kept)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in path:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def find_regions(root: lxml.html.HtmlElement, path: str) -> list[lxml.html.HtmlElement] | None:
    """The elements of a learned region (an XPath, or a union of XPaths: the headline's
    block and the content), or None when any of them is no longer found."""
    nodes = []
    for part in _split_union(path):
        node = find_region(root, part)
        if node is None:
            return None
        nodes.append(node)
    # Nested parts (a layout change folded the headline into the content): the outer one.
    return [n for n in nodes if not any(o is not n and o in n.iterancestors() for o in nodes)]


@register("main")
def main_extractor(
    root: lxml.html.HtmlElement, base_url: str, rules: Rules, region: str | None = None
) -> Extracted:
    """The page's main content: title, then the text and links of its content region.

    The region is located once with trafilatura (page chrome pruned first), widened to
    hold the page's headline and lead, and then remembered per page as an XPath, so
    later captures read the same region cheaply and consistently. Page furniture inside
    it (share buttons, ads, related lists, credits: :mod:`monitor.detect.boilerplate`) is not
    content. A user ``selector`` replaces this; ``exclude`` applies first.
    """
    from monitor.detect import boilerplate

    title = title_of(root)
    head = root.find("head")
    og_title = head.find("meta[@property='og:title']") if head is not None else None
    strip_invisible(root)
    if rules.selector is not None:
        return _selected(root, base_url, rules, title)
    regions(root, rules)  # applies exclude
    prune_chrome(root)
    nodes = find_regions(root, region) if region else None
    if nodes is None:
        node = locate_main(root)
        if node is None:
            body = root.find("body")
            nodes = [body if body is not None else root]
        else:
            titles = (title, og_title.get("content") if og_title is not None else None)
            nodes = with_headline(node, headline_of(root, titles))
        region = " | ".join(region_path(node) for node in nodes)
    for node in nodes:
        boilerplate.prune(node)
    return _extracted(title, nodes, base_url, region)


def extract(html: str, base_url: str, rules: Rules, region: str | None = None) -> Extracted:
    """Run the configured extractor on a decoded document (``region``: a learned one)."""
    try:
        extractor = EXTRACTORS[rules.extractor]
    except KeyError:
        raise ExtractionError(
            f"unknown extractor {rules.extractor!r}; known: {', '.join(sorted(EXTRACTORS))}"
        ) from None
    return extractor(parse(html), base_url, rules, region)
