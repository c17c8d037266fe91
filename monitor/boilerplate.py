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
  (:data:`FURNITURE_NAMES`, :data:`FURNITURE_TOKENS`), unless it holds a paragraph of
  prose (a non-link text run of :data:`PROSE_CHARS` or more) or most of the region;
* ``labels``: a short block whose whole text is interface words (:data:`LABELS`:
  "Share", "Tweet", "Print version", "Advertisement", "Replay", in the languages
  official sites publish in), with digits and punctuation around them;
* ``credit``: a photo credit ("Photo: AFP", ``class="credit"``), short;
* ``related-list``: a block that starts with a "Related"/"Read more"/"You may also
  like" heading and is otherwise mostly links.

What is removed never reaches the stored text either: the stored version is what the
content region says, and furniture is not part of it (site-wide lines that are not
recognisable here are masked per site instead, see :mod:`monitor.site_boilerplate`).
"""

from __future__ import annotations

import logging
import re

import lxml.html

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

#: Interface words: a block made only of these (and digits, punctuation) is furniture.
LABELS = frozenset(
    {
        # sharing and tools
        "share", "share this", "share this page", "share this story", "share this article",
        "share on facebook", "share on twitter", "share on linkedin", "share on whatsapp",
        "share via email", "share by email", "tweet", "facebook", "twitter", "x", "linkedin",
        "reddit", "whatsapp", "telegram", "vk", "vkontakte", "odnoklassniki", "pinterest",
        "flipboard", "email", "e-mail", "mail", "print", "print version", "print this page",
        "printer friendly", "printer-friendly version", "copy link", "copy", "link copied",
        "bookmark", "bookmark it", "save", "more", "comments", "view comments", "comment",
        "send", "follow", "follow us", "rss", "rss feed", "atom",
        # advertising
        "advertisement", "advertising", "ad", "ads", "sponsored", "sponsored content",
        "sponsored links", "promoted links", "supported by", "skip ad", "anzeige", "werbung",
        "publicite", "publicité", "publicidad", "publicidade", "реклама", "广告", "إعلان",
        # media players
        "replay", "autoplay", "full screen", "fullscreen", "close", "play", "pause", "mute",
        "view photos", "view gallery", "view graphic", "view this image", "enlarge",
        "enlarge this image", "image", "photo", "video",
        # reading on
        "read more", "read now", "continue reading", "up next", "back to top", "top",
        # other languages
        "compartilhe", "compartilhar", "copiar link", "imprimir", "leia mais", "voltar",
        "ouvir o texto", "compartir", "comentarios", "partager", "imprimer", "commentaires",
        "lire la suite", "teilen", "drucken", "kommentare", "weiterlesen", "mail senden",
        "поделиться", "печать", "версия для печати", "комментарии", "читать далее",
        "分享", "打印", "评论", "شارك", "مشاركة", "طباعة",
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

_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])|__")
_CREDIT = re.compile(
    r"^\W*(?:photo|photograph|image|picture|foto|bild|credit|crédit|crédito|source|"
    r"фото|图片)(?:\s*(?:by|credit|:|：|/))",
    re.IGNORECASE,
)


def _text(node: lxml.html.HtmlElement) -> str:
    return " ".join(node.text_content().split())


def _furniture_name(value: str, cache: dict[str, str | None]) -> str | None:
    """The furniture word in a class or id value, if any (cached per value); "" for a
    photo credit's class."""
    if value in cache:
        return cache[value]
    # "" for a credit's class: not furniture by name, but see the credit rule.
    found: str | None = "" if _credit_mark(value) else None
    for name in value.split():
        lowered = name.lower()
        # A furniture name, alone or as the start of a longer one ("read-more-link"), or
        # a hidden state ("gallery-widget--is-hidden").
        if _NAMED.match(lowered.rsplit("--", 1)[-1]):
            found = lowered
            break
        parts = {part.lower() for part in _SPLIT.split(name) if part}
        hit = parts & FURNITURE_TOKENS
        if hit:
            found = min(hit)
            break
    cache[value] = found
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
            if child.tail and not in_link:
                run += len(child.tail.strip())

    walk(node, False)
    return max(longest, run)


