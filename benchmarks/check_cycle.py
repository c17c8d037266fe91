"""Benchmark: a full ``check`` cycle of N local pages against the bare-Scrapy ceiling.

Serves N distinct ~20 KB embassy-style HTML pages from a fast local server (a separate
multi-process asyncio server sharing one port with SO_REUSEPORT, bound to 127.0.0.1) and
times, each phase in a fresh subprocess so that peak RSS is per phase:

* ``bare``      - a minimal Scrapy spider (sha256 of the body, the <title> by XPath) with the
                  monitor's own Scrapy settings: the ceiling;
* ``first``     - ``run_check`` on an empty database: every page gets its first version;
* ``unchanged`` - ``run_check`` again, identical bytes: the raw-body-hash fast path;
* ``noisy``     - ``run_check`` again, same content but per-request noise in the bytes (CSRF
                  token, script nonce, cache-busting query, timing comment, Set-Cookie, a
                  visible visitor counter removed by an ``ignore`` pattern): this defeats the
                  fast path and shows the real decode + extract + normalise cost.

Run from the repository root::

    python benchmarks/check_cycle.py                      # N=1000, SQLite in a temp dir
    python benchmarks/check_cycle.py --db postgres        # fresh database, dropped after
    python benchmarks/check_cycle.py --repeat 3 --profile # medians; cProfile of rounds 2, 3

Only 127.0.0.1 is ever contacted. Fetch settings are tuned for a local benchmark (no delay,
robots.txt off, no retries, per-domain concurrency = concurrency); the monitor's real
defaults are polite (delay 1 s, 2 requests per domain) and would measure the politeness.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime
import functools
import hashlib
import io
import json
import mmap
import os
import platform
import pstats
import random
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
POSTGRES_ADMIN = os.environ.get(
    "MONITOR_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HOST = "127.0.0.1"
PHASES = ("bare", "first", "unchanged", "noisy")
REPEATABLE = ("bare", "unchanged", "noisy")
PAGE_TARGET_BYTES = 20_000
# The visible per-request counter in the footer; the benchmark config ignores it, as a
# user would configure for a site that shows one.
VISITOR_IGNORE = r"^Visitors today: [0-9,]+$"

# --------------------------------------------------------------------------------------
# Pages: deterministic, distinct, ~20 KB of realistic ministry/embassy HTML
# --------------------------------------------------------------------------------------

NOISE_SLOTS = ("csrf", "nonce", "build", "visitors", "rendered", "serial")
_SLOT_RE = re.compile(rb"\x01(" + b"|".join(s.encode() for s in NOISE_SLOTS) + rb")\x01")

MENU: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "The Embassy",
        [
            ("Ambassador", "/en/embassy/ambassador/"),
            ("Staff and departments", "/en/embassy/staff/"),
            ("History of the mission", "/en/embassy/history/"),
            ("Honorary consuls", "/en/embassy/honorary-consuls/"),
            ("Vacancies", "/en/embassy/vacancies/"),
            ("Procurement notices", "/en/embassy/procurement/"),
        ],
    ),
    (
        "Consular services",
        [
            ("Passports", "/en/consular/passports/"),
            ("Visas for foreign citizens", "/en/consular/visas/"),
            ("Legalisation and apostille", "/en/consular/legalisation/"),
            ("Civil registration", "/en/consular/civil-registration/"),
            ("Notarial acts", "/en/consular/notarial/"),
            ("Consular fees", "/en/consular/fees/"),
            ("Appointments", "/en/consular/appointments/"),
            ("Emergency assistance", "/en/consular/emergency/"),
        ],
    ),
    (
        "Bilateral relations",
        [
            ("Political dialogue", "/en/relations/political/"),
            ("Trade and investment", "/en/relations/trade/"),
            ("Culture and education", "/en/relations/culture/"),
            ("Treaties and agreements", "/en/relations/treaties/"),
            ("Development cooperation", "/en/relations/development/"),
        ],
    ),
    (
        "Press centre",
        [
            ("News", "/en/news/"),
            ("Statements", "/en/press/statements/"),
            ("Interviews", "/en/press/interviews/"),
            ("Photo gallery", "/en/press/gallery/"),
            ("Accreditation", "/en/press/accreditation/"),
        ],
    ),
    (
        "Travel advice",
        [
            ("Entry requirements", "/en/travel/entry/"),
            ("Safety and security", "/en/travel/safety/"),
            ("Health", "/en/travel/health/"),
            ("Registration of travellers", "/en/travel/registration/"),
        ],
    ),
    ("Contacts", [("Address and hours", "/en/contacts/"), ("Feedback", "/en/feedback/")]),
]
TOPICS = [
    "Changes to the consular appointment system",
    "Ambassador meets the Minister of Economy",
    "Extended opening hours of the visa section",
    "Statement on the regional security situation",
    "Update on electronic passport applications",
    "Cultural week in the capital",
    "Results of the joint economic commission",
    "Information for citizens travelling abroad",
    "New rules for the legalisation of documents",
    "Scholarship programme for the academic year",
    "Elections abroad: how to register and vote",
    "Memorandum on cooperation in higher education",
]
PLACES = ["Valmora", "Kraków", "São Tomé", "Düsseldorf", "Reykjavík", "Port Louis", "Tbilisi"]
PEOPLE = [
    "H.E. Ambassador Zoë Ångström",
    "Deputy Minister Tomás Ferreira",
    "Consul General Amira Haddad",
    "State Secretary Jan Novák",
    "Minister Counsellor Léa Dubois",
]
SENTENCES = [
    "The Embassy informs that {n} applications were processed during the reporting period.",
    "{person} held talks with representatives of the host country in {place} on {date}.",
    "Citizens are kindly requested to book an appointment at least {k} working days in "
    "advance; walk-in visits can only be accepted in urgent cases.",
    "The parties discussed the state of bilateral relations and agreed to hold the next "
    "round of consultations in {place} in the {season} of {year}.",
    "Applications submitted after {k}:00 are processed on the following working day.",
    "According to the Ministry, the new procedure applies to documents issued after "
    "{date}, and fees remain unchanged at {fee} EUR per document.",
    "Particular attention was paid to trade, energy, transport and cultural exchanges, "
    "where turnover grew by {pct} percent compared with the previous year.",
    "The consular section will be closed on {date} due to a public holiday; in emergencies "
    "please call the duty officer at +000 {n} {k}{k}.",
    "Both sides underlined the importance of the agreement signed in {place}, which "
    "entered into force on {date} after ratification by the parliaments.",
    "More information is available on the website of the Ministry of Foreign Affairs and "
    "from the honorary consul in {place} (reference no. {ref}).",
    "During the visit, {person} laid a wreath at the memorial and met students of the "
    "national university, who asked about exchange programmes and internships.",
    "The electronic queue system has been updated: applicants receive a confirmation "
    "e-mail with a QR code, which must be presented at the entrance together with an ID.",
    "Questions about the procedure may be sent to the consular e-mail address; replies are "
    "usually given within {k} working days, excluding the time needed for verification.",
]
SEASONS = ["spring", "summer", "autumn", "winter"]
DOCUMENTS = [
    "a completed application form, signed by the applicant",
    "a valid passport and a copy of its data page",
    "two recent colour photographs (35 × 45 mm)",
    "proof of payment of the consular fee",
    "the original document to be legalised and its certified translation",
    "a document confirming the applicant's residence in the consular district",
    "for minors: the consent of both parents, certified by a notary",
]


@dataclass(frozen=True)
class Noise:
    """The per-request bytes of a page: none of it is content."""

    csrf: str
    nonce: str
    build: str
    visitors: str
    rendered: str
    serial: str


FIXED_NOISE = Noise(
    csrf="c3a1f0e4b1d24a7f9e8d6c5b4a392817f6e5d4c3",
    nonce="r4nd0mN0nc3",
    build="20250301",
    visitors="1,024",
    rendered="12",
    serial="1",
)
SENTINEL_NOISE = Noise(**{slot: f"\x01{slot}\x01" for slot in NOISE_SLOTS})


def page_path(number: int) -> str:
    return f"/en/news/{number:05d}.html"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sentence(rng: random.Random, number: int) -> str:
    day = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(365))
    return rng.choice(SENTENCES).format(
        n=rng.randrange(100, 9999),
        k=rng.randrange(2, 9),
        person=rng.choice(PEOPLE),
        place=rng.choice(PLACES),
        date=day.strftime("%d %B %Y"),
        season=rng.choice(SEASONS),
        year=2025 + rng.randrange(3),
        fee=rng.randrange(10, 120),
        pct=rng.randrange(2, 40),
        ref=f"{number:05d}/{rng.randrange(100, 999)}",
    )


def render_page(number: int, noise: Noise) -> str:
    """Page ``number`` (1-based) as HTML, with ``noise`` in its non-content places.

    The content (and so the number of paragraphs) never depends on the noise: it is sized
    once, with the fixed noise, to about PAGE_TARGET_BYTES.
    """
    return _render(number, noise, _paragraph_count(number))[0]


@functools.cache
def _paragraph_count(number: int) -> int:
    return _render(number, FIXED_NOISE, None)[1]


def _render(number: int, noise: Noise, paragraph_count: int | None) -> tuple[str, int]:
    rng = random.Random(number * 7919)
    topic = TOPICS[number % len(TOPICS)]
    title = f"{topic} (no. {number})"
    date = datetime.date(2025, 12, 31) - datetime.timedelta(days=number % 900)
    date_line = date.strftime("%d %B %Y")
    site = "Embassy of the Republic of Norland in Valmora"
    head = f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)} — {site}</title>
<meta name="description" content="{_esc(topic)}: information of the Embassy, {date_line}.">
<meta property="og:title" content="{_esc(title)}">
<meta property="og:type" content="article">
<meta property="og:url" content="https://valmora.mfa.example{page_path(number)}">
<meta name="csrf-token" content="{noise.csrf}">
<link rel="canonical" href="https://valmora.mfa.example{page_path(number)}">
<link rel="icon" href="/static/favicon.ico">
<link rel="stylesheet" href="/static/css/bootstrap.min.css?v={noise.build}">
<link rel="stylesheet" href="/static/css/site.css?v={noise.build}">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{_esc(title)}", "datePublished": "{date.isoformat()}",
"publisher": {{"@type": "GovernmentOrganization", "name": "{site}"}}}}</script>
<script nonce="{noise.nonce}">
window.dataLayer = window.dataLayer || [];
function gtag(){{dataLayer.push(arguments);}}
gtag('js', new Date()); gtag('config', 'G-XXXXXXX', {{'anonymize_ip': true}});
window.__APP__ = {{"lang": "en", "page": {number}, "serial": {noise.serial},
  "csrf": "{noise.csrf}", "features": ["search", "appointments", "cookie-banner"]}};
</script>
</head>
<body class="page-news page-news-item lang-en">
<!-- rendered by web-{number % 4} in {noise.rendered} ms, request {noise.serial} -->
<a class="skip-link visually-hidden-focusable" href="#content">Skip to main content</a>
<div class="topbar">
 <div class="container">
  <ul class="topbar__links">
   <li><a href="https://www.mfa.example/">Ministry of Foreign Affairs</a></li>
   <li><a href="/en/consular/emergency/">Emergency: +000 123 456 789</a></li>
   <li><a href="/en/sitemap/">Site map</a></li>
  </ul>
  <ul class="lang-switch">
   <li class="active"><a href="/en/news/{number:05d}.html">EN</a></li>
   <li><a href="/nl/news/{number:05d}.html">NL</a></li>
   <li><a href="/fr/news/{number:05d}.html">FR</a></li>
  </ul>
 </div>
</div>
<header class="site-header">
 <div class="container">
  <a class="logo" href="/en/"><img src="/static/img/coat-of-arms.svg" alt="Coat of arms">
   <span class="logo__title">{site}</span>
   <span class="logo__subtitle">Ministry of Foreign Affairs of the Republic of Norland</span></a>
  <form class="search-form" action="/en/search/" method="get" role="search">
   <input type="hidden" name="csrfmiddlewaretoken" value="{noise.csrf}">
   <label for="q" class="visually-hidden">Search</label>
   <input type="search" id="q" name="q" placeholder="Search the site">
   <button type="submit" class="btn btn-primary">Search</button>
  </form>
 </div>
</header>
"""
    nav = ['<nav class="main-menu" aria-label="Main menu">\n <ul class="menu">\n']
    for label, items in MENU:
        nav.append(f'  <li class="menu__item has-children"><a href="{items[0][1]}">{label}</a>\n')
        nav.append('   <ul class="submenu">\n')
        nav.extend(f'    <li><a href="{href}">{text}</a></li>\n' for text, href in items)
        nav.append("   </ul>\n  </li>\n")
    nav.append(" </ul>\n</nav>\n")
    breadcrumb = f"""<nav class="breadcrumb" aria-label="Breadcrumb"><ol>
 <li><a href="/en/">Home</a></li><li><a href="/en/press/">Press centre</a></li>
 <li><a href="/en/news/">News</a></li><li aria-current="page">{_esc(title)}</li></ol></nav>
"""
    related = []
    for offset in range(1, 7):
        other = (number + offset * 37) % 5000 + 1
        other_date = datetime.date(2025, 12, 31) - datetime.timedelta(days=other % 900)
        related.append(
            f'   <li><span class="date">{other_date.strftime("%d.%m.%Y")}</span> '
            f'<a href="{page_path(other)}">{TOPICS[other % len(TOPICS)]} (no. {other})</a></li>\n'
        )
    sidebar = f"""<aside class="sidebar col-md-3">
 <div class="widget related-news">
  <h3>Related news</h3>
  <ul>
{"".join(related)}  </ul>
 </div>
 <div class="widget contacts">
  <h3>Consular section</h3>
  <p>Rue de la Loi {number % 200 + 1}, 1040 Valmora<br>Tel.: +000 2 123 45 {number % 90 + 10}<br>
  E-mail: <a href="mailto:consular.valmora@mfa.example">consular.valmora@mfa.example</a></p>
  <table class="hours">
   <tr><th>Monday – Thursday</th><td>09:00 – 12:30</td></tr>
   <tr><th>Friday</th><td>09:00 – 12:00</td></tr>
   <tr><th>Saturday, Sunday</th><td>closed</td></tr>
  </table>
 </div>
 <div class="widget newsletter">
  <h3>Newsletter</h3>
  <form action="/en/newsletter/" method="post">
   <input type="hidden" name="csrfmiddlewaretoken" value="{noise.csrf}">
   <input type="email" name="email" placeholder="Your e-mail">
   <button type="submit">Subscribe</button>
  </form>
 </div>
</aside>
"""
    footer = f"""<footer class="site-footer">
 <div class="container">
  <div class="row">
   <div class="col"><h4>{site}</h4>
    <p>Rue de la Loi 155, 1040 Valmora &middot; Tel.: +000 2 123 45 00 &middot;
    Fax: +000 2 123 45 99</p></div>
   <div class="col"><h4>Useful links</h4><ul>
    <li><a href="https://www.mfa.example/">Ministry of Foreign Affairs</a></li>
    <li><a href="https://www.gov.example/">Government portal</a></li>
    <li><a href="https://visa.mfa.example/">Electronic visa portal</a></li>
    <li><a href="/en/privacy/">Privacy policy</a></li>
    <li><a href="/en/accessibility/">Accessibility statement</a></li></ul></div>
   <div class="col"><h4>Follow us</h4><ul class="social">
    <li><a href="https://x.example/norland_valmora">X</a></li>
    <li><a href="https://facebook.example/norland.valmora">Facebook</a></li>
    <li><a href="https://youtube.example/@norland">YouTube</a></li></ul></div>
  </div>
  <p class="copyright">© 2008–2025 Ministry of Foreign Affairs of the Republic of Norland.
  All rights reserved. Materials may be reproduced with a reference to the source.</p>
  <p class="counter">Visitors today: {noise.visitors}</p>
 </div>
</footer>
<div class="cookie-banner" hidden>This site uses cookies. <button>Accept</button></div>
<script src="/static/js/jquery.min.js?v={noise.build}"></script>
<script src="/static/js/bootstrap.bundle.min.js?v={noise.build}"></script>
<script src="/static/js/site.js?v={noise.build}" nonce="{noise.nonce}"></script>
<script nonce="{noise.nonce}">document.addEventListener('DOMContentLoaded', function () {{
  if (window.Site) {{ Site.init({{menu: true, search: true, token: "{noise.csrf}"}}); }}
}});</script>
</body>
</html>
"""
    lead = _sentence(rng, number)
    article_head = f"""<div class="container layout"><div class="row">
<main id="content" class="col-md-9">
 <article class="news-article" itemscope itemtype="https://schema.org/NewsArticle">
  <div class="news-article__meta"><time datetime="{date.isoformat()}">{date_line}</time>
   <span class="news-article__category">Press centre / News</span></div>
  <h1 class="news-article__title" itemprop="headline">{_esc(title)}</h1>
  <div class="news-article__lead"><p><strong>{_esc(lead)}</strong></p></div>
  <div class="news-article__text" itemprop="articleBody">
"""
    documents = rng.sample(DOCUMENTS, 4)
    fees = "".join(
        f"    <tr><td>{kind}</td><td>{rng.randrange(10, 150)} EUR</td>"
        f"<td>{rng.randrange(1, 20)} working days</td></tr>\n"
        for kind in ("Passport", "Certificate", "Legalisation", "Visa (type C)")
    )
    extras = (
        "   <h2>Documents required</h2>\n   <ul>\n"
        + "".join(f"    <li>{_esc(doc)};</li>\n" for doc in documents)
        + "   </ul>\n   <h2>Fees and processing times</h2>\n"
        + '   <table class="table">\n    <thead><tr><th>Service</th><th>Fee</th>'
        + "<th>Processing time</th></tr></thead>\n    <tbody>\n"
        + fees
        + "    </tbody>\n   </table>\n"
    )
    article_tail = """  </div>
  <div class="news-article__tools"><a href="?print=1">Print</a> |
   <a href="https://x.example/share">Share</a></div>
 </article>
</main>
"""
    fixed = "".join(
        [head, *nav, breadcrumb, article_head, extras, article_tail, sidebar, "</div></div>\n"]
    )
    budget = PAGE_TARGET_BYTES - len(fixed.encode()) - len(footer.encode())
    paragraphs: list[str] = []
    used = 0
    while len(paragraphs) < paragraph_count if paragraph_count is not None else used < budget:
        text = " ".join(_sentence(rng, number) for _ in range(rng.randrange(2, 5)))
        paragraph = f"   <p>{_esc(text)}</p>\n"
        paragraphs.append(paragraph)
        used += len(paragraph.encode())
    middle = len(paragraphs) // 2
    body_text = "".join(paragraphs[:middle]) + extras + "".join(paragraphs[middle:])
    html = "".join(
        [
            head,
            *nav,
            breadcrumb,
            article_head,
            body_text,
            article_tail,
            sidebar,
            "</div></div>\n",
            footer,
        ]
    )
    return html, len(paragraphs)


