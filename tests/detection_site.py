"""A fixture site carrying every detection case a user's configuration can meet.

Two hosts on loopback: the embassy site on 127.0.0.1 and an "other host" on 127.0.0.2
(a block portal and a foreign page that redirects and refreshes lead to). Each page has a
state per round (``SCENARIO``); ``EXPECTED`` says, per round, which event a perfect
monitor reports for each page (``unchanged`` = none). Every HTML answer carries noise
that changes on every request (opening hours, counters, CSRF token, rotating sidebar,
cache-busting script URL, a view counter inside the statement), and every article
carries site-wide chrome inside its content region (share widget, photo credit, a
newsletter box whose text changes site-wide in one round).

The cases, by item of issue 10:

1. soft removals of pages watched with a ``selector`` (200 "not found", redirect home);
2. a listing with its own ``selector`` whose articles have none (or ``follow.selector``);
3. older articles surfacing on the listing's first page after removals;
4. one URL watched twice (a statement target that is also a listed article);
5. WAF and CDN challenge pages recognised by their headers and status;
6. a redirect to another host's root (a block portal);
7. mojibake that starts past the first 25,000 characters, then fixed;
8. site-wide boilerplate inside the content region that changes;
9. one-word edits of a headline and of a lead that sit outside the body's container;
10. an image removed from a statement;
11. a meta refresh (60 s to another host: recorded as served; 0 s to the home page);
12. times, dates and years edited in statements.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROUNDS = 7
OTHER_HOST = "127.0.0.2"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"}
    )


# --- content -------------------------------------------------------------------------

_SENTENCES = (
    "The Embassy continues to follow the situation closely and remains in contact with the "
    "local authorities.",
    "Citizens are advised to register with the consular section and to keep their travel "
    "documents valid.",
    "The consular section answers enquiries by telephone and by e-mail on working days.",
    "Further information is published on this website and on the Ministry's official channels.",
    "The Ambassador met representatives of the host government to discuss cooperation in "
    "education and culture.",
    "Applications submitted before the announcement will be processed in the usual order.",
)


def _paragraphs(seed: str, count: int) -> list[str]:
    digest = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    out = []
    for index in range(count):
        first = _SENTENCES[(digest >> index) % len(_SENTENCES)]
        second = _SENTENCES[(digest >> (index + 7)) % len(_SENTENCES)]
        out.append(f"{first} {second} (Ref. {seed}-{index + 1}.)")
    return out


@dataclass(frozen=True)
class Statement:
    """A statement page: headline, lead, body paragraphs, optional image."""

    headline: str
    lead: str
    body: tuple[str, ...]
    image: str | None = None
    layout: str = "article"  # "article": <article class=statement>; "split": header apart


def _statement(
    name: str,
    headline: str,
    lead: str,
    *,
    image: str | None = None,
    layout: str = "article",
    extra: tuple[str, ...] = (),
) -> Statement:
    return Statement(headline, lead, (*extra, *_paragraphs(name, 4)), image, layout)


EVACUATION_V1 = _statement(
    "evac",
    "Evacuation of citizens from the northern region",
    "The Embassy organises the departure of citizens who wish to leave the northern region.",
    extra=(
        "Buses leave from the Central Square at 08:00 on 5 March.",
        "Up to 120 people can be taken on the first day.",
    ),
)
EVACUATION_V2 = _statement(
    "evac",
    "Evacuation of citizens from the northern region",
    "The Embassy organises the departure of citizens who wish to leave the northern region.",
    extra=(
        "Buses leave from the Central Square at 10:00 on 6 March.",
        "Up to 120 people can be taken on the first day.",
    ),
)
TRADE_V1 = _statement(
    "trade",
    "Talks on trade and investment",
    "Delegations of both countries reviewed the implementation of economic agreements.",
    extra=("The parties confirmed their commitment to the 2024 trade agreement.",),
)
TRADE_V2 = _statement(
    "trade",
    "Talks on trade and investment",
    "Delegations of both countries reviewed the implementation of economic agreements.",
    extra=("The parties confirmed their commitment to the 2019 trade agreement.",),
)
HEADLINE_V1 = _statement(
    "headline",
    "Visa services resume in March",
    "Consular services reopen to the public.",
    layout="split",
)
HEADLINE_V2 = _statement(
    "headline",
    "Visa services suspended in March",
    "Consular services reopen to the public.",
    layout="split",
)
LEAD_V1 = _statement(
    "lead",
    "Statement on the border crossing",
    "The crossing at Verkhniy Post remains open.",
    layout="split",
)
LEAD_V2 = _statement(
    "lead",
    "Statement on the border crossing",
    "The crossing at Verkhniy Post remains closed.",
    layout="split",
)
IMAGE_V1 = _statement(
    "image",
    "Signing of the memorandum",
    "The memorandum was signed at the Ministry.",
    image="/media/memorandum-signed.jpg",
)
IMAGE_V2 = _statement(
    "image",
    "Signing of the memorandum",
    "The memorandum was signed at the Ministry.",
)


def _plain(name: str, headline: str) -> Statement:
    return _statement(name, headline, f"{headline}: the Embassy informs.")


MOJIBAKE_PADDING = tuple(_paragraphs("mojibake-padding", 140))  # ~28,000 characters
MOJIBAKE = Statement(
    "Statement on the Nation’s cultural heritage",
    "The Embassy’s cultural programme continues.",
    (
        *MOJIBAKE_PADDING,
        "The Nation’s museums — and the café of the Embassy — reopen on Monday.",
        "Exhibitions «Crossroads» and «Heritage» are open to visitors — entrance is free.",
    ),
)

ARTICLE_NAMES = tuple(f"a{number:02d}" for number in range(1, 11))
ARTICLES = {
    name: _statement(name, f"Embassy bulletin {name.upper()}", f"Bulletin {name.upper()} lead.")
    for name in ARTICLE_NAMES
}
A03_V2 = _statement(
    "a03",
    "Embassy bulletin A03",
    "Bulletin A03 lead.",
    extra=("An additional paragraph was published with new instructions.",),
)
A05_V2 = _statement("a05", "Embassy bulletin A05 (corrected)", "Bulletin A05 lead.")
LISTING_SIZE = 6

PROMO = (
    "Subscribe to our newsletter and receive the Embassy's news every week.",
    "Follow the Embassy on social networks: new channel launched this spring.",
)

# --- the scenario --------------------------------------------------------------------

# Page name -> its state in rounds 0..ROUNDS-1. States: "v1", "v2" (content versions),
# "404", "soft404" (200 "Page not found"), "home" (302 to the home page), "waf" (AWS WAF
# challenge, 202), "cf" (Cloudflare challenge, 403), "xhost" (302 to the other host's
# root), "mislabel" (mojibake in the bytes), "refresh60" (v1 + a 60 s refresh to the other
# host), "refresh0" (a 0 s refresh to the home page), "unpublished".
SCENARIO: dict[str, list[str]] = {
    "evac": ["v1", "v1", "v2", "v2", "v2", "v2", "v2"],
    "trade": ["v1", "v1", "v1", "v2", "v2", "v2", "v2"],
    "headline": ["v1", "v2", "v2", "v2", "v2", "v2", "v2"],
    "lead": ["v1", "v1", "v2", "v2", "v2", "v2", "v2"],
    "image": ["v1", "v1", "v1", "v1", "v2", "v2", "v2"],
    "soft404": ["v1", "v1", "soft404", "soft404", "v1", "v1", "v1"],
    "gohome": ["v1", "home", "home", "v1", "v1", "v1", "v1"],
    "waf": ["v1", "waf", "v1", "cf", "v1", "v1", "v1"],
    "xhost": ["v1", "xhost", "v1", "v1", "xhost", "v1", "v1"],
    "mojibake": ["v1", "mislabel", "v1", "v1", "mislabel", "v1", "v1"],
    "refresh60": ["v1", "refresh60", "refresh60", "v1", "v1", "v1", "v1"],
    "refresh0": ["v1", "v1", "refresh0", "refresh0", "refresh0", "refresh0", "refresh0"],
    "a01": ["v1"] * 7,
    "a02": ["v1"] * 7,
    "a03": ["v1", "v1", "v1", "v2", "v2", "v2", "v2"],  # also its own target ("shared")
    "a04": ["v1"] * 7,
    "a05": ["v1", "v1", "v1", "v1", "v2", "v2", "v2"],
    "a06": ["v1", "v1", "404", "404", "404", "404", "404"],
    "a07": ["v1", "v1", "404", "404", "404", "404", "v1"],
    "a08": ["v1"] * 7,
    "a09": ["unpublished", "v1", "v1", "v1", "v1", "v1", "v1"],
    "a10": ["unpublished", "unpublished", "unpublished", "v1", "v1", "v1", "v1"],
}
# The site-wide newsletter box inside every article changes in this round.
PROMO_ROUND = 5

# Round -> page -> the event a perfect monitor alerts (pages not named: none).
EXPECTED: dict[int, dict[str, str]] = {
    1: {"headline": "changed", "gohome": "removed", "a09": "added"},
    2: {
        "evac": "changed",
        "lead": "changed",
        "soft404": "removed",
        "refresh0": "removed",
        "a06": "removed",
        "a07": "removed",
    },
    3: {"trade": "changed", "gohome": "restored", "a03": "changed", "a10": "added"},
    4: {"image": "changed", "soft404": "restored", "a05": "changed"},
    5: {},
    6: {"a07": "restored"},
}
STATEMENTS = (
    "evac",
    "trade",
    "headline",
    "lead",
    "image",
    "soft404",
    "gohome",
    "waf",
    "xhost",
    "mojibake",
    "refresh60",
    "refresh0",
)
CONTENT = {
    "evac": (EVACUATION_V1, EVACUATION_V2),
    "trade": (TRADE_V1, TRADE_V2),
    "headline": (HEADLINE_V1, HEADLINE_V2),
    "lead": (LEAD_V1, LEAD_V2),
    "image": (IMAGE_V1, IMAGE_V2),
    "mojibake": (MOJIBAKE, MOJIBAKE),
    "a03": (ARTICLES["a03"], A03_V2),
    "a05": (ARTICLES["a05"], A05_V2),
}


def path_of(name: str) -> str:
    if name in ARTICLES:
        return f"/en/news/{name}.html"
    return f"/en/statements/{name}.html"


# --- rendering -----------------------------------------------------------------------


def _noise(serial: int) -> dict[str, str]:
    digest = hashlib.sha256(f"req-{serial}".encode()).hexdigest()
    return {
        "hours": f"{8 + serial % 3:02d}.{(serial % 2) * 30:02d}-{14 + serial % 4:02d}.00",
        "visitors": str(1187 + 3 * serial),
        "views": str(310 + 7 * serial),
        "csrf": digest[:32],
        "asset": str(1670000000 + 7 * serial),
        "clock": f"{serial % 24:02d}:{serial % 60:02d}:{(serial * 7) % 60:02d}",
    }


def _related(serial: int) -> str:
    names = ARTICLE_NAMES[serial % 4 : serial % 4 + 3]
    return "".join(
        f'<li><a href="{path_of(n)}">{html.escape(ARTICLES[n].headline)}</a></li>' for n in names
    )


def _statement_html(statement: Statement, promo: str, noise: dict[str, str]) -> str:
    esc = html.escape
    figure = (
        f'<figure><img src="{statement.image}" alt="The memorandum being signed">'
        "<figcaption>Photo: press service of the Embassy</figcaption></figure>"
        if statement.image
        else ""
    )
    body = "".join(f"<p>{esc(p)}</p>" for p in statement.body)
    chrome = (
        '<div class="share">Share: <a href="https://x.example/share">X</a> '
        '<a href="https://fb.example/share">Facebook</a> '
        '<a href="https://t.example/share">Telegram</a></div>'
        f'<div class="newsletter-box"><p>{esc(promo)}</p>'
        '<a href="/en/subscribe/">Subscribe</a></div>'
    )
    meta = f'<p class="date">Published 12.03.2024 · Views: {noise["views"]}</p>'
    if statement.layout == "split":
        # The headline and lead sit outside the body's container.
        return (
            f'<div class="page-head statement"><h1>{esc(statement.headline)}</h1>{meta}'
            f'<div class="teaser">{esc(statement.lead)}</div></div>'
            f'<div class="body-text statement">{figure}{body}{chrome}</div>'
        )
    return (
        f'<article class="statement"><h1>{esc(statement.headline)}</h1>{meta}'
        f'<p class="lead"><strong>{esc(statement.lead)}</strong></p>{figure}{body}{chrome}'
        "</article>"
    )


def page_html(title: str, main: str, serial: int, head_extra: str = "") -> str:
    noise = _noise(serial)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)} — Embassy of Freedonia</title>{head_extra}"
        f'<script src="/static/app.js?v={noise["asset"]}"></script></head><body>'
        '<header><nav><a href="/">Home</a> <a href="/en/news/">News</a> '
        '<a href="/en/consular/">Consular services</a></nav>'
        f'<div class="hours">Today\'s working hours: {noise["hours"]}</div>'
        f'<div class="clock">Local time {noise["clock"]}</div></header>'
        f'<div id="content">{main}'
        f'<section class="related"><h2>Related news</h2><ul>{_related(serial)}</ul></section>'
        "</div>"
        f"<footer><p>Visitors today: {noise['visitors']}</p>"
        "<p>Embassy of Freedonia, 12 Embassy Row. Telephone +1 555 0100.</p>"
        f'<form action="/en/search/"><input type=hidden name=csrf value="{noise["csrf"]}">'
        "<input name=q></form></footer></body></html>"
    )


class DetectionSite:
    """The fixture site: ``set_round(n)`` switches every page to its state in round n."""

    def __init__(self) -> None:
        self.round = 0
        self.serial = 0
        self.hits: list[str] = []
        self._lock = threading.Lock()
        self.main = _Server("127.0.0.1", self._answer)
        self.other = _Server(OTHER_HOST, self._answer_other)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.main.port}"

    @property
    def other_base(self) -> str:
        return f"http://{OTHER_HOST}:{self.other.port}"

    def url(self, name: str) -> str:
        return self.base + path_of(name)

    def start(self) -> DetectionSite:
        self.main.start()
        self.other.start()
        return self

    def stop(self) -> None:
        self.main.stop()
        self.other.stop()

    def __enter__(self) -> DetectionSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_round(self, number: int) -> None:
        self.round = number

    def _next_serial(self, path: str) -> int:
        with self._lock:
            self.serial += 1
            self.hits.append(path)
            return self.serial

    def hits_of(self, name: str) -> int:
        return self.hits.count(path_of(name))

    # --- answers ---------------------------------------------------------------------

    def _answer(self, path: str) -> Answer:
        serial = self._next_serial(path)
        if path == "/":
            return _html(
                page_html(
                    "Home",
                    "<h1>Welcome to the Embassy</h1><p>News and consular information.</p>",
                    serial,
                )
            )
        if path in ("/en/news/", "/en/news") or path.startswith("/en/news/?"):
            return _html(self._listing(path, serial))
        if path in ("/robots.txt",):
            return Answer(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
        for name in SCENARIO:
            if path == path_of(name):
                return self._page(name, serial)
        return Answer(404, b"<html><title>404 Not Found</title><h1>Not Found</h1></html>")

    def _answer_other(self, path: str) -> Answer:
        serial = self._next_serial(f"other:{path}")
        if path == "/":
            body = (
                "<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
                "<p>Access to this resource is restricted in your region. "
                "Request unblocking through our portal.</p></body></html>"
            )
            return _html(body)
        return _html(page_html("Elsewhere", "<h1>Another site</h1><p>Unrelated.</p>", serial))

    def _promo(self) -> str:
        return PROMO[1] if self.round >= PROMO_ROUND else PROMO[0]

    def _content(self, name: str, state: str) -> Statement:
        versions = CONTENT.get(name)
        if versions is not None:
            return versions[1] if state == "v2" else versions[0]
        if name in ARTICLES:
            return ARTICLES[name]
        return _plain(name, f"Statement {name}")

    def _page(self, name: str, serial: int) -> Answer:
        state = SCENARIO[name][self.round]
        if state in ("404", "unpublished"):
            return Answer(404, b"<html><title>404 Not Found</title><h1>Not Found</h1></html>")
        if state == "soft404":
            main = (
                "<h1>Page not found</h1><p>The page you requested cannot be found. "
                'It may have been moved. Go to the <a href="/">home page</a>.</p>'
            )
            return _html(page_html("Page not found", main, serial))
        if state == "home":
            return Answer(302, b"", {"Location": "/", "Content-Type": "text/html"})
        if state == "xhost":
            return Answer(
                302, b"", {"Location": self.other_base + "/", "Content-Type": "text/html"}
            )
        if state == "waf":
            body = (
                "<!DOCTYPE html><html><head><title>JavaScript is disabled</title></head><body>"
                "<noscript><h1>JavaScript is disabled</h1>In order to continue, we need to "
                "verify that you're not a robot. This requires JavaScript.</noscript>"
                '<script src="/challenge.js"></script></body></html>'
            )
            return Answer(
                202,
                body.encode(),
                {"Content-Type": "text/html; charset=UTF-8", "x-amzn-waf-action": "challenge"},
            )
        if state == "cf":
            body = (
                "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                "<div>Enable JavaScript and cookies to continue</div></body></html>"
            )
            return Answer(
                403,
                body.encode(),
                {
                    "Content-Type": "text/html; charset=UTF-8",
                    "cf-mitigated": "challenge",
                    "Server": "cloudflare",
                },
            )
        if state == "refresh0":
            head = '<meta http-equiv="refresh" content="0; url=/">'
            return _html(
                f"<html><head>{head}<title>Redirecting</title></head>"
                "<body>Redirecting…</body></html>"
            )
        statement = self._content(name, state)
        main = _statement_html(statement, self._promo(), _noise(serial))
        head = ""
        if state == "refresh60":
            head = f'<meta http-equiv="refresh" content="60; url={self.other_base}/elsewhere">'
        text = page_html(statement.headline, main, serial, head)
        if state == "mislabel":
            # The CMS double-encoded the text: UTF-8 bytes read as windows-1252, re-encoded.
            padding_end = text.index(MOJIBAKE.body[-2])
            assert padding_end > 25000
            broken = text[:padding_end] + text[padding_end:].encode("utf-8").decode(
                "cp1252", errors="replace"
            )
            return _html(broken)
        return _html(text)

    def _listing(self, path: str, serial: int) -> str:
        live = [
            n
            for n in reversed(ARTICLE_NAMES)
            if SCENARIO[n][self.round] not in ("404", "unpublished")
        ]
        page = 2 if "page=2" in path else 1
        shown = live[(page - 1) * LISTING_SIZE : page * LISTING_SIZE]
        items = "".join(
            f'<li><a href="{path_of(n)}">{html.escape(self._content(n, "v1").headline)}</a>'
            f"<span> Views: {310 + serial}</span></li>"
            for n in shown
        )
        more = '<a class="next" href="/en/news/?page=2">Older news</a>' if page == 1 else ""
        main = f'<h1>News</h1><ul class="news-list">{items}</ul>{more}'
        return page_html("News", main, serial)


def _html(text: str) -> Answer:
    return Answer(200, text.encode("utf-8"))


class _Server:
    """A threaded HTTP server on one loopback address, answering through a callback."""

    def __init__(self, host: str, answer: Callable[[str], Answer]) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                reply = answer(self.path)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
