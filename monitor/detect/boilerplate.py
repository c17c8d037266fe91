"""Page furniture inside the content region: what is pruned before its text is compared.

The content region of an article still holds things that are not its statement: share
buttons ("Share: X Facebook"), advertising slots, "Related coverage" / "Read more" link
lists, newsletter and subscription promos, comment threads, tag lists, photo credits,
video-player labels. Editing them is not news, so :func:`prune` removes them from the
region before its lines, links and images are taken.

Each rule was measured on real pages whose main content is marked
(``benchmarks/extraction_quality.py``), and each is guarded so that it never removes
real prose:

* ``class-or-id``: an element whose ``class``/``id`` names page furniture
  (:data:`FURNITURE_NAMES`, :data:`FURNITURE_TOKENS`, numbered or not: ``promo2``),
  unless it holds a paragraph of prose (a non-link text run of :data:`PROSE_CHARS` or
  more; comment threads excepted) or more than half of the region's text;
* ``labels``: a short block whose whole text is interface words (:data:`LABELS`:
  "Share", "Tweet", "Print version", "Advertisement", "Replay", in the languages
  official sites publish in), with digits and punctuation around them; words that can
  also be content (:data:`WEAK_LABELS`: "Print", "Email", "Photo") only beside one of
  those, or as links;
* ``credit``: a photo credit ("Photo: AFP", ``class="credit"``), short;
* ``related-list``: a block that starts with a "Related"/"Read more"/"You may also
  like" heading and is otherwise mostly links, or a short one opened by "About the
  author";
* ``teaser``: a heading that is a link to another page (an article's own headings
  never are) with the block around it that adds no prose (its picture, date, section
  label); not when a text of its own follows it (a digest of statements), nor when
  teasers are most of the region (a listing page);
* ``link-bar``: a line of short links and nothing else: tags, a breadcrumb trail, a
  pager (lists are not bars: a list of documents to bring is a fact);
* ``pager``: a link to the previous or next article ("← Previous: <its title>").

What is removed never reaches the stored text either: the stored version is what the
content region says, and furniture is not part of it (site-wide lines that are not
recognisable here are masked per site instead, see :mod:`monitor.detect.site_boilerplate`).

Why one module of this size: the rules share one survey of the region (text lengths,
link shares, label tests cached per element) and their guards against removing prose;
split by rule, each would recompute the survey or import the others' privates. The word
lists (labels in several languages) are most of its length.
"""

from __future__ import annotations

import functools
import logging
import re

import lxml.html
from lxml import etree

logger = logging.getLogger(__name__)

#: A run of text outside links at least this long is prose: never pruned by class/id.
PROSE_CHARS = 400
#: A block of interface labels or a credit is short.
LABEL_CHARS = 120

#: Whole class/id values (or their ``-``/``_``/camelCase parts, see FURNITURE_TOKENS).
FURNITURE_NAMES = frozenset(
    {
        "hidden",
        "is-hidden",
        "off-screen",
        "offscreen",
        "sr-only",
        "visually-hidden",
        "visuallyhidden",
        "screen-reader-text",
        "screen-reader-only",
        "read-more",
        "readmore",
        "more-stories",
        "most-read",
        "mostread",
        "most-popular",
        "mostpopular",
        "you-may-like",
        "author-bio",
        "authorbio",
        "about-the-author",
        "tag-list",
        "taglist",
        "tagcloud",
        "post-tags",
        "article-tags",
    }
)
#: Parts of class/id values that name furniture (compared whole, lower-cased).
FURNITURE_TOKENS = frozenset(
    {
        "share",
        "shares",
        "sharing",
        "sharebar",
        "sharetools",
        "social",
        "socials",
        "related",
        "recommended",
        "recommendations",
        "recirculation",
        "recirc",
        "trending",
        "promo",
        "promos",
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "signup",
        "advert",
        "adverts",
        "advertisement",
        "advertising",
        "ad",
        "ads",
        "adslot",
        "adunit",
        "dfp",
        "sponsor",
        "sponsored",
        "outbrain",
        "taboola",
        "teads",
        "comments",
        "comment",
        "disqus",
        "breadcrumb",
        "breadcrumbs",
        "tags",
        "keywords",
        "topics",
        "toolbar",
        "player",
        "videoplayer",
        "autoplay",
        "print",
        "bio",
    }
)
_NAMED = re.compile(
    "(?:" + "|".join(re.escape(n) for n in sorted(FURNITURE_NAMES, key=len, reverse=True)) + ")"
    r"(?:$|[-_])"
)
# Comment threads are prose, but never the page's statement.
_PROSE_ALLOWED = frozenset({"comments", "comment", "disqus"})