# --------------------------------------------------------------------------------------
# The server: N worker processes of a minimal asyncio HTTP/1.1 server, SO_REUSEPORT
# --------------------------------------------------------------------------------------


@dataclass
class PageTemplate:
    """A page split around its noise slots: literal bytes and slot names, alternating."""

    clean: bytes  # the complete response (headers + body) with the fixed noise
    parts: list[bytes]  # literal, slot, literal, slot, ..., literal


def build_templates(pages: int) -> dict[bytes, PageTemplate]:
    templates: dict[bytes, PageTemplate] = {}
    for number in range(1, pages + 1):
        body = render_page(number, FIXED_NOISE).encode()
        parts = _SLOT_RE.split(render_page(number, SENTINEL_NOISE).encode())
        templates[page_path(number).encode()] = PageTemplate(
            clean=_response(200, body, _static_headers(number)), parts=parts
        )
    return templates


def _static_headers(number: int) -> list[tuple[str, str]]:
    return [
        ("Last-Modified", "Mon, 01 Dec 2025 10:00:00 GMT"),
        ("ETag", f'"{number:05d}-5f3a1c"'),
        ("Cache-Control", "public, max-age=300"),
    ]


def _response(status: int, body: bytes, headers: list[tuple[str, str]]) -> bytes:
    reason = {200: "OK", 404: "Not Found", 400: "Bad Request"}[status]
    lines = [
        f"HTTP/1.1 {status} {reason}",
        "Server: bench",
        "Date: Mon, 01 Dec 2025 12:00:00 GMT",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "X-Content-Type-Options: nosniff",
        "X-Frame-Options: SAMEORIGIN",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class PageServer:
    """Serves the pages; in noisy mode, every response has fresh noise."""

    NOT_FOUND = _response(404, b"<html><body><h1>Not found</h1></body></html>", [])
    served = 0

    def __init__(
        self, templates: dict[bytes, PageTemplate], noisy: bool, counters: mmap.mmap, slot: int
    ) -> None:
        self.templates = templates
        self.noisy = noisy
        self.serial = 0
        self.pid = os.getpid()
        self.counters, self.slot = counters, slot

    def respond(self, path: bytes) -> bytes:
        self.served += 1
        struct.pack_into("q", self.counters, 8 * self.slot, self.served)
        template = self.templates.get(path.split(b"?", 1)[0])
        if template is None:
            return self.NOT_FOUND
        if not self.noisy:
            return template.clean
        self.serial += 1
        token = hashlib.sha1(f"{self.pid}:{self.serial}".encode()).hexdigest()
        values = {
            b"csrf": token.encode(),
            b"nonce": token[:16].encode(),
            b"build": str(20250301 + self.serial % 97).encode(),
            b"visitors": f"{1000 + self.serial * 3:,}".encode(),
            b"rendered": str(5 + self.serial % 40).encode(),
            b"serial": f"{self.pid}{self.serial:07d}".encode(),
        }
        parts = template.parts
        body = b"".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))
        headers = [
            ("Cache-Control", "no-cache, private"),
            ("Set-Cookie", f"sessionid={token}; Path=/; HttpOnly; SameSite=Lax"),
            ("ETag", f'W/"{token[:20]}"'),
        ]
        return _response(200, body, headers)


class HttpProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1 for GET/HEAD without request bodies: enough for Scrapy."""

    def __init__(self, server: PageServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self.transport.close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            request_line = head.split(b"\r\n", 1)[0].split(b" ")
            if len(request_line) < 3:
                self.transport.write(_response(400, b"", [("Connection", "close")]))
                self.transport.close()
                return
            self.transport.write(self.server.respond(request_line[1]))
            if b"connection: close" in head.lower():
                self.transport.close()
                return


def _worker(
    port: int,
    templates: dict[bytes, PageTemplate],
    noisy: bool,
    ready: int,
    counters: mmap.mmap,
    slot: int,
) -> None:
    parent = os.getppid()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((HOST, port))
    sock.listen(1024)
    sock.setblocking(False)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        page_server = PageServer(templates, noisy, counters, slot)
        server = await loop.create_server(lambda: HttpProtocol(page_server), sock=sock)
        os.write(ready, b"1")
        os.close(ready)
        async with server:
            while os.getppid() == parent:  # the server's parent died: stop
                await asyncio.sleep(1.0)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(serve())
    os._exit(0)


def reserve_port() -> socket.socket:
    """A bound, never-listening SO_REUSEPORT socket: holds a port for the servers' workers.

    The port stays the same for the whole benchmark (the pages' URLs are their identity
    in the database) while a server is started per phase.
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((HOST, 0))
    return holder


