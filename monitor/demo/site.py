"""A local embassy-like website whose content evolves through numbered rounds.

It is the fixture behind ``monitor demo``, the spider tests and the change-detection tests:
start it, check it, move it to the next round, check again, and compare what the monitor
reports with ``EXPECTED``. It binds a loopback address only.

Every HTML response carries noise that changes on every request and that a good monitor
must ignore: the "Today's working hours" line, a date widget, a rotating "Related news"
sidebar, a visitor counter, a CSRF token, a session cookie and a cache-busting script URL.
The noise is derived from a per-site request counter, not from randomness, so a test that
makes the same requests sees the same bytes.

Run ``python -m monitor.demo.site --port 8000`` to browse it by hand.

Why one module of this size: one self-contained fixture (server, rounds, pages) used by
``monitor demo`` and by the tests; its texts are in :mod:`monitor.demo.content`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import ipaddress
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import jinja2

from monitor.demo.content import (
    APP_JS,
    ARTICLES,
    CHROME,
    HOME_WELCOME,
    PRIVATE_TEXT,
    ROBOTS_TXT,
    STYLE_CSS,
    Article,
    Chrome,
    Language,
    Text,
)
from monitor.demo.scenario import (
    EXPECTED,
    LISTING_PAGE_SIZE,
    NOTES,
    ROUNDS,
    SCENARIO,
    listing_pages,
    listing_paths,
    published,
    step,
)

__all__ = [
    "EXPECTED",
    "LISTING_PAGE_SIZE",
    "NOTES",
    "PAGE_PATHS",
    "ROUNDS",
    "SCENARIO",
    "DemoSite",
    "Noise",
    "Response",
    "listing_pages",
    "listing_paths",
    "main",
]

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"

PAGE_PATHS: dict[str, str] = {
    "home": "/",
    "news": "/en/news/",
    **{name: article.path for name, article in ARTICLES.items()},
}
"""Logical page name -> path on the site (the keys of ``EXPECTED``)."""

_ARTICLES_BY_PATH: dict[str, Article] = {article.path: article for article in ARTICLES.values()}
_NEWS_PATH = "/en/news/"
_SEARCH_PATH = "/en/search/"
_RELATED_COUNT = 4
_CLOCK_START = datetime.datetime(2022, 12, 19, 8, 0, 0)

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Noise:
    """The volatile parts of one response, derived from the site's request counter."""

    serial: int
    working_hours: str
    visitors_today: int
    csrf_token: str
    session_id: str
    asset_version: int
    server_time: str
    server_time_iso: str
    render_ms: int
    node: str

    @classmethod
    def for_request(cls, serial: int) -> Noise:
        """The noise of request number ``serial`` (0, 1, 2 ...); consecutive ones always differ."""
        digest = hashlib.sha256(f"demo-request-{serial}".encode()).hexdigest()
        # The opening minute alternates with every request, so two consecutive pages never agree.
        opens = f"{8 + serial % 3:02d}.{(serial % 2) * 30:02d}"
        closes = f"{14 + (serial // 2) % 4:02d}.{((serial // 3) % 2) * 30:02d}"
        moment = _CLOCK_START + datetime.timedelta(seconds=37 * serial)
        return cls(
            serial=serial,
            working_hours=f"{opens}-{closes}",
            visitors_today=1187 + 3 * serial,
            csrf_token=digest[:32],
            session_id=digest[32:56],
            asset_version=1670000000 + 7 * serial,
            server_time=moment.strftime("%d.%m.%Y %H:%M:%S"),
            server_time_iso=moment.isoformat(),
            render_ms=12 + (serial * 17) % 90,
            node=f"web-{1 + serial % 3}",
        )


@dataclass
class Response:
    """What the site answers to one request: status, headers and body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of the first header called ``name`` (case-insensitive), if any."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class _Link:
    """An article link as listings and the sidebar show it."""

    path: str
    title: str
    date_line: str
    teaser: str = ""


def _require_loopback(host: str) -> None:
    """Refuse to serve on anything but an IPv4 loopback address: this site is a test fixture."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError as error:
        raise ValueError(
            f"demo site host must be a loopback IPv4 address such as 127.0.0.1, not {host!r}"
        ) from error
    if address.version != 4 or not address.is_loopback:
        raise ValueError(
            f"demo site host must be a loopback IPv4 address such as 127.0.0.1, not {host!r}"
        )