#: Interface words that only ever label a widget: a block made of these (with digits,
#: punctuation, and the words of WEAK_LABELS) is furniture.
LABELS = frozenset(
    {
        # sharing and tools
        "share", "share this", "share this page", "share this story", "share this article",
        "share on facebook", "share on twitter", "share on linkedin", "share on whatsapp",
        "share via email", "share by email", "tweet", "facebook", "twitter", "linkedin",
        "reddit", "whatsapp", "telegram", "vkontakte", "odnoklassniki", "pinterest",
        "flipboard", "print version", "print this page", "printer friendly",
        "printer-friendly version", "copy link", "link copied", "bookmark it",
        "view comments", "read comments", "follow us", "rss feed", "permalink", "shares",
        # advertising
        "advertisement", "advertising", "sponsored", "sponsored content", "sponsored links",
        "promoted links", "supported by", "skip ad", "anzeige", "werbung", "publicité",
        "publicidad", "publicidade", "реклама", "广告", "إعلان",
        # media players
        "replay", "autoplay", "full screen", "fullscreen", "view photos", "view gallery",
        "view graphic", "view this image", "enlarge this image",
        # reading on
        "read more", "read now", "continue reading", "up next", "back to top",
        "buy now", "from around the web", "around the web",
        # other languages
        "compartilhe", "compartilhar", "copiar link", "leia mais", "ouvir o texto",
        "compartir", "partager", "imprimer", "lire la suite", "teilen", "drucken",
        "weiterlesen", "mail senden", "version zum drucken", "druckversion",
        "kommentare lesen", "lire les commentaires", "leer comentarios", "поделиться",
        "версия для печати", "читать далее",
        "分享", "شارك", "مشاركة",
    }
)  # fmt: skip
#: Words that label widgets too, but also name things in a statement ("Photo" in a list
#: of documents to bring): furniture only beside a word of LABELS, or as links.
WEAK_LABELS = frozenset(
    {
        "x", "vk", "ok", "email", "e-mail", "mail", "print", "copy", "bookmark",
        "save", "more", "comments", "comment", "send", "follow", "rss", "atom", "ad", "ads",
        "close", "play", "pause", "mute", "enlarge", "image", "photo", "video", "top",
        "suivre", "folgen", "seguir",
        "imprimir", "voltar", "comentarios", "commentaires", "kommentare", "печать",
        "комментарии", "打印", "评论", "طباعة",
    }
)  # fmt: skip
# Labels are compared with punctuation, digits and symbols removed ("teilen17", "+12").
_NOT_WORD = re.compile(r"[\W\d_]+", re.UNICODE)

#: Headings that open a list of links to other pages.
RELATED_HEADINGS = re.compile(
    r"^\W*(?:related(?: (?:coverage|stories|articles|news|content|links|reading))?|"
    r"read (?:more|also|next)|see more|more (?:from|on|about|stories|news)\b.*|"
    r"you (?:may|might) (?:also )?(?:like|be interested in)|recommended(?: for you)?|"
    r"most (?:read|popular|viewed)|trending(?: now)?|also read|up next|next (?:article|story)|"
    r"související(?: články)?|leia (?:mais|também)|veja também|lire aussi|à lire aussi|"
    r"lesen sie auch|mehr zum thema|lea también|lee también|te puede interesar|"
    r"читайте также|смотрите также|по теме|相关(?:阅读|新闻|文章)|延伸阅读|猜你喜欢|"
    r"اقرأ أيضا|اقرأ أيضاً)\W*$",
    re.IGNORECASE,
)