def serve_main(port: int, pages: int, workers: int, noisy: bool) -> None:
    """The server process: fork workers, print 'READY port pid...', stop on EOF/SIGTERM.

    On EOF it prints 'SERVED n' (requests answered by all workers) before stopping.
    """
    templates = build_templates(pages)
    counters = mmap.mmap(-1, 8 * workers)  # shared with the forked workers
    children: list[int] = []

    def stop(*_: Any) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    for slot in range(workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                _worker(port, templates, noisy, write_end, counters, slot)
            finally:
                os._exit(1)
        os.close(write_end)
        children.append(pid)
        if os.read(read_end, 1) != b"1":
            print("ERROR worker failed to start", flush=True)
            stop()
        os.close(read_end)
    print("READY", port, *children, flush=True)
    sys.stdin.read()  # the benchmark closes our stdin (or dies): stop the workers
    served = sum(struct.unpack_from("q", counters, 8 * slot)[0] for slot in range(workers))
    print("SERVED", served, flush=True)
    stop()


class Server:
    """The server process, as seen by the benchmark."""

    def __init__(self, port: int, pages: int, workers: int, noisy: bool) -> None:
        self.port, self.pages, self.workers, self.noisy = port, pages, workers, noisy
        self.process: subprocess.Popen[str] | None = None
        self.worker_pids: list[int] = []
        self._cpu_at_start = 0.0
        self.served: int | None = None

    @property
    def kind(self) -> str:
        return f"asyncio HTTP/1.1, {self.workers} worker processes, SO_REUSEPORT"

    def start(self, timeout: float = 120.0) -> Server:
        command = [sys.executable, str(SCRIPT), "--internal-serve"]
        command += ["--internal-port", str(self.port)]
        command += ["--pages", str(self.pages), "--server-workers", str(self.workers)]
        if self.noisy:
            command.append("--internal-noisy")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"the page server did not start: {line.strip() or 'timeout'}")
        _, _port, *pids = line.split()
        self.worker_pids = [int(pid) for pid in pids]
        self._cpu_at_start = self._cpu()
        return self

    def _cpu(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.worker_pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def cpu_seconds(self) -> float:
        """CPU the workers used since they became ready."""
        return self._cpu() - self._cpu_at_start

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(10)
            assert process.stdout is not None
            for line in process.stdout.read().splitlines():
                if line.startswith("SERVED"):
                    self.served = int(line.split()[1])
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in self.worker_pids:  # normally gone already; never leave one behind
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if process.stdout is not None:
            process.stdout.close()


# --------------------------------------------------------------------------------------
# The measured phases (each runs in its own subprocess)
# --------------------------------------------------------------------------------------


def urls_for(port: int, pages: int) -> list[str]:
    return [f"http://{HOST}:{port}{page_path(number)}" for number in range(1, pages + 1)]


def fetch_settings(concurrency: int) -> dict[str, Any]:
    return {
        "delay": 0,
        "obey_robots": False,
        "concurrency": concurrency,
        "per_domain_concurrency": min(concurrency, 256),
        "retries": 0,
        "timeout": 30,
    }


def build_config(database: str, urls: Sequence[str], concurrency: int) -> Any:
    from monitor import config as cfg

    targets = [{"name": f"news-{index:05d}", "url": url} for index, url in enumerate(urls, 1)]
    return cfg.parse(
        {
            "database": database,
            "fetch": fetch_settings(concurrency),
            "defaults": {"ignore": [VISITOR_IGNORE]},
            "targets": targets,
        },
        "benchmark",
    )


def _max_rss_mb() -> float:
    """The phase process's peak RSS. Not its observing workers' (RUSAGE_CHILDREN's
    high-water mark also counts short-lived helpers forked from this process, before
    they exec: a copy of its whole RSS); a worker peaks at ~36 MB (its VmHWM)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _current_rss_mb() -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


BARE_COUNTS = {"responses": 0, "ok": 0, "failures": 0}
OVERRIDES_ENV = "MONITOR_BENCH_SCRAPY_SET"


def scrapy_overrides() -> dict[str, Any]:
    """Experimental Scrapy setting overrides (``--scrapy-set``), applied to every phase."""
    return dict(json.loads(os.environ.get(OVERRIDES_ENV) or "{}"))


def _apply_overrides_to_monitor() -> None:
    overrides = scrapy_overrides()
    if not overrides:
        return
    from monitor.fetch import runner

    original = runner.scrapy_settings

    def patched(fetch: Any, *, obey_robots: bool) -> dict[str, Any]:
        return {**original(fetch, obey_robots=obey_robots), **overrides}

    runner.scrapy_settings = patched


def bare_phase(port: int, pages: int, concurrency: int) -> dict[str, Any]:
    """The ceiling: Scrapy alone, same settings, parse = sha256 + <title> XPath."""
    import scrapy
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.http import Response

    from monitor import config as cfg
    from monitor.fetch.settings import scrapy_settings

    fetch = cfg.Fetch(**fetch_settings(concurrency))
    settings = scrapy_settings(fetch, obey_robots=False)  # the monitor's own settings
    settings.pop("ITEM_PIPELINES")
    urls = urls_for(port, pages)

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self) -> Any:
            for url in urls:
                yield scrapy.Request(url, dont_filter=True, errback=self.failed)

        def parse(self, response: Response, **kwargs: Any) -> Any:
            digest = hashlib.sha256(response.body).hexdigest()
            title = response.xpath("//title/text()").get()
            BARE_COUNTS["responses"] += 1
            BARE_COUNTS["ok"] += response.status == 200
            yield {"url": response.url, "sha256": digest, "title": title}

        def failed(self, failure: Any) -> None:
            BARE_COUNTS["failures"] += 1

    settings.update(scrapy_overrides())
    process = AsyncCrawlerProcess(settings)
    process.crawl(BareSpider)
    rss_before = _current_rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    process.start(stop_after_crawl=True, install_signal_handlers=False)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu0,
        "rss_before": rss_before,
        "counts": dict(BARE_COUNTS),
    }


def check_phase(
    port: int, pages: int, concurrency: int, database: str, profile_out: str | None
) -> dict[str, Any]:
    """A full ``run_check`` of every page, as ``monitor check`` does it."""
    from monitor.check import run_check
    from monitor.fetch import reactor as monitor_reactor
    from monitor.records import Observation, RecordedCapture
    from monitor.storage.store import Store

    _apply_overrides_to_monitor()
    config = build_config(database, urls_for(port, pages), concurrency)
    store = Store(database)
    monitor_reactor.loop()  # start the process's reactor thread outside the timing
    fast_path = 0

    def on_recorded(recorded: RecordedCapture, observation: Observation) -> None:
        nonlocal fast_path
        if getattr(recorded, "purpose", "check") == "check":  # not a probe/confirm fetch
            fast_path += observation.outcome_hint == "unchanged"

    profilers: list[cProfile.Profile] = []
    if profile_out:
        # cProfile is per thread: one profiler here, one in the reactor thread, one in the
        # check's writer thread (observe, plan, write), merged.
        profilers = [cProfile.Profile(), cProfile.Profile(), cProfile.Profile()]

        async def enable_in_reactor() -> None:
            profilers[1].enable()

        monitor_reactor.run(enable_in_reactor)
        from monitor.check import writer as writer_module

        unprofiled = writer_module.Writer._run

        def profiled(self: Any) -> None:
            profilers[2].enable()
            try:
                unprofiled(self)
            finally:
                profilers[2].disable()

        writer_module.Writer._run = profiled  # type: ignore[method-assign]
    rss_before = _current_rss_mb()
    cpu0, t0 = time.process_time(), time.perf_counter()
    children0 = _children_cpu()
    if profilers:
        profilers[0].enable()
    try:
        summary = run_check(config, store, config.targets, on_recorded=on_recorded)
    finally:
        seconds = time.perf_counter() - t0
        # The check's observing worker processes too (reaped when the check ends).
        workers_cpu = _children_cpu() - children0
        cpu = time.process_time() - cpu0 + workers_cpu
        if profilers:
            profilers[0].disable()

            async def disable_in_reactor() -> None:
                profilers[1].disable()

            monitor_reactor.run(disable_in_reactor)
    if profile_out:
        # The reactor and writer threads (all the work; the main thread only waits for
        # them) are what the per-stage breakdown reads; the merged file is for the top-N
        # lists.
        working = pstats.Stats(profilers[1])
        working.add(profilers[2])
        working.dump_stats(reactor_profile(profile_out))
        stats = pstats.Stats(profilers[0])
        stats.add(profilers[1])
        stats.add(profilers[2])
        stats.dump_stats(profile_out)
    counts = store.counts()
    store.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "workers_cpu": workers_cpu,
        "rss_before": rss_before,
        "counts": {
            "checked": summary.checked,
            "first": summary.first_versions,
            "new": summary.new_versions,
            "unchanged": summary.unchanged,
            "errors": summary.errors,
            "fast_path": fast_path,
        },
        "db": counts,
        "events": dict(getattr(summary, "events", None) or {}),  # newer CheckSummary only
    }


def phase_main(args: argparse.Namespace) -> None:
    if args.internal_phase == "bare":
        result = bare_phase(args.internal_port, args.pages, args.concurrency)
    else:
        result = check_phase(
            args.internal_port,
            args.pages,
            args.concurrency,
            args.internal_db_url,
            args.internal_profile_out,
        )
    result["max_rss"] = _max_rss_mb()
    Path(args.internal_result).write_text(json.dumps(result))


# --------------------------------------------------------------------------------------
# The orchestrator
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    phase: str
    pages: int
    seconds: float
    cpu: float
    rss_before: float
    max_rss: float
    server_cpu: float
    requests: int | None
    counts: dict[str, int]
    db: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


LABELS = {
    "bare": "bare Scrapy (ceiling)",
    "first": "round 1: first versions",
    "unchanged": "round 2: unchanged bytes",
    "noisy": "round 3: unchanged, noisy",
    "settle": "settle (clean bytes, untimed)",
}


def expected_problems(run: Run) -> list[str]:
    """What a run should have done, checked against what it reports."""
    c, n = run.counts, run.pages
    if run.phase == "bare":
        ok = c.get("ok") == n and c.get("failures") == 0
        return [] if ok else [f"bare: expected {n} responses with status 200, got {c}"]
    wanted = {"checked": n, "errors": 0, "new": 0}
    if run.phase == "first":
        wanted.update(first=n, unchanged=0)
    else:
        wanted.update(first=0, unchanged=n)
        wanted["fast_path"] = n if run.phase == "unchanged" else 0
    wrong = {key: c.get(key) for key, value in wanted.items() if c.get(key) != value}
    return [f"{run.phase}: expected {wanted}, got {wrong}"] if wrong else []


def counts_text(run: Run) -> str:
    c = run.counts
    if run.phase == "bare":
        return f"{c['ok']} x 200, {c['failures']} failed"
    events = f"; events {run.events}" if run.events else ""
    return (
        f"checked {c['checked']}: first {c['first']}, new {c['new']}, "
        f"unchanged {c['unchanged']} (fast path {c['fast_path']}), errors {c['errors']}{events}"
    )


def print_table(runs: Sequence[Run]) -> None:
    header = (
        f"{'phase':<26} {'pages':>5} {'requests':>8} {'seconds':>8} {'pages/s':>8} {'CPU s':>6} "
        f"{'ms CPU/pg':>9} {'RSS0 MB':>8} {'peak MB':>8} {'srv CPU s':>9}  outcome"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{LABELS[run.phase]:<26} {run.pages:>5} {run.requests or 0:>8} "
            f"{run.seconds:>8.2f} {run.rate:>8.0f} "
            f"{run.cpu:>6.2f} {1000 * run.cpu / run.pages:>9.2f} {run.rss_before:>8.0f} "
            f"{run.max_rss:>8.0f} {run.server_cpu:>9.2f}  {counts_text(run)}"
        )


def median_rate(runs: Sequence[Run], phase: str) -> float | None:
    rates = [run.rate for run in runs if run.phase == phase]
    return statistics.median(rates) if rates else None


def reactor_profile(path: Path | str) -> Path:
    """Where the reactor and writer threads' profile is kept, beside the merged one."""
    path = Path(path)
    return path.with_name(f"{path.stem}.reactor{path.suffix}")


def print_profile(path: Path, code_root: Path, title: str, limit: int = 15) -> None:
    code = re.escape(str(code_root)) + r"/(monitor|spiders)/"
    for heading, sort, restriction in (
        (f"top {limit} cumulative in monitor/ and spiders/", "cumulative", code),
        (f"top {limit} by own time, all code (where the CPU goes)", "tottime", None),
    ):
        buffer = io.StringIO()
        stats = pstats.Stats(str(path), stream=buffer)
        stats.sort_stats(sort)
        if restriction:
            stats.print_stats(restriction, limit)
        else:
            stats.print_stats(limit)
        text = buffer.getvalue()
        start = text.find("   ncalls")
        body = text[start:] if start >= 0 else text
        print(f"\n--- {title}: {heading} ---")
        for prefix in (str(code_root), sys.prefix):
            body = body.replace(prefix + "/", "")
        print(body.rstrip())


# --------------------------------------------------------------------------------------
# The profile per stage: where a check cycle's time goes, attributed from cProfile
# --------------------------------------------------------------------------------------

# A function in a profile: (path suffix, function name); builtins have the path "~".
# With a third and fourth item, only its calls from that caller count.
Root = tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    """A stage of the pipeline: the functions that do it, and the stages nested in it."""

    name: str
    roots: tuple[Root, ...]
    minus: tuple[str, ...] = ()  # stages whose time is inside this one's roots
    what: str = ""
    within: tuple[Root, ...] = ()  # only the time below these (default: OURS)


# Our part of the reactor and writer threads' time: the crawl's sink, the check's writer
# thread and the cycle's setup (a worker thread: its sync_targets and states are not
# profiled). The rest of the busy time is fetching (Scrapy, Twisted, asyncio, spiders/).
OURS: tuple[Root, ...] = (
    ("monitor/check/sink.py", "accept"),
    ("monitor/check/sink.py", "flush"),
    ("monitor/check/writer.py", "_run"),
    ("monitor/storage/store.py", "sync_targets"),
    ("monitor/storage/store.py", "states"),
)
OBSERVE: tuple[Root, ...] = (("monitor/detect/observe.py", "observe"),)
_SHA256 = "<built-in method _hashlib.openssl_sha256>"
_HEXDIGEST = "<method 'hexdigest' of '_hashlib.HASH' objects>"
STAGES: tuple[Stage, ...] = (
    Stage(
        "decode",
        (("monitor/detect/decode.py", "decode"), ("monitor/detect/observe.py", "repair_mojibake")),
        what="charset, binary sniffing, mojibake test",
        within=OBSERVE,
    ),
    Stage(
        "parse",
        (("monitor/detect/extract.py", "parse"),),
        what="lxml document_fromstring",
        within=OBSERVE,
    ),
    Stage(
        "extract",
        (("monitor/detect/extract.py", "extract"),),
        minus=("parse",),
        what="title, strip, prune, region, lines, links",
        within=OBSERVE,
    ),
    Stage(
        "normalise",
        (
            ("monitor/detect/normalize.py", "normalize_lines"),
            ("monitor/detect/normalize.py", "normalize_line"),
            ("monitor/detect/normalize.py", "canonical_url"),
        ),
        what="NFC, typography, ignore patterns, link URLs",
        within=OBSERVE,
    ),
    Stage(
        "mask",
        (("monitor/detect/volatility.py", "mask"),),
        what="volatility: built-in + learned",
        within=OBSERVE,
    ),
    Stage(
        "hash",
        (
            ("monitor/detect/observe.py", "content_hash"),
            ("~", _SHA256, "monitor/detect/observe.py", "observe"),
            ("~", _HEXDIGEST, "monitor/detect/observe.py", "observe"),
        ),
        what="sha256 of the body and of the content",
        within=OBSERVE,
    ),
    Stage(
        "judge",
        (("monitor/detect/quality.py", "judge"),),
        what="capture quality",
        within=OBSERVE,
    ),
    Stage(
        "observe, other",
        (("monitor/detect/observe.py", "observe"),),
        minus=("decode", "extract", "normalise", "mask", "hash", "judge"),
        what="Observation building, rules",
    ),
    Stage("decide", (("monitor/detect/events.py", "decide"),), what="events.decide (pure)"),
    Stage(
        "commit",
        (
            ("~", "<method 'commit' of 'sqlite3.Connection' objects>"),
            ("psycopg/connection.py", "commit"),
        ),
        what="the database's COMMIT",
    ),
    Stage(
        "learn",
        (("monitor/detect/noise.py", "probed"), ("monitor/detect/noise.py", "observed")),
        what="noise learned from probes and new versions (pure)",
    ),
    Stage(
        "plan",
        (("monitor/detect/plan.py", "plan_batch"),),
        minus=("decide", "learn"),
        what="the recording plan: significance, summaries, rows (pure)",
    ),
    Stage(
        "write",
        (
            ("monitor/check/record.py", "record_batch"),
            ("monitor/check/writer.py", "_finish"),
        ),
        minus=("plan", "decide", "learn", "commit"),
        what="SQLAlchemy, SQL, zstd: the plans written",
    ),
    Stage(
        "WARC", (("monitor/check/writer.py", "_write_warc"),), minus=("commit",), what="evidence"
    ),
    Stage(
        "setup",
        (("monitor/storage/store.py", "sync_targets"), ("monitor/storage/store.py", "states")),
        minus=("commit",),
        what="sync targets, load page states",
    ),
)


class CallGraph:
    """A cProfile run as a call graph: inclusive times of sets of functions, and which
    share of a function's time was spent below others (gprof-style: a function's time is
    split among its callers in proportion to their calls' cumulative time)."""

    def __init__(self, path: Path) -> None:
        self.stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
        self.total = sum(entry[2] for entry in self.stats.values())
        self._reach: dict[frozenset[Any], dict[Any, float]] = {}

    @staticmethod
    def _is(func: Any, root: Root) -> bool:
        path, _line, name = func
        return name == root[1] and (path == root[0] if root[0] == "~" else path.endswith(root[0]))

    def find(self, roots: Sequence[Root]) -> frozenset[Any]:
        return frozenset(f for f in self.stats for root in roots if self._is(f, root[:2]))

    def reach(self, func: Any, targets: frozenset[Any]) -> float:
        """The share of ``func``'s time spent below (or in) one of ``targets``."""
        memo = self._reach.setdefault(targets, {})
        return self._reach_from(func, targets, memo, 0)

    def _reach_from(
        self, func: Any, targets: frozenset[Any], memo: dict[Any, float], depth: int
    ) -> float:
        if func in targets:
            return 1.0
        if func in memo:
            return memo[func]
        memo[func] = 0.0  # a cycle in the graph adds nothing
        callers = self.stats.get(func, (0, 0, 0.0, 0.0, {}))[4]
        weights = {caller: edge[3] for caller, edge in callers.items()}
        if sum(weights.values()) <= 0:
            weights = {caller: edge[1] for caller, edge in callers.items()}
        total = sum(weights.values())
        if total <= 0 or depth > 400:
            return 0.0
        value = sum(
            weight / total * self._reach_from(caller, targets, memo, depth + 1)
            for caller, weight in weights.items()
        )
        memo[func] = value
        return value

    def inclusive(self, roots: Sequence[Root], within: frozenset[Any] | None = None) -> float:
        """Cumulative time of ``roots`` (nested calls among them counted once), optionally
        only the part spent below ``within``."""
        keys = self.find(roots)
        total = 0.0
        for root in roots:
            for func in self.find([root]):
                for caller, edge in self.stats[func][4].items():
                    if caller in keys or (len(root) == 4 and not self._is(caller, root[2:])):
                        continue
                    if within is None or func in within:
                        total += edge[3]
                    else:
                        total += edge[3] * self.reach(caller, within)
        return total


_WAITS = ("poll", "'acquire' of '_thread.lock'", "'get' of '_queue.SimpleQueue'")


def stage_times(path: Path) -> tuple[float, float, dict[str, float]]:
    """(total, idle, seconds per stage) of a reactor-thread profile; 'fetch' is the busy
    time outside our code, so that the stages add up to the total."""
    graph = CallGraph(path)
    ours = graph.find(OURS)
    by_name = {stage.name: stage for stage in STAGES}
    times: dict[str, float] = {}
    for stage in STAGES:
        inside = graph.find(stage.roots)
        nested = sum(graph.inclusive(by_name[name].roots, inside) for name in stage.minus)
        within = graph.find(stage.within) if stage.within else ours
        times[stage.name] = max(0.0, graph.inclusive(stage.roots, within) - nested)
    # Waiting: the reactor in epoll, the writer for a fetch (queue) or an observation
    # (a future's lock): no CPU, and not Scrapy's either.
    idle = sum(
        entry[2]
        for func, entry in graph.stats.items()
        if func[0] == "~" and any(word in func[2] for word in _WAITS)
    )
    ours_total = graph.inclusive(OURS)
    staged = sum(times.values())
    times["sink, other"] = max(0.0, ours_total - staged)
    # Scrapy's: what is neither waiting nor one of our stages (the writer thread's root
    # may have no caller in its profile, so our total is not always found whole).
    times["fetch"] = max(0.0, graph.total - idle - max(ours_total, staged))
    times["  of which start-up"] = graph.inclusive(
        [("scrapy/crawler.py", "_create_engine"), ("scrapy/crawler.py", "_apply_settings")]
    )
    times["  of which spiders/"] = graph.inclusive(
        [("spiders/base.py", name) for name in ("parse", "failed", "make_request", "result")]
        + [("spiders/page.py", "start"), ("spiders/listing.py", "parse")]
    )
    return graph.total, idle, times


def print_stage_breakdown(path: Path, pages: int, title: str, cpu_per_page: float | None) -> None:
    """The reactor and writer threads' profiled time per stage (fetch, decode, ..., WARC)."""
    total, idle, times = stage_times(path)
    busy = total - idle
    order = ["fetch", "  of which start-up", "  of which spiders/"]
    order += [*(stage.name for stage in STAGES), "sink, other"]
    what = {stage.name: stage.what for stage in STAGES}
    what.update(
        {
            "fetch": "Scrapy, Twisted, asyncio (network I/O, scheduling, middlewares)",
            "  of which start-up": "a crawler's engine and settings (lazy imports too)",
            "  of which spiders/": "requests, FetchResults",
            "sink, other": "queue, batching, logging, metrics",
        }
    )
    print(f"\n--- {title}: time per stage (reactor and writer threads, profiled) ---")
    print(f"{'stage':<20} {'seconds':>8} {'ms/page':>8} {'share':>6}  what")
    for name in order:
        seconds = times.get(name, 0.0)
        print(
            f"{name:<20} {seconds:>8.3f} {1000 * seconds / pages:>8.3f} "
            f"{seconds / busy if busy else 0:>6.1%}  {what.get(name, '')}"
        )
    print(f"{'idle (waits)':<20} {idle:>8.3f} {1000 * idle / pages:>8.3f}  epoll, queue, locks")
    print(f"{'total':<20} {total:>8.3f} {1000 * total / pages:>8.3f}  (share = of busy time)")
    measured = (
        f"; measured without the profiler: {cpu_per_page:.2f} ms CPU/page" if cpu_per_page else ""
    )
    print(
        "cProfile slows Python-heavy code (Scrapy, SQLAlchemy) more than C (lxml, re, "
        f"hashlib): read the shares as indicative{measured}"
    )


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import psycopg

    plain = POSTGRES_ADMIN.replace("postgresql+psycopg://", "postgresql://")
    name = f"monitor_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, cap: float) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the benchmark ran past --timeout")
        return min(left, cap)


