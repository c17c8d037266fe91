"""Sitemaps, feeds and robots.txt as sources of a listing's pages, read as streams.

A sitemap may hold 50,000 URLs (and a sitemap index as many sitemaps), gzipped or not;
it is parsed with ``lxml.etree.iterparse`` from a (decompressing) stream, and each entry
is dropped once read, so what parsing holds does not grow with the file. A feed (RSS 2.0,
RSS 1.0/RDF or Atom) is read the same way. Pure functions of bytes: the spider fetches.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal, cast
from urllib.parse import urljoin, urlsplit

from lxml import etree

logger = logging.getLogger(__name__)

SourceKind = Literal["sitemap", "feed", "robots"]

# `sitemap: robots` in the config: the sitemaps robots.txt names.
FROM_ROBOTS = "robots"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a listing's pages are read from: a sitemap, a feed, or robots.txt (which
    names sitemaps)."""

    kind: SourceKind
    url: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a source: a page (with its last modification time as the source
    writes it, and a title for feeds) or another sitemap to read (a sitemap index)."""

    url: str
    lastmod: str | None = None
    title: str = ""
    sitemap: bool = False


def _stream(body: bytes) -> IO[bytes]:
    """The body as a stream, decompressed on the fly when it is gzip (``.xml.gz``)."""
    raw = io.BytesIO(body)
    if body[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return raw


def _text(element: etree._Element, name: str) -> str | None:
    value = element.findtext("{*}" + name)
    if value is None:
        return None
    return value.strip() or None


def _fields(element: etree._Element) -> dict[str, str]:
    """The text of an entry's children by local name, in one pass (a sitemap's ``loc``
    and ``lastmod``)."""
    found: dict[str, str] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            found.setdefault(tag[tag.rfind("}") + 1 :], (child.text or "").strip())
    return found


def _absolute(base: str, url: str) -> str:
    return url if url.startswith(("https://", "http://")) else urljoin(base, url)


def _drop(element: etree._Element) -> None:
    """Forget an entry once read: its content and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _parse(body: bytes, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    """The elements named ``tags`` (in any namespace, or none), each complete, streamed."""
    events = etree.iterparse(
        _stream(body),
        events=("end",),
        tag=["{*}" + tag for tag in tags],
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        recover=False,
    )
    try:
        for _event, element in events:
            yield element
            _drop(element)
    except (etree.XMLSyntaxError, OSError, EOFError) as exc:
        raise ValueError(f"not a readable XML document ({exc})") from None


def sitemap_entries(body: bytes, base: str) -> Iterator[Entry]:
    """The entries of a sitemap (``<urlset>``: pages) or sitemap index (``<sitemapindex>``:
    sitemaps), in document order.

    >>> xml = b'''<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    ... <url><loc>https://e.org/a</loc><lastmod>2026-01-02</lastmod></url>
    ... <url><loc> /b </loc></url></urlset>'''
    >>> [(e.url, e.lastmod) for e in sitemap_entries(xml, "https://e.org/sitemap.xml")]
    [('https://e.org/a', '2026-01-02'), ('https://e.org/b', None)]
    """
    for element in _parse(body, ("url", "sitemap")):
        fields = _fields(element)
        location = fields.get("loc")
        if not location:
            continue
        yield Entry(
            _absolute(base, location),
            lastmod=fields.get("lastmod") or None,
            sitemap=etree.QName(element).localname == "sitemap",
        )


def _feed_link(element: etree._Element) -> str | None:
    """An RSS ``<link>`` text, or an Atom ``<link href>`` (rel alternate, or none)."""
    fallback = None
    for child in element.iterfind("{*}link"):
        href: str | None = child.get("href")
        if href is None:
            text = (child.text or "").strip()
            if text:
                return text
            continue
        if child.get("rel", "alternate") == "alternate":
            return href.strip()
        fallback = fallback or href.strip()
    if fallback is None:
        guid = element.find("{*}guid")
        if guid is not None and guid.get("isPermaLink", "true") == "true":
            fallback = (guid.text or "").strip() or None
    return fallback


def feed_entries(body: bytes, base: str) -> Iterator[Entry]:
    """The entries of an RSS or Atom feed: each item's link, title and date
    (Atom ``updated`` or ``published``, RSS ``pubDate`` or ``dc:date``).

    >>> xml = b'''<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>Visa rules</title>
    ... <link rel="alternate" href="/news/1"/><updated>2026-01-02T10:00:00Z</updated></entry>
    ... </feed>'''
    >>> [(e.url, e.title, e.lastmod) for e in feed_entries(xml, "https://e.org/feed")]
    [('https://e.org/news/1', 'Visa rules', '2026-01-02T10:00:00Z')]
    """
    for element in _parse(body, ("item", "entry")):
        link = _feed_link(element)
        if not link:
            continue
        title = " ".join((_text(element, "title") or "").split())
        when = (
            _text(element, "updated")
            or _text(element, "published")
            or _text(element, "pubDate")
            or _text(element, "date")
        )
        yield Entry(_absolute(base, link), lastmod=when, title=title)


_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def robots_sitemaps(body: bytes, base: str) -> list[str]:
    """The sitemaps a robots.txt names (``Sitemap:`` lines), absolute, without duplicates.

    >>> robots_sitemaps(b"User-agent: *\\nSitemap: /s.xml\\nsitemap: /s.xml", "https://e.org/")
    ['https://e.org/s.xml']
    """
    text = body.decode("utf-8", errors="replace")
    return list(dict.fromkeys(urljoin(base, found) for found in _ROBOTS_SITEMAP.findall(text)))


def robots_url(url: str) -> str:
    """Where the robots.txt of ``url``'s site is.

    >>> robots_url("https://e.org/news/?page=2")
    'https://e.org/robots.txt'
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def entries(kind: SourceKind, body: bytes, base: str) -> Iterator[Entry]:
    """The entries of a fetched source: a sitemap's, a feed's, or robots.txt's sitemaps."""
    if kind == "robots":
        return iter([Entry(url, sitemap=True) for url in robots_sitemaps(body, base)])
    if kind == "feed":
        return feed_entries(body, base)
    return sitemap_entries(body, base)