def _news_page_url(number: int) -> str:
    return _NEWS_PATH if number == 1 else f"{_NEWS_PATH}?page={number}"


class DemoSite:
    """A local embassy-like site whose content evolves through numbered rounds.

    Use it as a context manager or with ``start()``/``stop()``; ``set_round(n)`` (or
    assigning ``round``) switches the content, also while the server runs. ``respond()``
    builds a response without any socket, which the HTTP handler uses.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        _require_loopback(host)
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._round = 0
        self._served = 0
        self._log: list[tuple[str, str]] = []
        self._server: _DemoServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url = ""

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving in a daemon thread; returns the base URL, e.g. "http://127.0.0.1:PORT"."""
        if self._server is not None:
            return self._base_url
        server = _DemoServer((self.host, self.port), self)
        self.port = server.server_address[1]
        self._base_url = f"http://{self.host}:{self.port}"
        thread = threading.Thread(
            target=server.serve_forever, name=f"demo-site-{self.port}", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        logger.info("Demo site serving on %s (round %d)", self._base_url, self.round)
        return self._base_url

    def stop(self) -> None:
        """Stop serving and drop open connections; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        logger.info("Demo site on %s stopped", self._base_url)

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- state --------------------------------------------------------------------------

    @property
    def round(self) -> int:
        """The current round (0 is the initial state); assigning it calls ``set_round``."""
        with self._lock:
            return self._round

    @round.setter
    def round(self, number: int) -> None:
        self.set_round(number)

    def set_round(self, n: int) -> None:
        """Switch the site to round ``n`` (0 <= n < ROUNDS); takes effect with the next request."""
        if not 0 <= n < ROUNDS:
            raise ValueError(f"round must be between 0 and {ROUNDS - 1}, not {n}")
        with self._lock:
            self._round = n
        logger.debug("Demo site switched to round %d", n)

    @property
    def base_url(self) -> str:
        """The site's root URL without a trailing slash; only known once started."""
        if not self._base_url:
            raise RuntimeError("the demo site has not been started")
        return self._base_url

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request served so far, in order; a copy."""
        with self._lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        """Forget the requests served so far (the noise counter keeps counting)."""
        with self._lock:
            self._log.clear()

    def urls(self) -> dict[str, str]:
        """Logical page name -> absolute URL, for every page named in ``EXPECTED``."""
        return {name: self.base_url + path for name, path in PAGE_PATHS.items()}

    # --- responses ----------------------------------------------------------------------

    def respond(self, method: str, target: str) -> Response:
        """Build the response to one request (``target`` is the path with its query string).

        Counts and logs the request; HEAD gets the same headers as GET (the HTTP handler
        leaves the body out).
        """
        with self._lock:
            serial = self._served
            self._served += 1
            self._log.append((method, target))
            round_number = self._round
        noise = Noise.for_request(serial)
        response = _Renderer(round_number, noise).route(target)
        response.headers += [
            ("Cache-Control", "no-cache, must-revalidate"),
            ("X-Request-Id", f"{serial:08d}"),
            ("Set-Cookie", f"PHPSESSID={noise.session_id}; path=/; HttpOnly"),
        ]
        return response


class _Renderer:
    """Renders one request's response for a given round and noise."""

    def __init__(self, round_number: int, noise: Noise) -> None:
        self.round = round_number
        self.noise = noise

    def route(self, target: str) -> Response:
        """Dispatch a request target to the page that answers it."""
        parts = urlsplit(target)
        path = parts.path or "/"
        query = parse_qs(parts.query)
        if path == "/":
            return self.home()
        if path == _NEWS_PATH:
            return self.news(query.get("page", ["1"])[0])
        if path in _ARTICLES_BY_PATH:
            return self.article(_ARTICLES_BY_PATH[path])
        if path == _SEARCH_PATH:
            return self.search(query.get("q", [""])[0])
        if path == "/robots.txt":
            return _plain(ROBOTS_TXT, "text/plain; charset=utf-8")
        if path == "/static/app.js":
            return _plain(APP_JS, "application/javascript; charset=utf-8")
        if path == "/static/style.css":
            return _plain(STYLE_CSS, "text/css; charset=utf-8")
        if path == "/private" or path.startswith("/private/"):
            return self.text_page("en", "Staff area", PRIVATE_TEXT, ())
        for language in ("en", "ru"):
            for label, href in CHROME[language].menu:
                if path == href:
                    return self.text_page(
                        language, label, (f"{label}: this section is not part of the demo.",), ()
                    )
        return self.not_found("en", status=404)

    # --- pages ----------------------------------------------------------------------------

    def home(self) -> Response:
        chrome = CHROME["en"]
        latest = [
            self._link(article, text, chrome)
            for article, text in published(self.round)[:LISTING_PAGE_SIZE]
        ]
        russian = [
            self._link(article, text, CHROME["ru"]) for article, text in published(self.round, "ru")
        ]
        html = self._render(
            "listing.html",
            "en",
            page_title=chrome.home,
            body_class="page-home",
            active_menu="/",
            breadcrumb=(),
            canonical="/",
            heading="Welcome to the website of the Embassy",
            intro=HOME_WELCOME["en"],
            items=latest,
            other_items=russian,
            other_heading="Publications in Russian",
            page=1,
            pages=1,
        )
        return _html(200, html, "utf-8", charset_in_header=True)

    def news(self, page_text: str) -> Response:
        chrome = CHROME["en"]
        pages = listing_pages(self.round)
        page = int(page_text) if page_text.isdigit() else 1
        if not 1 <= page <= pages:
            return self.not_found("en", status=404)
        start = (page - 1) * LISTING_PAGE_SIZE
        window = published(self.round)[start : start + LISTING_PAGE_SIZE]
        items = [self._link(article, text, chrome, teaser=True) for article, text in window]
        html = self._render(
            "listing.html",
            "en",
            page_title=chrome.news if page == 1 else f"{chrome.news} - page {page}",
            body_class="page-news",
            active_menu=_NEWS_PATH,
            breadcrumb=((chrome.news, None),),
            canonical=_news_page_url(page),
            heading=chrome.news,
            intro=(),
            items=items,
            other_items=(),
            other_heading="",
            page=page,
            pages=pages,
        )
        return _html(200, html, "utf-8", charset_in_header=True)

    def article(self, article: Article) -> Response:
        current = step(article.name, self.round)
        if current.state in ("absent", "not-found"):
            return self.not_found(article.language, status=404, encoding=article.encoding)
        if current.state == "soft-not-found":
            return self.not_found(article.language, status=200, encoding=article.encoding)
        if current.state == "redirect-home":
            body = _environment.get_template("redirect.html").render()
            return Response(
                302, [("Content-Type", "text/html"), ("Location", "/")], body.encode("ascii")
            )
        if current.state == "unavailable":
            body = _environment.get_template("unavailable.html").render()
            return Response(
                503, [("Content-Type", "text/html"), ("Retry-After", "1")], body.encode("ascii")
            )
        chrome = CHROME[article.language]
        text = article.text(current.version)
        html = self._render(
            "article.html",
            article.language,
            encoding=article.encoding,
            meta_charset=article.meta_charset,
            page_title=text.title,
            body_class="page-news-item",
            active_menu=_NEWS_PATH,
            breadcrumb=((chrome.news, _NEWS_PATH), (text.title, None)),
            canonical=article.path,
            exclude=article.path,
            text=text,
            layout=current.layout,
            date_line=chrome.date_line(article.date),
            date_iso=article.date.isoformat(),
        )
        return _html(200, html, article.encoding, charset_in_header=article.charset_in_header)

    def search(self, query: str) -> Response:
        needle = query.strip().lower()
        found = []
        if needle:
            for language in ("en", "ru"):
                for article, text in published(self.round, language):
                    if needle in text.title.lower() or any(
                        needle in p.lower() for p in text.paragraphs
                    ):
                        found.append(self._link(article, text, CHROME[article.language]))
        paragraphs = (
            (f"Results for “{query}”: {len(found)}.",)
            if needle
            else ("Type a word to search for.",)
        )
        return self.text_page("en", "Search", paragraphs, found)

    def text_page(
        self, language: Language, heading: str, paragraphs: tuple[str, ...], items: object
    ) -> Response:
        html = self._render(
            "text_page.html",
            language,
            page_title=heading,
            body_class="page-text",
            active_menu="",
            breadcrumb=((heading, None),),
            canonical="",
            heading=heading,
            paragraphs=paragraphs,
            items=items,
        )
        return _html(200, html, "utf-8", charset_in_header=True)

    def not_found(self, language: Language, *, status: int, encoding: str = "utf-8") -> Response:
        chrome = CHROME[language]
        html = self._render(
            "not_found.html",
            language,
            encoding=encoding,
            page_title=chrome.not_found_title,
            body_class="page-error",
            active_menu="",
            breadcrumb=((chrome.not_found_title, None),),
            canonical="",
        )
        return _html(status, html, encoding, charset_in_header=True)

    # --- helpers --------------------------------------------------------------------------

    def _link(self, article: Article, text: Text, chrome: Chrome, *, teaser: bool = False) -> _Link:
        return _Link(
            article.path,
            text.title,
            chrome.date_line(article.date),
            text.teaser() if teaser else "",
        )

    def _related(self, language: Language, exclude: str) -> list[_Link]:
        """The sidebar: a window of other articles that moves by one on every request."""
        pool = (
            published(self.round, "ru") + published(self.round)
            if language == "ru"
            else published(self.round)
        )
        links = [
            self._link(article, text, CHROME[language])
            for article, text in pool
            if article.path != exclude
        ]
        if not links:
            return []
        start = self.noise.serial % len(links)
        rotated = links[start:] + links[:start]
        return rotated[:_RELATED_COUNT]

    def _render(
        self,
        template: str,
        language: Language,
        *,
        encoding: str = "utf-8",
        meta_charset: bool = True,
        exclude: str = "",
        **context: Any,
    ) -> str:
        other_language_url = (
            "/ru/news/2022/12/15/garantii-bezopasnosti.html" if language == "en" else "/"
        )
        return _environment.get_template(template).render(
            language=language,
            chrome=CHROME[language],
            noise=self.noise,
            meta_charset=encoding if meta_charset else "",
            related=self._related(language, exclude),
            other_language_url=other_language_url,
            page_url=_news_page_url,
            **context,
        )


def _html(status: int, html: str, encoding: str, *, charset_in_header: bool) -> Response:
    content_type = f"text/html; charset={encoding}" if charset_in_header else "text/html"
    return Response(
        status, [("Content-Type", content_type)], html.encode(encoding, errors="xmlcharrefreplace")
    )


def _plain(text: str, content_type: str) -> Response:
    return Response(200, [("Content-Type", content_type)], text.encode("utf-8"))


class _DemoServer(ThreadingHTTPServer):
    """The HTTP server of one ``DemoSite``: threaded, and able to drop its open connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], site: DemoSite) -> None:
        self.site = site
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down kept-alive connections so that no request is served after ``stop()``."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("Demo site: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Serves GET and HEAD from the ``DemoSite`` that owns the server."""

    protocol_version = "HTTP/1.1"
    server_version = "nginx/1.18.0"
    timeout = 30

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        site = cast(_DemoServer, self.server).site
        response = site.respond(self.command, self.path)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None, *, sleep: Callable[[float], None] = time.sleep) -> int:
    """Serve the demo site until Ctrl-C, for browsing it by hand.

    Example: ``python -m monitor.demo.site --port 8000 --advance-every 60``
    """
    parser = argparse.ArgumentParser(
        prog="python -m monitor.demo.site",
        description="Serve the local embassy-like demo site on a loopback address until Ctrl-C.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback IPv4 address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to bind, 0 for any free port (default 8000)"
    )
    parser.add_argument(
        "--round", type=int, default=0, help=f"round to start in, 0 to {ROUNDS - 1} (default 0)"
    )
    parser.add_argument(
        "--advance-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="move to the next round every SECONDS until the last one (default: never)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        site = DemoSite(args.host, args.port)
        site.set_round(args.round)
    except ValueError as error:
        parser.error(str(error))
    base_url = site.start()
    print(
        f"Demo site on {base_url}/ in round {site.round} of 0-{ROUNDS - 1}; press Ctrl-C to stop."
    )
    for name, url in site.urls().items():
        print(f"  {name:24} {url}")
    try:
        while True:
            sleep(args.advance_every if args.advance_every > 0 else 3600)
            if args.advance_every > 0 and site.round < ROUNDS - 1:
                site.set_round(site.round + 1)
                print(f"Round {site.round}:")
                for name, note in NOTES[site.round].items():
                    print(f"  {name:24} {EXPECTED[site.round][name]:10} {note}")
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