def run_phase(
    args: argparse.Namespace,
    port: int,
    phase: str,
    db_url: str,
    workdir: Path,
    deadline: Deadline,
    profile_out: Path | None = None,
) -> tuple[Run, str]:
    server = Server(port, args.pages, args.server_workers, noisy=phase == "noisy")
    server.start(timeout=deadline.left(120))
    try:
        result_file = workdir / f"result-{phase}-{time.monotonic_ns()}.json"
        command = [sys.executable, str(SCRIPT), "--internal-phase", phase]
        command += ["--internal-port", str(server.port), "--internal-result", str(result_file)]
        command += ["--internal-db-url", db_url, "--pages", str(args.pages)]
        command += ["--concurrency", str(args.concurrency)]
        if profile_out is not None:
            command += ["--internal-profile-out", str(profile_out)]
        done = subprocess.run(
            command,
            cwd=workdir,
            env=phase_env(args, workdir),
            capture_output=True,
            text=True,
            timeout=deadline.left(600),
        )
        server_cpu = server.cpu_seconds()
    finally:
        server.stop()
    if done.returncode != 0 or not result_file.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-30:])
        raise RuntimeError(f"phase {phase} failed (exit {done.returncode}):\n{tail}")
    data = json.loads(result_file.read_text())
    run = Run(
        phase=phase,
        pages=args.pages,
        seconds=data["seconds"],
        cpu=data["cpu"],
        rss_before=data["rss_before"],
        max_rss=data["max_rss"],
        server_cpu=server_cpu,
        requests=server.served,
        counts=data["counts"],
        db=data.get("db", {}),
        events=data.get("events", {}),
    )
    return run, server.kind