#: A link to the previous or next article: "← Previous: <its title>", "Next post »".
_PAGER = re.compile(
    r"^\W*(?:previous|next|older|newer|prev|vorige[rn]?|nächste[rn]?|zurück|weiter|"
    r"précédent|suivant|anterior|siguiente|próximo|próxima|предыдущ\w*|следующ\w*|"
    r"上一篇|下一篇|上一页|下一页)"
    r"(?:\s+(?:post|article|story|entry|news|item|page|artikel|meldung|beitrag|"
    r"noticia|notícia|статья|новость))?\s*[:：»›→]",
    re.IGNORECASE,
)
#: Headings that open a box about the author (a biography, links to their other pages).
AUTHOR_HEADINGS = re.compile(
    r"^\W*(?:about the authors?|about the writer|über (?:den autor|die autorin)|zur person|"
    r"à propos de l'auteur|l'auteur|sobre el autor|sobre la autora|sobre o autor|"
    r"об авторе|关于作者|作者简介)\W*$",
    re.IGNORECASE,
)
#: An author box is short: a longer block opened by such a heading is kept.
AUTHOR_CHARS = 800
_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])|__")
_CREDIT = re.compile(
    r"^\W*(?:photo|photograph|image|picture|foto|bild|credit|crédit|crédito|source|"
    r"фото|图片)(?:\s*(?:by|credit|:|：|/))",
    re.IGNORECASE,
)