def is_label_text(text: str) -> bool:
    """True when ``text`` is only interface words ("Share", "Tweet 12", "Print | Share")."""
    if not text or len(text) > LABEL_CHARS:
        return False
    pieces = [piece for piece in re.split(r"\s*[|•·/,;:›»\n]\s*|\s{2,}", text.lower()) if piece]
    labels = 0
    for piece in pieces:
        words = _NOT_WORD.sub(" ", piece).split()
        if not words:
            continue  # digits and punctuation only: a count beside a label
        phrase = " ".join(words)
        # "Facebook Twitter Email": every word a label of its own.
        if phrase not in LABELS and not all(word in LABELS for word in words):
            return False
        labels += 1
    return labels > 0


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
    # Per element, its text pieces while they stay short (None once too long).
    texts: dict[lxml.html.HtmlElement, list[str] | None] = {}
    sizes: dict[lxml.html.HtmlElement, int] = {}
    limit = LABEL_CHARS
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(region, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            for child in reversed(node):
                if isinstance(child.tag, str):
                    stack.append((child, False))
            continue
        pieces: list[str] | None = []
        size = 0
        if node.text:
            size += len(node.text)
            pieces = [node.text]
        for child in node:
            if isinstance(child.tag, str):
                size += sizes.pop(child)
                inner = texts.pop(child)
                if pieces is not None:
                    if inner is None:
                        pieces = None
                    elif child.tag in _INLINE:
                        pieces.extend(inner)
                    else:  # a block, a link: words on either side stay apart
                        pieces.extend((" ", *inner, " "))
            if child.tail:
                size += len(child.tail)
                if pieces is not None:
                    pieces.append(child.tail)
        if pieces is not None and size > 4 * limit:
            text = " ".join("".join(pieces).split())
            pieces = [text] if len(text) <= limit else None
        sizes[node], texts[node] = size, pieces
        if node is region:
            break
        if node.get("class") or node.get("id"):
            marked.append(node)
        if pieces is not None and node.tag in _TEXT_TAGS:
            text = " ".join("".join(pieces).split())
            if text:
                short.append((node, text))
    return sizes.get(region, 0), marked, short


def prune(region: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """Remove page furniture inside ``region``; returns (rule, text) of what was removed."""
    removed: list[tuple[str, str]] = []
    total, marked, short = _survey(region)
    if not total:
        return removed
    doomed: dict[lxml.html.HtmlElement, str] = {}
    names: dict[str, str | None] = {}
    for node in marked:
        rule = _marked_rule(node, total, names)
        if rule is not None:
            doomed[node] = rule
    for node, text in short:
        if node in doomed:
            continue
        if node.tag in _SHORT_TAGS:
            rule = _text_rule(text)
            if rule is not None:
                doomed[node] = rule
                continue
        if node.tag in _HEADING_TAGS and len(text) <= HEADING_CHARS:
            for block in _related_blocks(node, text, total):
                doomed.setdefault(block, "related-list")
    for node, rule in doomed.items():
        if any(ancestor in doomed for ancestor in node.iterancestors()):
            continue  # removed with its ancestor
        removed.append((rule, _text(node)[:120]))
        node.drop_tree()
    return removed


def is_furniture(node: lxml.html.HtmlElement) -> bool:
    """Whether :func:`prune` would remove ``node`` (judged on its own)."""
    total = max(len(_text(node)) * 4, 1)
    return _marked_rule(node, total, {}) is not None or _text_rule(_text(node)) is not None


def _marked_rule(
    node: lxml.html.HtmlElement, total: int, names: dict[str, str | None]
) -> str | None:
    """``class-or-id``: furniture by its name, unless it holds prose or most of the page;
    ``credit``: a short element whose class names a photo credit."""
    marks = f"{node.get('class') or ''} {node.get('id') or ''}".strip()
    furniture = _furniture_name(marks, names)
    if furniture is None:
        return None
    if furniture == "":
        if node.tag in ("figcaption", "figure") or len(_text(node)) > LABEL_CHARS:
            return None
        return "credit"
    if len(_text(node)) > 0.5 * total:
        return None
    if furniture not in _PROSE_ALLOWED and _prose_chars(node) >= PROSE_CHARS:
        return None
    return "class-or-id"


def _text_rule(text: str) -> str | None:
    """``labels`` or ``credit`` for the text of a short block."""
    if len(text) > LABEL_CHARS:
        return None
    if is_label_text(text):
        return "labels"
    if _CREDIT.match(text):
        return "credit"
    return None


def _related_blocks(
    heading: lxml.html.HtmlElement, text: str, total: int
) -> list[lxml.html.HtmlElement]:
    """The block a "Related"/"Read more" heading opens, when the rest of it is links."""
    if not RELATED_HEADINGS.match(text):
        return []
    block: lxml.html.HtmlElement | None = heading
    # Climb while the heading is the start of its parent: the parent is the block.
    while block is not None:
        parent = block.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        first = parent.text and parent.text.strip()
        if first or next((c for c in parent if isinstance(c.tag, str)), None) is not block:
            break
        block = parent
    assert block is not None
    size = len(_text(block))
    rest = size - len(text)
    if rest > 0 and size <= 0.5 * total and _link_chars(block) >= 0.6 * rest:
        return [block]
    # A heading followed by its list: the two together.
    following = block.getnext()
    if following is not None and following.tag in ("ul", "ol", "div", "p", "section"):
        size = len(_text(following))
        if size and size <= 0.5 * total and _link_chars(following) >= 0.6 * size:
            return [block, following]
    return []


def _credit_mark(marks: str) -> bool:
    """A class naming a credit (and not a caption that holds one)."""
    parts = {part.lower() for part in _SPLIT.split(marks) if part}
    return bool(parts & {"credit", "credits", "copyright"}) and "caption" not in parts