CODE_PACKAGES = ("monitor", "spiders", "migrations")


def take_snapshot(workdir: Path) -> Path:
    """Copy the code under test, so every phase runs the same code even if the tree moves."""
    target = workdir / "code"
    for package in CODE_PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return target


def phase_env(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    if args.scrapy_set:
        env[OVERRIDES_ENV] = json.dumps(dict(args.scrapy_set))
    if not args.no_snapshot:
        paths = [str(workdir / "code"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    return env


def code_state() -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", *CODE_PACKAGES],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (
        f" + {len(dirty)} uncommitted file(s) in {'/, '.join(CODE_PACKAGES)}/" if dirty else ""
    )


def sample_stats(pages: int) -> tuple[int, int, int]:
    sizes = [len(render_page(number, FIXED_NOISE).encode()) for number in range(1, pages + 1)]
    return min(sizes), int(statistics.mean(sizes)), max(sizes)


def orchestrate(args: argparse.Namespace) -> int:
    phases = [phase.strip() for phase in args.rounds.split(",") if phase.strip()]
    unknown = [phase for phase in phases if phase not in PHASES]
    if unknown:
        raise SystemExit(f"--rounds: unknown phase(s) {unknown}; choose from {PHASES}")
    if any(phase in ("unchanged", "noisy") for phase in phases) and "first" not in phases:
        raise SystemExit("--rounds: 'unchanged' and 'noisy' need 'first' (an empty database)")
    order = [phase for phase in PHASES if phase in phases]
    plan = list(order)
    for _ in range(args.repeat - 1):
        for phase in order:
            if phase == "unchanged":
                plan.append("settle")  # the noisy round left other bytes: serve clean once
            if phase in REPEATABLE:
                plan.append(phase)

    import scrapy
    import sqlalchemy
    import twisted

    smallest, mean, largest = sample_stats(args.pages)
    print(f"monitor check-cycle benchmark: {args.pages} pages, database {args.db}")
    print(
        f"  pages: {mean} bytes on average ({smallest}-{largest}), UTF-8, distinct per page; "
        "noisy round: fresh CSRF token, nonces, cache-buster, Set-Cookie, counter per request"
    )
    print(
        f"  fetch: concurrency {args.concurrency}, per-domain concurrency {args.concurrency} "
        "(the real default is polite: 2 per domain, 1 s delay), delay 0, robots.txt off, "
        "retries 0, asyncio reactor"
    )
    print(
        f"  Python {platform.python_version()}, Scrapy {scrapy.__version__}, "
        f"Twisted {twisted.__version__}, SQLAlchemy {sqlalchemy.__version__}, "
        f"{os.cpu_count()} CPUs; each phase runs in a fresh process (RSS is per phase)"
    )
    sys.stdout.flush()

    deadline = Deadline(args.timeout)
    workdir = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    if not args.no_snapshot:
        take_snapshot(workdir)
    snapshot = "no snapshot" if args.no_snapshot else "snapshot copied at start, used by all phases"
    print(f"  code: {code_state()} ({snapshot}); load average {os.getloadavg()[0]:.2f}")
    if args.scrapy_set:
        print(f"  EXPERIMENT: Scrapy settings overridden in every phase: {dict(args.scrapy_set)}")
    sys.stdout.flush()
    holder = reserve_port()
    port = holder.getsockname()[1]
    runs: list[Run] = []
    server_kind = ""
    try:
        with database(args.db, workdir) as db_url:
            for phase in plan:
                run, server_kind = run_phase(args, port, phase, db_url, workdir, deadline)
                if phase != "settle":
                    runs.append(run)
                print(f"  done: {LABELS[phase]}: {run.rate:.0f} pages/s", flush=True)
            profiles: list[tuple[str, Path]] = []
            if args.profile:
                profile_dir = Path(args.profile_dir) if args.profile_dir else workdir
                profile_dir.mkdir(parents=True, exist_ok=True)
                if "unchanged" in order:
                    run_phase(args, port, "settle", db_url, workdir, deadline)
                for phase in ("unchanged", "noisy"):
                    if phase in order:
                        out = profile_dir / f"check_cycle-{phase}.pstats"
                        run_phase(args, port, phase, db_url, workdir, deadline, profile_out=out)
                        profiles.append((phase, out))
            print(f"\nserver: {server_kind} on {HOST} (shares the {os.cpu_count()} CPUs)")
            print(f"load average at the end: {os.getloadavg()[0]:.2f} (other work competes)")
            print(
                "RSS0 = RSS before the timed work (after imports and setup); peak = ru_maxrss"
                " (of the phase process: an observing worker's ~36 MB not included)"
            )
            print(
                "CPU s = client process CPU (all threads, + its observing worker processes);"
                " srv CPU s = server workers' CPU"
            )
            print("requests = requests the server answered during the phase")
            print("pages/s = pages checked / seconds (the whole run_check or crawl)\n")
            print_table(runs)
            if runs and runs[-1].db:
                print(f"\ndatabase rows after the last round: {runs[-1].db}")
            for phase, out in profiles:
                code_root = ROOT if args.no_snapshot else workdir / "code"
                title = f"cProfile of {LABELS[phase]} (separate, untimed run)"
                print_profile(out, code_root, title)
            for phase, out in profiles:
                timed = [run.cpu / run.pages for run in runs if run.phase == phase]
                cpu_per_page = 1000 * statistics.median(timed) if timed else None
                print_stage_breakdown(reactor_profile(out), args.pages, LABELS[phase], cpu_per_page)
            cpu = {
                phase: 1000 * statistics.median(run.cpu / run.pages for run in matching)
                for phase in ("unchanged", "noisy")
                if (matching := [run for run in runs if run.phase == phase])
            }
            if profiles and len(cpu) == 2:
                print(
                    f"\nwithout the profiler: {cpu['unchanged']:.2f} ms CPU/page on the fast path "
                    f"(fetch + record), {cpu['noisy']:.2f} on the noisy round: decode to hash "
                    f"cost about {cpu['noisy'] - cpu['unchanged']:.2f} ms per noisy page"
                )
    finally:
        holder.close()
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    problems = [problem for run in runs for problem in expected_problems(run)]
    bare = median_rate(runs, "bare")
    print()
    for phase in ("first", "unchanged", "noisy"):
        rate = median_rate(runs, phase)
        if rate is not None and bare:
            print(f"ratio {LABELS[phase]} / bare Scrapy: {rate / bare:.0%}")
    unchanged = median_rate(runs, "unchanged")
    for problem in problems:
        print(f"UNEXPECTED: {problem}")
    if unchanged is not None and bare:
        share = unchanged / bare
        verdict = "goal met" if share >= args.goal else f"below the {args.goal:.0%} goal"
        noun = "median " if args.repeat > 1 else ""
        print(
            f"unchanged round: {noun}{unchanged:.0f} pages/s = {share:.0%} of bare Scrapy "
            f"({bare:.0f} pages/s); {verdict}"
        )
    return 1 if problems else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time a full check cycle of N local pages against bare Scrapy.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--pages", type=int, default=1000, help="number of distinct pages")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--rounds",
        default=",".join(PHASES),
        help="phases to run, comma-separated, from: " + ", ".join(PHASES),
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of bare/unchanged/noisy")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--server-workers", type=int, default=2, help="server processes")
    parser.add_argument("--goal", type=float, default=0.60, help="unchanged / bare target")
    parser.add_argument("--timeout", type=float, default=1800, help="overall limit, seconds")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile rounds 2 and 3 (untimed)"
    )
    parser.add_argument("--profile-dir", help="keep the .pstats files here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (SQLite file)")
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the working tree live instead of a copy taken at the start",
    )
    parser.add_argument(
        "--scrapy-set",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="experiment: override a Scrapy setting in every phase (JSON value or string)",
    )
    parser.add_argument("--show-page", type=int, metavar="N", help="print page N and exit")
    hidden = argparse.SUPPRESS
    parser.add_argument("--internal-serve", action="store_true", help=hidden)
    parser.add_argument("--internal-noisy", action="store_true", help=hidden)
    parser.add_argument("--internal-phase", choices=(*PHASES, "settle"), help=hidden)
    parser.add_argument("--internal-port", type=int, help=hidden)
    parser.add_argument("--internal-result", help=hidden)
    parser.add_argument("--internal-db-url", help=hidden)
    parser.add_argument("--internal-profile-out", help=hidden)
    args = parser.parse_args(argv)
    if args.pages < 1 or args.repeat < 1 or args.concurrency < 1 or args.server_workers < 1:
        parser.error("--pages, --repeat, --concurrency and --server-workers must be >= 1")
    return args


def _setting(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value


def _exit_on_sigterm() -> None:
    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.internal_serve:
        serve_main(args.internal_port, args.pages, args.server_workers, args.internal_noisy)
        return 0
    if args.internal_phase:
        phase_main(args)
        return 0
    if args.show_page:
        sys.stdout.write(render_page(args.show_page, FIXED_NOISE))
        return 0
    _exit_on_sigterm()
    try:
        return orchestrate(args)
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as exc:  # failed, too slow
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; servers, temp files and databases were cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