def _text(node: lxml.html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


@functools.lru_cache(maxsize=8192)
def _furniture_name(value: str) -> str | None:
    """The furniture word in a class or id value, if any; "" for a photo credit's class.

    Cached: a site's templates use the same few hundred class names on every page.
    """
    # "" for a credit's class: not furniture by name, but see the credit rule.
    found: str | None = "" if _credit_mark(value) else None
    for name in value.split():
        lowered = name.lower()
        # A furniture name, alone or as the start of a longer one ("read-more-link"), or
        # a hidden state ("gallery-widget--is-hidden").
        if _NAMED.match(lowered.rsplit("--", 1)[-1]):
            found = lowered
            break
        # A numbered part names the same thing ("contentBreadcrumbs2", "share_1").
        parts = {part.lower().rstrip("0123456789") for part in _SPLIT.split(name) if part}
        hit = parts & FURNITURE_TOKENS
        if hit:
            found = min(hit)
            break
    return found


def _prose_chars(node: lxml.html.HtmlElement) -> int:
    """The longest run of text in ``node`` that is not link text."""
    longest = 0
    run = 0

    def walk(element: lxml.html.HtmlElement, in_link: bool) -> None:
        nonlocal longest, run
        link = in_link or element.tag == "a"
        if element.text and not link:
            run += len(element.text.strip())
        elif element.text and link:
            longest, run = max(longest, run), 0
        for child in element:
            if isinstance(child.tag, str):
                if child.tag in ("p", "div", "li", "br", "td", "blockquote"):
                    longest, run = max(longest, run), 0
                walk(child, link)
            if child.tail and not link:
                run += len(child.tail.strip())

    walk(node, False)
    return max(longest, run)


@functools.lru_cache(maxsize=8192)
def label_kind(text: str) -> str | None:
    """Whether ``text`` is only interface words: "strong" when one of them is
    unmistakable ("Share", "Tweet 12", "Print | Share"), "weak" when all of them can also
    be content ("Print", "Email"), else None."""
    if not text or len(text) > LABEL_CHARS:
        return None
    pieces = [piece for piece in re.split(r"\s*[|•·/,;:›»\n]\s*|\s{2,}", text.lower()) if piece]
    strong = weak = False
    for piece in pieces:
        words = _NOT_WORD.sub(" ", piece).split()
        if not words:
            continue  # digits and punctuation only: a count beside a label
        phrase = " ".join(words)
        if phrase in LABELS:
            strong = True
        elif phrase in WEAK_LABELS:
            weak = True
        # "Facebook Twitter Email": every word a label of its own.
        elif all(word in LABELS or word in WEAK_LABELS for word in words):
            strong = strong or any(word in LABELS for word in words)
            weak = True
        else:
            return None
    return "strong" if strong else ("weak" if weak else None)


def is_label_text(text: str) -> bool:
    """True when ``text`` is only interface words, one of them unmistakable."""
    return label_kind(text) == "strong"


def _link_chars(node: lxml.html.HtmlElement) -> int:
    return sum(len(_text(anchor)) for anchor in node.iter("a"))


HEADING_CHARS = 40


_SHORT_TAGS = frozenset(
    ["div", "p", "li", "ul", "ol", "section", "footer", "header", "figure", "span", "dl",
     "small", "h2", "h3", "h4", "h5", "h6"]
)  # fmt: skip
_HEADING_TAGS = frozenset(["h2", "h3", "h4", "h5", "h6", "strong", "b", "span", "p", "div", "em"])
_TEXT_TAGS = _SHORT_TAGS | _HEADING_TAGS
_INLINE = frozenset(["b", "strong", "em", "i", "span", "small", "sup", "sub", "abbr", "u"])


def _survey(
    region: lxml.html.HtmlElement,
) -> tuple[int, list[lxml.html.HtmlElement], list[tuple[lxml.html.HtmlElement, str]]]:
    """One walk of the region: its text length, its elements with a class or id, and its
    short blocks with their text (the candidates of the rules)."""
    marked: list[lxml.html.HtmlElement] = []
    short: list[tuple[lxml.html.HtmlElement, str]] = []
    elements = list(region.iter(etree.Element))
    # Per element, its text pieces while they stay short (None once too long), and its
    # raw text length; children come after their parent in document order, so walking
    # the list backwards sees every child before its parent.
    texts: dict[lxml.html.HtmlElement, list[str] | None] = {}
    sizes: dict[lxml.html.HtmlElement, int] = {}
    bound = 4 * LABEL_CHARS
    for node in reversed(elements):
        text = node.text
        pieces: list[str] | None = [text] if text else []
        size = len(text) if text else 0
        for child in node:
            if child in sizes:
                size += sizes[child]
                inner = texts[child]
                if pieces is not None:
                    if inner is None:
                        pieces = None
                    elif child.tag in _INLINE:
                        pieces.extend(inner)
                    else:  # a block, a link: words on either side stay apart
                        pieces.extend((" ", *inner, " "))
            tail = child.tail
            if tail:
                size += len(tail)
                if pieces is not None:
                    pieces.append(tail)
        if pieces is not None and size > bound:
            collapsed = " ".join("".join(pieces).split())
            pieces = [collapsed] if len(collapsed) <= LABEL_CHARS else None
        sizes[node], texts[node] = size, pieces
        if node is region:
            continue
        if node.get("class") or node.get("id"):
            marked.append(node)
        if pieces is not None and node.tag in _TEXT_TAGS:
            collapsed = " ".join("".join(pieces).split())
            if collapsed:
                short.append((node, collapsed))
    marked.reverse()
    short.reverse()
    return sizes.get(region, 0), marked, short


def prune(region: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """Remove page furniture inside ``region``; returns (rule, text) of what was removed."""
    removed: list[tuple[str, str]] = []
    total, marked, short = _survey(region)
    if not total:
        return removed
    doomed: dict[lxml.html.HtmlElement, str] = {}
    linked, twice_linked = _holding_links(region)
    for node in marked:
        rule = _marked_rule(node, total)
        if rule is not None:
            doomed[node] = rule
    for node, text in short:
        if node in doomed:
            continue
        if node.tag in _SHORT_TAGS:
            rule = _text_rule(text, node)
            if rule == "credit" and node.find(".//img") is not None:
                # A photo credit never takes the photo with it (a <figure> whose only
                # text is "Photo: ..."): its parts without an image go, the image stays.
                for part in node:
                    if (
                        isinstance(part.tag, str)
                        and part.tag != "img"
                        and part.find(".//img") is None
                    ):
                        doomed.setdefault(part, rule)
                continue
            if rule is not None:
                doomed[node] = rule
                continue
            if node in linked:  # the rules about links, for blocks that hold one
                if node in twice_linked and _link_bar(node):
                    doomed[node] = "link-bar"
                    continue
                if _PAGER.match(text) and _link_chars(node) >= 0.8 * len(text):
                    doomed[node] = "pager"
                    continue
        if node.tag in _HEADING_TAGS and len(text) <= HEADING_CHARS:
            for block in _related_blocks(node, text, total, region):
                doomed.setdefault(block, "related-list")
    for block in _teasers(region, total):
        doomed.setdefault(block, "teaser")
    for node, rule in doomed.items():
        if any(ancestor in doomed for ancestor in node.iterancestors()):
            continue  # removed with its ancestor
        removed.append((rule, _text(node)[:120]))
        node.drop_tree()
    return removed


def is_furniture(node: lxml.html.HtmlElement) -> bool:
    """Whether :func:`prune` would remove ``node`` (judged on its own)."""
    total = max(len(_text(node)) * 4, 1)
    return _marked_rule(node, total) is not None or _text_rule(_text(node), node) is not None


def _marked_rule(node: lxml.html.HtmlElement, total: int) -> str | None:
    """``class-or-id``: furniture by its name, unless it holds prose or most of the page;
    ``credit``: a short element whose class names a photo credit."""
    marks = f"{node.get('class') or ''} {node.get('id') or ''}".strip()
    furniture = _furniture_name(marks)
    if furniture is None:
        return None
    size = len(_text(node))
    if furniture == "":
        if node.tag in ("figcaption", "figure") or size > LABEL_CHARS:
            return None
        return "credit"
    if size > 0.5 * total:
        return None
    if (
        furniture not in _PROSE_ALLOWED
        and size >= PROSE_CHARS
        and _prose_chars(node) >= PROSE_CHARS
    ):
        return None
    return "class-or-id"


def _text_rule(text: str, node: lxml.html.HtmlElement | None = None) -> str | None:
    """``labels`` or ``credit`` for the text of a short block."""
    if len(text) > LABEL_CHARS:
        return None
    kind = label_kind(text)
    if kind == "strong" or (
        # Words such as "Print" or "Email" are furniture as buttons or links only.
        kind == "weak"
        and node is not None
        and _link_chars(node) >= 0.8 * len(_NOT_WORD.sub("", text))
    ):
        return "labels"
    if _CREDIT.match(text):
        return "credit"
    return None


def _related_blocks(
    heading: lxml.html.HtmlElement, text: str, total: int, region: lxml.html.HtmlElement
) -> list[lxml.html.HtmlElement]:
    """The block a "Related"/"Read more" heading opens, when the rest of it is links; the
    block an "About the author" heading opens, when it is short (a biography)."""
    author = bool(AUTHOR_HEADINGS.match(text))
    if not author and not RELATED_HEADINGS.match(text):
        return []
    block: lxml.html.HtmlElement | None = heading
    # Climb while the heading is the start of its parent: the parent is the block.
    while block is not None:
        parent = block.getparent()
        if parent is None or parent is region:
            break
        first = parent.text and parent.text.strip()
        if first or next((c for c in parent if isinstance(c.tag, str)), None) is not block:
            break
        block = parent
    assert block is not None
    size = len(_text(block))
    rest = size - len(text)
    if author:
        return [block] if rest > 0 and size <= min(AUTHOR_CHARS, 0.5 * total) else []
    if rest > 0 and size <= 0.5 * total and _link_chars(block) >= 0.6 * rest:
        return [block]
    # A heading followed by its list: the two together.
    following = block.getnext()
    if following is not None and following.tag in ("ul", "ol", "div", "p", "section"):
        size = len(_text(following))
        if size and size <= 0.5 * total and _link_chars(following) >= 0.6 * size:
            return [block, following]
    return []


#: Teasers of other pages make up at most this share of a region: beyond, they are
#: the content (a listing page's list of articles).
TEASER_SHARE = 0.5
#: A teaser's own text outside links (a date, a section label, a one-line summary) is
#: shorter than this: a heading followed by longer text heads a part of the content.
TEASER_PROSE = 100


def _teasers(region: lxml.html.HtmlElement, total: int) -> list[lxml.html.HtmlElement]:
    """``teaser``: a heading that is a link to another page (an article's own headings
    never are), with the block around it that adds no prose (its picture, date, section
    label): teasers of other articles, grouped or alone. A heading followed by text of
    its own heads a part of the content and stays; so do teasers that make up most of
    the region (a listing page's articles are its content)."""
    found: list[lxml.html.HtmlElement] = []
    taken: set[lxml.html.HtmlElement] = set()
    for heading in region.iter("h2", "h3", "h4", "h5", "h6"):
        anchor = next(heading.iterancestors("a"), None)
        link = anchor if anchor is not None else next(heading.iter("a"), None)
        if link is None or any(ancestor in taken for ancestor in heading.iterancestors()):
            continue
        href = (link.get("href") or "").strip()
        text = _text(heading)
        if (
            not href
            or href.startswith("#")
            or not _headline_like(text)
            or (anchor is None and _link_chars(heading) < 0.9 * len(text))
        ):
            continue
        block = start = anchor if anchor is not None else heading
        while True:
            parent = block.getparent()
            if (
                parent is None
                or parent is region
                or len(_text(parent)) > 0.5 * total
                or _prose_chars(parent) >= TEASER_PROSE
                or _has_own_heading(parent)
            ):
                break
            block = parent
        if block is not start:
            found.append(block)
            taken.add(block)
    if sum(len(_text(block)) for block in found) > TEASER_SHARE * total:
        return []
    return found


def _has_own_heading(node: lxml.html.HtmlElement) -> bool:
    """Whether ``node`` holds a heading that is not a link: a heading of the content."""
    for heading in node.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        if next(heading.iterancestors("a"), None) is None and heading.find(".//a") is None:
            return True
    return False


#: What stands between the links of a bar: "Home > News", "« Previous | Next »", "a, b".
_SEPARATOR = re.compile(r"^[\s|•·/,;>›»«<‹→–—-]*$")
#: ... and between the steps of a breadcrumb trail, which may end on the page's title.
_TRAIL = re.compile(r"^\s*[>›»/→]\s*$")
#: A year or a numeric date: a line of links that holds one is a date line, content.
_DATED = re.compile(r"\b(?:19|20)\d\d\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")
#: A link of a bar is short (a tag, a section, "Next").
BAR_LINK_WORDS = 5


def _holding_links(
    region: lxml.html.HtmlElement,
) -> tuple[set[lxml.html.HtmlElement], set[lxml.html.HtmlElement]]:
    """The elements of ``region`` that hold a link, and those that hold two or more."""
    seen: set[lxml.html.HtmlElement] = set()
    twice: set[lxml.html.HtmlElement] = set()
    for anchor in region.iter("a"):
        for ancestor in anchor.iterancestors():
            if ancestor is region or ancestor in twice:
                break  # its ancestors are counted already
            if ancestor in seen:
                twice.add(ancestor)
            else:
                seen.add(ancestor)
    return seen, twice


def _link_bar(node: lxml.html.HtmlElement) -> bool:
    """``link-bar``: a line of short links and nothing else (tags, a breadcrumb trail, a
    pager): two links or more with separators only, or three or more after a short
    label ("Tags:", "In this article:"); a breadcrumb may end on the page's own title.
    Lists (``<ul>``, ``<li>``) are not bars: a list of documents to bring is a fact."""
    if node.tag in ("ul", "ol", "li", "dl") or next(node.iter("li"), None) is not None:
        return False
    links: list[str] = []
    gaps: list[str] = [""]  # the text before the first link, between links, after it

    def walk(element: lxml.html.HtmlElement) -> None:
        if element.text:
            gaps[-1] += element.text
        for child in element:
            if child.tag == "a":
                links.append(_text(child))
                gaps.append("")
            elif isinstance(child.tag, str):
                walk(child)
            if child.tail:
                gaps[-1] += child.tail

    walk(node)
    if len(links) < 2 or any(
        not link or len(link.split()) > BAR_LINK_WORDS or len(link) > 40 for link in links
    ):
        return False
    if any(_DATED.search(link) for link in links):
        return False  # a date line made of links ("15 December 2022 | Press releases")
    label, between, after = gaps[0].strip(), gaps[1:-1], gaps[-1]
    if not all(_SEPARATOR.match(gap) for gap in between):
        return False
    # A breadcrumb trail may end on the page's own title, unlinked.
    trail = bool(between) and all(_TRAIL.match(gap) for gap in between)
    if not _SEPARATOR.match(after) and not (trail and len(after.split()) <= 12):
        return False
    if not label or _SEPARATOR.match(label):
        return True
    return len(links) >= 3 and len(label) <= 30 and len(label.split()) <= 3


def _headline_like(text: str) -> bool:
    """A sentence-like heading (a teaser's headline), not a label ("US & Canada", a name):
    three words or more, or a run of an unspaced script."""
    return len(text.split()) >= 3 or (len(text) >= 8 and " " not in text)


def _credit_mark(marks: str) -> bool:
    """A class naming a credit (and not a caption that holds one)."""
    parts = {part.lower() for part in _SPLIT.split(marks) if part}
    return bool(parts & {"credit", "credits", "copyright"}) and "caption" not in parts
