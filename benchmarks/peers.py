"""Benchmark: ``monitor check`` against urlwatch on the same local site, side by side.

Serves a generated embassy site on 127.0.0.1 (N statements of ~20 KB plus a paginated
listing of them) whose bytes change on every request (CSRF token, script nonce,
cache-busting query, a rotating sidebar, a "Today's working hours" line, a view counter
inside the statement). Between rounds a share of the statements is edited, some are
removed (404) and some are added (both tools get the new URLs). Both tools watch the
same URLs with the same content selectors and the same ignore pattern:

* ``monitor check -c <config> --no-notify`` (this project, from its own virtualenv);
* urlwatch (pinned, installed on first use into ``benchmarks/.peers-venv``, never into
  the project's virtualenv), ``--urls --config --cache`` in a temp dir.

Round 0 is the warm-up (every page's first version); then ``--cycles`` measured rounds.
For each tool and round: wall time, CPU (user + sys of the process tree, from wait4),
peak RSS of the process tree (sampled, and the largest process's high-water mark), the
server's CPU, and what the tool reported (changed / new / error pages), checked against
what the site actually did. The summary gives medians and the ratio ours / urlwatch.

Run from the repository root, with the project's virtualenv active::

    python benchmarks/peers.py --pages 500
    python benchmarks/peers.py --pages 2000 --cycles 3

Only 127.0.0.1 is ever contacted (proxy variables are removed from both tools'
environment). Fetch settings are relaxed for a local site on both sides: no delay,
robots.txt off, no retries, ``--concurrency`` requests in flight (monitor's
``concurrency`` and ``per_domain_concurrency``; urlwatch's thread pool, whose size 2.29
hard-codes as ``urlwatch.worker.MAX_WORKERS = 10``, set by a two-line launcher).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import math
import mmap
import os
import platform
import random
import re
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
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_cycle as cc  # the page vocabulary, the HTTP protocol

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
HOST = "127.0.0.1"
PEERS_VENV = ROOT / "benchmarks" / ".peers-venv"
URLWATCH_VERSION = "2.29"
PER_LISTING_PAGE = 20
ARTICLE_TEXT_BYTES = 11_500  # paragraphs of a statement; the whole page is ~20 KB
ARTICLE_SELECTOR = "article.statement"
LISTING_SELECTOR = "ul.statement-list"
# The view counter inside each statement: both tools are told to ignore it, as a user
# of either would for a site that shows one.
VIEWS_PATTERN = r"Views: [0-9,]+"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")

# urlwatch 2.29 has no option for its thread pool size: set the module constant, then
# run its own entry point unchanged.
URLWATCH_LAUNCHER = (
    "import sys, urlwatch.worker as w; w.MAX_WORKERS = int(sys.argv.pop(1)); "
    "sys.argv[0] = 'urlwatch'; from urlwatch.cli import main; main()"
)

# ``monitor`` under cProfile in every thread (the check runs on the reactor's thread, which
# ``python -m cProfile`` would miss): one .pstats file per thread, written at exit.
PROFILE_LAUNCHER = """
import atexit, cProfile, os, sys, threading
out = sys.argv.pop(1)
profiles = {}
def _start(*_):
    sys.setprofile(None)
    profile = profiles[threading.get_ident()] = cProfile.Profile()
    profile.enable()
threading.setprofile(_start)
main_profile = profiles["main"] = cProfile.Profile()
def _dump():
    main_profile.disable()
    for ident, profile in list(profiles.items()):
        profile.dump_stats(os.path.join(out, f"thread-{ident}.pstats"))
atexit.register(_dump)
sys.argv[0] = "monitor"
main_profile.enable()
from monitor.cli import main
main()
"""

# --------------------------------------------------------------------------------------
# The site: which statements exist, in which version, in each round
# --------------------------------------------------------------------------------------


@dataclass
class RoundPlan:
    """The site in one round: live statements and their versions, and what just changed."""

    number: int
    versions: dict[int, int]  # live statement number -> version (0 = as first published)
    edited: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)  # 404 from this round on
    added: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)  # every statement removed so far


@dataclass
class SitePlan:
    pages: int
    listing_pages: int
    rounds: list[RoundPlan]

    def jobs(self, round_number: int) -> list[tuple[str, str, str]]:
        """(name, path, selector) of what both tools watch in a round.

        The listing pages and every statement ever published: removed ones stay watched
        (nobody edits their list the moment a page disappears); added ones are appended.
        """
        jobs = [
            (f"list-{page:03d}", listing_path(page), LISTING_SELECTOR)
            for page in range(1, self.listing_pages + 1)
        ]
        known: set[int] = set()
        for plan in self.rounds[: round_number + 1]:
            known.update(plan.versions)
            known.update(plan.removed)
        jobs += [(f"s-{n:05d}", statement_path(n), ARTICLE_SELECTOR) for n in sorted(known)]
        return jobs


def plan_site(
    pages: int, cycles: int, edit: float, remove: float, add: float, seed: int
) -> SitePlan:
    rounds = [RoundPlan(0, dict.fromkeys(range(1, pages + 1), 0))]
    next_number = pages + 1
    gone: list[int] = []
    for number in range(1, cycles + 1):
        rng = random.Random(seed * 1_000_003 + number)
        versions = dict(rounds[-1].versions)
        live = sorted(versions)
        removed = sorted(rng.sample(live, min(len(live), round(remove * pages))))
        for statement in removed:
            del versions[statement]
        remaining = sorted(versions)
        edited = sorted(rng.sample(remaining, min(len(remaining), round(edit * pages))))
        for statement in edited:
            versions[statement] += 1
        added = list(range(next_number, next_number + round(add * pages)))
        next_number += len(added)
        versions.update(dict.fromkeys(added, 0))
        gone = sorted([*gone, *removed])
        rounds.append(RoundPlan(number, versions, edited, removed, added, gone))
    return SitePlan(pages, math.ceil(pages / PER_LISTING_PAGE), rounds)


def statement_path(number: int) -> str:
    return f"/en/press/statements/{number:05d}.html"


def listing_path(page: int) -> str:
    return "/en/press/statements/" + (f"?page={page}" if page > 1 else "")


def listing_entries(plan: RoundPlan, page: int) -> list[int]:
    newest_first = sorted(plan.versions, reverse=True)
    return newest_first[(page - 1) * PER_LISTING_PAGE : page * PER_LISTING_PAGE]


def expected_changes(site: SitePlan, round_number: int) -> dict[str, int]:
    """What a correct tool reports in a round: changed, new and failing pages."""
    plan = site.rounds[round_number]
    if round_number == 0:
        return {"changed": 0, "new": len(site.jobs(0)), "error": 0}
    before = site.rounds[round_number - 1]
    listings = sum(
        listing_entries(plan, page) != listing_entries(before, page)
        for page in range(1, site.listing_pages + 1)
    )
    return {
        "changed": len(plan.edited) + listings,
        "new": len(plan.added),
        "error": len(plan.gone),
        "removed now": len(plan.removed),
    }


# --------------------------------------------------------------------------------------
# Rendering: pages with noise slots, filled per request by the server
# --------------------------------------------------------------------------------------

SLOTS = ("csrf", "nonce", "bust", "views", "hours", "sidebar", "serial")
_SLOT_RE = re.compile(rb"\x01(" + b"|".join(s.encode() for s in SLOTS) + rb")\x01")
SENTINEL = {slot: f"\x01{slot}\x01" for slot in SLOTS}
SITE_NAME = "Embassy of the Republic of Norland in Valmora"
HOURS = [
    "Today's working hours: 09:00 – 13:00 (consular section), 09:00 – 17:30 (chancery)",
    "Today's working hours: 09:00 – 12:30 (consular section), 09:00 – 17:30 (chancery)",
    "Today's working hours: 10:00 – 13:00 (consular section), 09:00 – 16:00 (chancery)",
    "Today's working hours: closed (public holiday); emergency line open",
    "Today's working hours: 09:00 – 13:00 (consular section, by appointment only)",
    "Today's working hours: 14:00 – 17:00 (consular section), 09:00 – 17:30 (chancery)",
    "Today's working hours: 09:00 – 11:00 (document pick-up only)",
]


def statement_title(number: int) -> str:
    return f"{cc.TOPICS[number % len(cc.TOPICS)]} (statement no. {number})"


def statement_date(number: int) -> datetime.date:
    return datetime.date(2022, 1, 1) + datetime.timedelta(hours=number * 9)


def statement_lead(number: int) -> str:
    return cc._sentence(random.Random(number * 104_729), number)


def paragraphs_of(number: int, version: int) -> list[str]:
    """The statement's paragraphs; each edit rewrites one of them."""
    rng = random.Random(number * 7919)
    paragraphs: list[str] = []
    used = 0
    while used < ARTICLE_TEXT_BYTES:
        text = " ".join(cc._sentence(rng, number) for _ in range(rng.randrange(2, 5)))
        paragraphs.append(text)
        used += len(text.encode()) + 12
    for edit in range(1, version + 1):
        edit_rng = random.Random(number * 1_000_033 + edit)
        index = edit_rng.randrange(len(paragraphs))
        new_text = " ".join(cc._sentence(edit_rng, number) for _ in range(2))
        paragraphs[index] = f"(Updated, revision {edit}.) {new_text}"
    return paragraphs


def statement_main(number: int, version: int, noise: dict[str, str]) -> str:
    rng = random.Random(number * 613)
    date = statement_date(number)
    paragraphs = paragraphs_of(number, version)
    documents = rng.sample(cc.DOCUMENTS, 4)
    fees = "".join(
        f"    <tr><td>{kind}</td><td>{rng.randrange(10, 150)} EUR</td>"
        f"<td>{rng.randrange(1, 20)} working days</td></tr>\n"
        for kind in ("Passport", "Certificate", "Legalisation", "Visa (type C)")
    )
    middle = len(paragraphs) // 2
    body = [f"   <p>{cc._esc(text)}</p>\n" for text in paragraphs[:middle]]
    body.append("   <h2>Documents required</h2>\n   <ul>\n")
    body += [f"    <li>{cc._esc(doc)};</li>\n" for doc in documents]
    body.append('   </ul>\n   <h2>Fees and processing times</h2>\n   <table class="table">\n')
    body.append("    <thead><tr><th>Service</th><th>Fee</th><th>Processing time</th></tr>")
    body.append(f"</thead>\n    <tbody>\n{fees}    </tbody>\n   </table>\n")
    body += [f"   <p>{cc._esc(text)}</p>\n" for text in paragraphs[middle:]]
    return f"""<main id="content" class="col-md-9">
 <nav class="breadcrumb" aria-label="Breadcrumb"><ol><li><a href="/en/">Home</a></li>
  <li><a href="/en/press/">Press centre</a></li>
  <li><a href="/en/press/statements/">Statements</a></li></ol></nav>
 <article class="statement" itemscope itemtype="https://schema.org/NewsArticle">
  <h1 class="statement__title" itemprop="headline">{cc._esc(statement_title(number))}</h1>
  <p class="statement__meta"><time datetime="{date.isoformat()}">{date:%d %B %Y}</time> ·
   <span class="statement__views">Views: {noise["views"]}</span></p>
  <div class="statement__lead"><p><strong>{cc._esc(statement_lead(number))}</strong></p></div>
  <div class="statement__text" itemprop="articleBody">
{"".join(body)}  </div>
  <div class="statement__tools"><a href="?print=1">Print</a> |
   <a href="https://x.example/share">Share</a></div>
 </article>
</main>
"""


def listing_main(plan: RoundPlan, page: int, pages: int) -> str:
    items = []
    for number in listing_entries(plan, page):
        date = statement_date(number)
        items.append(
            f'  <li><time datetime="{date.isoformat()}">{date:%d.%m.%Y}</time> '
            f'<a href="{statement_path(number)}">{cc._esc(statement_title(number))}</a>\n'
            f'   <p class="lead">{cc._esc(statement_lead(number))}</p></li>\n'
        )
    pager = " ".join(
        f'<a href="{listing_path(other)}"{" aria-current=page" if other == page else ""}>'
        f"{other}</a>"
        for other in range(max(1, page - 3), min(pages, page + 3) + 1)
    )
    return f"""<main id="content" class="col-md-9">
 <h1>Statements and press releases</h1>
 <ul class="statement-list">
{"".join(items)} </ul>
 <nav class="pager" aria-label="Pages">{pager}</nav>
</main>
"""


def page_html(title: str, main: str, noise: dict[str, str]) -> str:
    """A whole page around ``main``: head, header, menu, sidebar, footer, with noise."""
    nav = ['<nav class="main-menu" aria-label="Main menu">\n <ul class="menu">\n']
    for label, items in cc.MENU:
        nav.append(f'  <li class="menu__item has-children"><a href="{items[0][1]}">{label}</a>\n')
        nav.append('   <ul class="submenu">\n')
        nav.extend(f'    <li><a href="{href}">{text}</a></li>\n' for text, href in items)
        nav.append("   </ul>\n  </li>\n")
    nav.append(" </ul>\n</nav>\n")
    return f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{cc._esc(title)} — {SITE_NAME}</title>
<meta name="csrf-token" content="{noise["csrf"]}">
<link rel="icon" href="/static/favicon.ico">
<link rel="stylesheet" href="/static/css/bootstrap.min.css?v=5.3.2">
<link rel="stylesheet" href="/static/css/site.css?_={noise["bust"]}">
<script nonce="{noise["nonce"]}">
window.dataLayer = window.dataLayer || [];
function gtag(){{dataLayer.push(arguments);}}
gtag('js', new Date()); gtag('config', 'G-XXXXXXX', {{'anonymize_ip': true}});
window.__APP__ = {{"lang": "en", "csrf": "{noise["csrf"]}", "request": "{noise["serial"]}"}};
</script>
</head>
<body class="page lang-en">
<!-- request {noise["serial"]} -->
<div class="topbar"><div class="container">
 <p class="topbar__hours">{noise["hours"]}</p>
 <ul class="topbar__links">
  <li><a href="https://www.mfa.example/">Ministry of Foreign Affairs</a></li>
  <li><a href="/en/consular/emergency/">Emergency: +000 123 456 789</a></li></ul>
 <ul class="lang-switch"><li class="active"><a href="/en/">EN</a></li><li><a href="/nl/">NL</a></li>
  <li><a href="/fr/">FR</a></li></ul>
</div></div>
<header class="site-header"><div class="container">
 <a class="logo" href="/en/"><img src="/static/img/coat-of-arms.svg" alt="Coat of arms">
  <span class="logo__title">{SITE_NAME}</span></a>
 <form class="search-form" action="/en/search/" method="get" role="search">
  <input type="hidden" name="csrfmiddlewaretoken" value="{noise["csrf"]}">
  <input type="search" name="q" placeholder="Search the site">
  <button type="submit" class="btn btn-primary">Search</button>
 </form>
</div></header>
{"".join(nav)}<div class="container layout"><div class="row">
{main}{noise["sidebar"]}</div></div>
<footer class="site-footer"><div class="container">
 <p>{SITE_NAME} · Rue de la Loi 155, 1040 Valmora · Tel.: +000 2 123 45 00</p>
 <ul><li><a href="/en/privacy/">Privacy policy</a></li>
  <li><a href="/en/accessibility/">Accessibility statement</a></li></ul>
 <p class="copyright">© 2008–2025 Ministry of Foreign Affairs of the Republic of Norland.</p>
 <form action="/en/newsletter/" method="post">
  <input type="hidden" name="csrfmiddlewaretoken" value="{noise["csrf"]}">
  <input type="email" name="email" placeholder="Your e-mail"><button>Subscribe</button>
 </form>
</div></footer>
<script src="/static/js/jquery.min.js?v=3.7.1"></script>
<script src="/static/js/site.js?_={noise["bust"]}" nonce="{noise["nonce"]}"></script>
<script nonce="{noise["nonce"]}">Site.init({{token: "{noise["csrf"]}"}});</script>
</body>
</html>
"""


def sidebar_variants(pages: int, count: int = 12) -> list[bytes]:
    """Rotating sidebars: related statements and a notice picked at random per request."""
    variants = []
    for index in range(count):
        rng = random.Random(9001 + index)
        related = "".join(
            f'   <li><a href="{statement_path(n)}">{cc._esc(statement_title(n))}</a></li>\n'
            for n in rng.sample(range(1, pages + 1), min(pages, 6))
        )
        notice = cc._esc(cc._sentence(rng, index))
        variants.append(
            f"""<aside class="sidebar col-md-3">
 <div class="widget related"><h3>Related statements</h3>
  <ul>
{related}  </ul></div>
 <div class="widget notice"><h3>Notice</h3><p>{notice}</p></div>
</aside>
""".encode()
        )
    return variants


@dataclass
class Template:
    """A page split around its noise slots: literal, slot name, literal, ..., literal."""

    parts: list[bytes]


def split_template(text: str) -> Template:
    return Template(_SLOT_RE.split(text.encode()))


def build_site(site: SitePlan) -> list[dict[bytes, Template]]:
    """Every round's pages as templates (a statement version is rendered once)."""
    by_version: dict[tuple[int, int], Template] = {}
    rounds: list[dict[bytes, Template]] = []
    for plan in site.rounds:
        pages: dict[bytes, Template] = {}
        for number, version in plan.versions.items():
            template = by_version.get((number, version))
            if template is None:
                main = statement_main(number, version, SENTINEL)
                template = split_template(page_html(statement_title(number), main, SENTINEL))
                by_version[(number, version)] = template
            pages[statement_path(number).encode()] = template
        for page in range(1, site.listing_pages + 1):
            main = listing_main(plan, page, site.listing_pages)
            title = f"Statements, page {page}"
            pages[listing_path(page).encode()] = split_template(page_html(title, main, SENTINEL))
        rounds.append(pages)
    return rounds


FIXED_NOISE = {
    "csrf": "c3a1f0e4b1d24a7f9e8d6c5b4a392817f6e5d4c3",
    "nonce": "c3a1f0e4b1d24a7f",
    "bust": "1764590400001",
    "views": "1,024",
    "hours": HOURS[0],
    "serial": "1",
}


def example_page(site: SitePlan, round_number: int, path: str) -> str | None:
    """One page as served in a round (with fixed noise), for --show-page and sizes."""
    plan = site.rounds[round_number]
    noise = {**FIXED_NOISE, "sidebar": sidebar_variants(site.pages)[0].decode()}
    for number, version in plan.versions.items():
        if statement_path(number) == path:
            return page_html(statement_title(number), statement_main(number, version, noise), noise)
    for page in range(1, site.listing_pages + 1):
        if listing_path(page) == path:
            main = listing_main(plan, page, site.listing_pages)
            return page_html(f"Statements, page {page}", main, noise)
    return None


# --------------------------------------------------------------------------------------
# The server: forked asyncio workers sharing the port (SO_REUSEPORT); the round is a
# number in shared memory that the orchestrator sets between rounds
# --------------------------------------------------------------------------------------


class SiteResponder:
    """Fills the current round's page with fresh noise on every request."""

    def __init__(
        self, rounds: list[dict[bytes, Template]], sidebars: list[bytes], shared: mmap.mmap
    ) -> None:
        self.rounds, self.sidebars, self.shared = rounds, sidebars, shared
        self.serial = 0
        self.pid = os.getpid()
        self.hours = [line.encode() for line in HOURS]

    def respond(self, path: bytes) -> bytes:
        self.serial += 1
        served_slot = 8 * (1 + self.slot)
        struct.pack_into("q", self.shared, served_slot, self.serial)
        round_number = struct.unpack_from("q", self.shared, 0)[0]
        template = self.rounds[round_number].get(path)
        if template is None:
            return NOT_FOUND
        token = hashlib.sha1(f"{self.pid}:{self.serial}".encode()).hexdigest()
        serial = self.serial
        values = {
            b"csrf": token.encode(),
            b"nonce": token[:16].encode(),
            b"bust": str(1_764_590_400_000 + serial).encode(),
            b"views": f"{1000 + serial * 7:,}".encode(),
            b"hours": self.hours[serial % len(self.hours)],
            b"sidebar": self.sidebars[serial % len(self.sidebars)],
            b"serial": f"{self.pid}-{serial}".encode(),
        }
        parts = template.parts
        body = b"".join(part if i % 2 == 0 else values[part] for i, part in enumerate(parts))
        headers = [
            ("Cache-Control", "no-cache, private"),
            ("Set-Cookie", f"sessionid={token}; Path=/; HttpOnly; SameSite=Lax"),
            ("ETag", f'W/"{token[:20]}"'),
        ]
        return cc._response(200, body, headers)

    slot = 0


NOT_FOUND = cc._response(
    404,
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
    b"<h1>Page not found</h1><p>The page you requested does not exist.</p></body></html>",
    [],
)


def _serve_worker(
    port: int,
    rounds: list[dict[bytes, Template]],
    sidebars: list[bytes],
    shared: mmap.mmap,
    slot: int,
    ready: int,
) -> None:
    import asyncio

    parent = os.getppid()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((HOST, port))
    sock.listen(1024)
    sock.setblocking(False)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        responder = SiteResponder(rounds, sidebars, shared)
        responder.slot = slot
        server = await loop.create_server(lambda: cc.HttpProtocol(responder), sock=sock)  # type: ignore[arg-type]
        os.write(ready, b"1")
        os.close(ready)
        async with server:
            while os.getppid() == parent:  # the server's parent died: stop
                await asyncio.sleep(1.0)

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(serve())
    os._exit(0)


def serve_main(args: argparse.Namespace) -> None:
    """The server process: forks workers, prints 'READY pid...', then reads commands.

    ``ROUND k`` switches every worker to round k (answers ``OK k``); ``SERVED`` answers
    the number of requests served so far; EOF or SIGTERM stops the workers.
    """
    site = plan_site(args.pages, args.cycles, args.edit, args.remove, args.add, args.seed)
    rounds = build_site(site)
    sidebars = sidebar_variants(args.pages)
    shared = mmap.mmap(-1, 8 * (1 + args.server_workers))
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
    for slot in range(args.server_workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            try:
                _serve_worker(args.internal_port, rounds, sidebars, shared, slot, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        children.append(pid)
        if os.read(read_end, 1) != b"1":
            print("ERROR worker failed to start", flush=True)
            stop()
        os.close(read_end)
    print("READY", *children, flush=True)
    for line in sys.stdin:
        command = line.split()
        if command[:1] == ["ROUND"]:
            struct.pack_into("q", shared, 0, int(command[1]))
            print("OK", command[1], flush=True)
        elif command[:1] == ["SERVED"]:
            served = sum(
                struct.unpack_from("q", shared, 8 * (1 + slot))[0]
                for slot in range(args.server_workers)
            )
            print("SERVED", served, flush=True)
    stop()


class SiteServer:
    """The server process, as the orchestrator sees it."""

    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.port = port
        command = [sys.executable, str(SCRIPT), "--internal-serve", "--internal-port", str(port)]
        for option in ("pages", "cycles", "edit", "remove", "add", "seed", "server_workers"):
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        line = self._read(timeout=300)
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"the site server did not start: {line.strip() or 'timeout'}")
        self.worker_pids = [int(pid) for pid in line.split()[1:]]

    def _read(self, timeout: float) -> str:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if readable else ""

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read(timeout=30).strip()

    def set_round(self, number: int) -> None:
        if self._ask(f"ROUND {number}") != f"OK {number}":
            raise RuntimeError("the site server did not switch rounds")

    def served(self) -> int:
        answer = self._ask("SERVED").split()
        return int(answer[1]) if len(answer) == 2 else 0

    def cpu(self) -> float:
        return sum(_proc_cpu(pid) for pid in self.worker_pids)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in getattr(self, "worker_pids", []):  # normally gone already
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.process.stdout is not None:
            self.process.stdout.close()


# --------------------------------------------------------------------------------------
# Measuring one run of a tool: wall, CPU of the process tree, peak RSS of the tree
# --------------------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (from /proc/PID/task/TID/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{current}/task/{task}/children").read_text()
                    queue.extend(int(child) for child in text.split())
    return found


def _rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


@dataclass
class Measurement:
    wall: float
    cpu: float  # user + sys of the process and its waited-for descendants
    peak_mb: float  # max(sampled RSS sum of the tree, the largest process's VmHWM)
    exit_code: int
    server_cpu: float = 0.0
    requests: int = 0


def measure(
    command: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    stdout: Path,
    stderr: Path,
    timeout: float,
) -> Measurement:
    """Run ``command`` to completion; its wall time, CPU and peak memory."""
    peak = 0.0
    stop = threading.Event()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )

        def sample() -> None:
            nonlocal peak
            while not stop.wait(0.05):
                peak = max(peak, sum(_rss_mb(pid) for pid in _tree(process.pid)))

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the tool's own process group

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            wall = time.perf_counter() - started
            timer.cancel()
            stop.set()
            sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(wall, cpu, max(peak, usage.ru_maxrss / 1024.0), process.returncode)


def tool_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in PROXY_VARIABLES and key.lower() != "no_proxy"
    }
    env.update(HOME=str(home), NO_PROXY="*", no_proxy="*", XDG_CONFIG_HOME=str(home / ".config"))
    env.update(XDG_CACHE_HOME=str(home / ".cache"), PYTHONDONTWRITEBYTECODE="1")
    return env


# --------------------------------------------------------------------------------------
# The two tools
# --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a tool said about a round: pages changed, new, failing (and its own words)."""

    changed: int | None = None
    new: int | None = None
    error: int | None = None
    removed_now: int | None = None
    text: str = ""


class Monitor:
    name = "monitor"

    def __init__(self, args: argparse.Namespace, workdir: Path, port: int) -> None:
        self.args, self.port = args, port
        self.dir = workdir / "monitor"
        self.dir.mkdir()
        executable = Path(sys.executable).with_name("monitor")
        self.command = (
            [str(executable)] if executable.exists() else [sys.executable, "-m", "monitor"]
        )

    def version(self) -> str:
        from monitor import __version__

        return f"monitor {__version__} ({' '.join(self.command)})"

    def prepare(self, jobs: list[tuple[str, str, str]], folder: Path | None = None) -> list[str]:
        args = self.args
        folder = folder or self.dir
        detect: dict[str, Any] = {}
        if args.confirm_removal_after is not None:
            detect["confirm_removal_after"] = args.confirm_removal_after
        if args.probe_delay is not None:
            detect["probe_delay"] = args.probe_delay
        config = {
            "database": f"sqlite:///{folder / 'monitor.db'}",
            "fetch": {
                "delay": 0,
                "obey_robots": False,
                "concurrency": args.concurrency,
                "per_domain_concurrency": args.concurrency,
                "retries": 0,
                "timeout": 30,
            },
            "detect": detect,
            "defaults": {"ignore": [VIEWS_PATTERN], "notify": ["bench-hook"]},
            # Events are queued in the outbox as usual; --no-notify leaves them there, so
            # nothing is ever sent (the URL is never contacted).
            "channels": {"bench-hook": {"type": "webhook", "url": f"http://{HOST}:9/never"}},
            "archive": {"warc_dir": str(folder / "warc")},
            "targets": [
                {"name": name, "url": f"http://{HOST}:{self.port}{path}", "selector": f"css:{sel}"}
                for name, path, sel in jobs
            ],
        }
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return [*self.command, "check", "-c", str(path), "--no-notify"]

    def profile(self, jobs: list[tuple[str, str, str]], state: Path, workdir: Path) -> Path:
        """Run a check under cProfile on a copy of ``state`` (a monitor folder); returns
        the folder of per-thread .pstats files."""
        folder = workdir / "monitor-profiled"
        shutil.copytree(state, folder)
        out = workdir / "profile"
        out.mkdir()
        command = self.prepare(jobs, folder)
        command = [sys.executable, "-c", PROFILE_LAUNCHER, str(out), *command[-4:]]
        err = workdir / "monitor-profiled.err"
        run = measure(
            command,
            tool_env(workdir / "home"),
            folder,
            workdir / "monitor-profiled.out",
            err,
            self.args.tool_timeout,
        )
        if run.exit_code != 0:
            tail = "\n".join(err.read_text(errors="replace").strip().splitlines()[-20:])
            raise RuntimeError(f"the profiled monitor check failed:\n{tail}")
        return out

    @staticmethod
    def outcome(stdout: str) -> Outcome:
        # The summary line ("checked N: ..."), not the progress lines ("checked 95/525 pages").
        line = next(
            (ln for ln in reversed(stdout.splitlines()) if re.match(r"checked \d+:", ln)), ""
        )
        if not line:
            return Outcome(text=stdout.strip()[-200:])

        counts = line.partition("; events:")[0]

        def number(pattern: str) -> int:
            match = re.search(pattern, counts)
            return int(match.group(1)) if match else 0

        events = dict(
            (kind, int(n))
            for n, kind in re.findall(r"(\d+) ([a-z]+)", line.partition("events:")[2])
        )
        return Outcome(
            changed=events.get("changed", 0),
            new=number(r"(\d+) first captures"),
            # Every page that answered "not found" counts as an error, as urlwatch counts it.
            error=number(r"(\d+) errors")
            + number(r"(\d+) removed(?!\w)")
            + number(r"(\d+) still removed")
            + number(r"(\d+) not found but not confirmed yet"),
            removed_now=events.get("removed", 0),
            text=line,
        )


class Urlwatch:
    name = "urlwatch"

    def __init__(self, args: argparse.Namespace, workdir: Path, port: int) -> None:
        self.args, self.port = args, port
        self.dir = workdir / "urlwatch"
        self.dir.mkdir()
        self.python = ensure_urlwatch(Path(args.peers_venv), args.urlwatch_version)
        config = {
            "display": {"new": True, "error": True, "unchanged": False, "empty-diff": True},
            # The report goes to stdout, which is a file in the temp dir: nothing is sent.
            "report": {"stdout": {"enabled": True, "color": False}},
        }
        (self.dir / "urlwatch.yaml").write_text(yaml.safe_dump(config))

    def version(self) -> str:
        done = subprocess.run(
            [str(self.python), "-c", "import urlwatch; print(urlwatch.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        )
        return f"urlwatch {done.stdout.strip()} ({self.python}; {self.args.concurrency} threads)"

    def prepare(self, jobs: list[tuple[str, str, str]]) -> list[str]:
        documents = [
            {
                "name": name,
                "url": f"http://{HOST}:{self.port}{path}",
                "filter": [{"css": selector}, "html2text", {"re.sub": VIEWS_PATTERN}],
            }
            for name, path, selector in jobs
        ]
        urls = self.dir / "urls.yaml"
        urls.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return [
            str(self.python),
            "-c",
            URLWATCH_LAUNCHER,
            str(self.args.concurrency),
            "--urls",
            str(urls),
            "--config",
            str(self.dir / "urlwatch.yaml"),
            "--cache",
            str(self.dir / "cache.db"),
            "--hooks",
            str(self.dir / "hooks.py"),  # absent: no hooks
        ]

    @staticmethod
    def outcome(stdout: str) -> Outcome:
        kinds = re.findall(r"^\s*\d+\. (NEW|CHANGED|ERROR|UNCHANGED): ", stdout, re.MULTILINE)
        counts = {kind: kinds.count(kind) for kind in ("NEW", "CHANGED", "ERROR")}
        return Outcome(
            changed=counts["CHANGED"],
            new=counts["NEW"],
            error=counts["ERROR"],
            text=", ".join(f"{n} {kind.lower()}" for kind, n in counts.items()),
        )


class ScrapyFloor:
    """Not a peer: a process that only fetches the round's URLs with Scrapy
    (``scrapy_floor.py``), the least any Scrapy-based check can take."""

    name = "scrapy"

    def __init__(self, args: argparse.Namespace, workdir: Path, port: int) -> None:
        self.args, self.port = args, port
        self.dir = workdir / "scrapy-floor"
        self.dir.mkdir()

    def version(self) -> str:
        import scrapy

        return f"Scrapy {scrapy.__version__} alone (benchmarks/scrapy_floor.py): the floor"

    def prepare(self, jobs: list[tuple[str, str, str]]) -> list[str]:
        urls = self.dir / "urls.txt"
        urls.write_text("".join(f"http://{HOST}:{self.port}{path}\n" for _, path, _ in jobs))
        script = Path(__file__).with_name("scrapy_floor.py")
        return [sys.executable, str(script), str(self.args.concurrency), str(urls)]

    @staticmethod
    def outcome(stdout: str) -> Outcome:
        line = next((ln for ln in stdout.splitlines() if ln.startswith("fetched ")), "")
        return Outcome(text=line or stdout.strip()[-200:])


def ensure_urlwatch(folder: Path, version: str) -> Path:
    """urlwatch ``version`` in its own virtualenv at ``folder`` (created once, reused)."""
    python = folder / "bin" / "python"
    if python.exists():
        done = subprocess.run(
            [str(python), "-c", "import urlwatch; print(urlwatch.__version__)"],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0 and done.stdout.strip() == version:
            return python
    else:
        print(f"creating {folder} for urlwatch {version} (once)", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, f"urlwatch=={version}"], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"installing urlwatch {version} into {folder} failed:\n{tail}")
    return python


# --------------------------------------------------------------------------------------
# The orchestrator
# --------------------------------------------------------------------------------------


@dataclass
class Row:
    round: int
    tool: str
    jobs: int
    run: Measurement
    outcome: Outcome
    expected: dict[str, int]
    load: float

    @property
    def rate(self) -> float:
        return self.jobs / self.run.wall if self.run.wall else 0.0

    def verdict(self) -> str:
        o, e = self.outcome, self.expected
        wrong = [
            f"{key} {got} != {e[key]}"
            for key, got in (("changed", o.changed), ("new", o.new), ("error", o.error))
            if got is not None and got != e[key]
        ]
        removals = e.get("removed now")
        if self.tool == "monitor" and removals is not None and o.removed_now != removals:
            wrong.append(f"removed {o.removed_now} != {e['removed now']}")
        return "ok" if not wrong else "MISMATCH " + "; ".join(wrong)


def run_round(
    tool: Monitor | Urlwatch | ScrapyFloor,
    server: SiteServer,
    site: SitePlan,
    round_number: int,
    workdir: Path,
    args: argparse.Namespace,
) -> Row:
    jobs = site.jobs(round_number)
    command = tool.prepare(jobs)
    out = workdir / f"{tool.name}-{round_number}.out"
    err = workdir / f"{tool.name}-{round_number}.err"
    load = os.getloadavg()[0]
    cpu0, served0 = server.cpu(), server.served()
    run = measure(command, tool_env(workdir / "home"), tool.dir, out, err, args.tool_timeout)
    run.server_cpu, run.requests = server.cpu() - cpu0, server.served() - served0
    outcome = tool.outcome(out.read_text(errors="replace"))
    if run.exit_code != 0 and outcome.changed is None:
        tail = "\n".join(err.read_text(errors="replace").strip().splitlines()[-20:])
        raise RuntimeError(f"{tool.name} failed in round {round_number} ({run.exit_code}):\n{tail}")
    expected = expected_changes(site, round_number)
    return Row(round_number, tool.name, len(jobs), run, outcome, expected, load)


def print_rows(rows: Sequence[Row]) -> None:
    header = (
        f"{'round':<6} {'tool':<9} {'pages':>5} {'requests':>8} {'wall s':>7} {'pages/s':>7} "
        f"{'CPU s':>6} {'ms CPU/pg':>9} {'peak MB':>7} {'srv CPU s':>9} {'load':>5}  reported"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        run = row.run
        label = "warm" if row.round == 0 else str(row.round)
        o = row.outcome
        said = f"changed {o.changed}, new {o.new}, failing {o.error}"
        if row.tool == ScrapyFloor.name:
            said = o.text
        print(
            f"{label:<6} {row.tool:<9} {row.jobs:>5} {run.requests:>8} {run.wall:>7.2f} "
            f"{row.rate:>7.0f} {run.cpu:>6.2f} {1000 * run.cpu / row.jobs:>9.2f} "
            f"{run.peak_mb:>7.0f} {run.server_cpu:>9.2f} {row.load:>5.2f}  {said}: {row.verdict()}"
        )


def print_summary(rows: Sequence[Row], goal: float) -> None:
    measured = [row for row in rows if row.round > 0]

    def median(tool: str, value: Any) -> float:
        return statistics.median(value(row) for row in measured if row.tool == tool)

    print(f"\nmedians of the {len({row.round for row in measured})} measured rounds:")
    print(f"{'':<9} {'wall s':>7} {'pages/s':>7} {'CPU s':>6} {'ms CPU/pg':>9} {'peak MB':>7}")
    values: dict[str, dict[str, float]] = {}
    for tool in ("monitor", "urlwatch"):
        values[tool] = {
            "wall": median(tool, lambda r: r.run.wall),
            "rate": median(tool, lambda r: r.rate),
            "cpu": median(tool, lambda r: r.run.cpu),
            "cpu_page": median(tool, lambda r: 1000 * r.run.cpu / r.jobs),
            "peak": max(r.run.peak_mb for r in measured if r.tool == tool),
        }
        v = values[tool]
        print(
            f"{tool:<9} {v['wall']:>7.2f} {v['rate']:>7.0f} {v['cpu']:>6.2f} "
            f"{v['cpu_page']:>9.2f} {v['peak']:>7.0f}"
        )
    ours, theirs = values["monitor"], values["urlwatch"]
    ratio = ours["wall"] / theirs["wall"]
    verdict = "goal met" if ratio <= goal else f"goal (<= {goal}) not met"
    print(
        f"\nratio ours / urlwatch: wall {ratio:.2f} ({verdict}), CPU "
        f"{ours['cpu'] / theirs['cpu']:.2f}, peak memory {ours['peak'] / theirs['peak']:.2f}"
    )
    floor = [row.run.wall for row in measured if row.tool == ScrapyFloor.name]
    if floor:
        wall = statistics.median(floor)
        print(
            f"floor: Scrapy alone fetching the same pages (a process that starts, imports "
            f"Scrapy and fetches; nothing parsed or stored) {wall:.2f} s = "
            f"{wall / theirs['wall']:.2f} x urlwatch; monitor = {ours['wall'] / wall:.2f} x "
            "the floor"
        )
    problems = [row for row in rows if row.verdict() != "ok"]
    for row in problems:
        print(f"NOTE: round {row.round}, {row.tool}: {row.verdict()} (expected {row.expected})")


def profile_breakdown(folder: Path, pages: int) -> list[str]:
    """The profiled run's time per stage (reactor thread) and the main thread's share."""
    import io
    import pstats

    reactor, main = None, folder / "thread-main.pstats"
    for path in sorted(folder.glob("thread-*.pstats")):
        funcs = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
        if any(f[0].endswith("monitor/check/sink.py") and f[2] == "accept" for f in funcs):
            reactor = path
    if reactor is None:
        return ["\n(the profile has no thread that ran the crawl)"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        title = "monitor check, round 1 again under cProfile"
        cc.print_stage_breakdown(reactor, pages, title, None)
    lines = buffer.getvalue().splitlines()
    if main.exists():
        stats = pstats.Stats(str(main)).stats  # type: ignore[attr-defined]
        waiting = sum(e[2] for f, e in stats.items() if "acquire" in f[2] or "sleep" in f[2])
        busy = sum(e[2] for e in stats.values()) - waiting
        imports = sum(
            e[3] for f, e in stats.items() if f[2] == "_find_and_load" and f[0].startswith("<")
        )
        lines.append(
            f"main thread (start-up, config, database open, exit): {busy:.3f} s busy, of which "
            f"imports ~{imports:.3f} s (profiled; it waits for the reactor thread meanwhile)"
        )
    return lines


def orchestrate(args: argparse.Namespace) -> int:
    site = plan_site(args.pages, args.cycles, args.edit, args.remove, args.add, args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="monitor-peers-"))
    (workdir / "home").mkdir()
    holder = cc.reserve_port()
    port = holder.getsockname()[1]
    server: SiteServer | None = None
    rows: list[Row] = []
    breakdown: list[str] = []
    try:
        tools: list[Monitor | Urlwatch | ScrapyFloor] = [
            Monitor(args, workdir, port),
            Urlwatch(args, workdir, port),
        ]
        if args.floor:
            tools.append(ScrapyFloor(args, workdir, port))
        sizes = [len((example_page(site, 0, statement_path(n)) or "").encode()) for n in (1, 2, 3)]
        print(f"peers benchmark: {args.pages} statements + {site.listing_pages} listing pages")
        print(
            f"  site: statements ~{statistics.mean(sizes) / 1000:.0f} KB; fresh noise on every "
            "request (CSRF token, nonce, cache-busting query, rotating sidebar, working hours, "
            "view counter in the statement)"
        )
        print(
            f"  per round: {args.edit:.0%} edited, {args.remove:.0%} removed (404), "
            f"{args.add:.0%} added (appended to both tools' lists); warm-up, then "
            f"{args.cycles} measured rounds"
        )
        print(
            f"  both: selectors css:{ARTICLE_SELECTOR} / css:{LISTING_SELECTOR}, ignore "
            f"{VIEWS_PATTERN!r}, {args.concurrency} requests in flight, no delay, no robots.txt"
        )
        detect = ", ".join(
            f"{name} {value}s"
            for name, value in (
                ("confirm_removal_after", args.confirm_removal_after),
                ("probe_delay", args.probe_delay),
            )
            if value is not None
        )
        print(f"  {tools[0].version()}; detect: {detect or 'defaults'}; SQLite, WARC on, outbox")
        print(f"  {tools[1].version()}; report: stdout to a file")
        if args.floor:
            print(f"  {tools[2].version()}")
        print(f"  Python {platform.python_version()}, {os.cpu_count()} CPUs; temp dir {workdir}")
        sys.stdout.flush()
        server = SiteServer(args, port)
        for round_number in range(0, args.cycles + 1):
            server.set_round(round_number)
            order = tools if round_number % 2 == 1 else tools[::-1]
            for tool in order:
                row = run_round(tool, server, site, round_number, workdir, args)
                rows.append(row)
                if round_number == 0 and tool is tools[0] and args.profile_monitor:
                    shutil.copytree(tools[0].dir, workdir / "monitor-after-warm-up")
                label = "warm-up" if round_number == 0 else f"round {round_number}"
                print(
                    f"  {label}: {tool.name:<8} {row.run.wall:6.2f} s, CPU {row.run.cpu:5.2f} s, "
                    f"peak {row.run.peak_mb:4.0f} MB, load {row.load:.2f}; {row.outcome.text}",
                    flush=True,
                )
        if args.profile_monitor and args.cycles:
            print("  profiling monitor on round 1 again (untimed, from the state after warm-up)")
            server.set_round(1)
            monitor = tools[0]
            assert isinstance(monitor, Monitor)
            profiles = monitor.profile(site.jobs(1), workdir / "monitor-after-warm-up", workdir)
            breakdown = profile_breakdown(profiles, len(site.jobs(1)))
    finally:
        if server is not None:
            server.stop()
        holder.close()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nserver: asyncio HTTP/1.1, {args.server_workers} processes, SO_REUSEPORT, on {HOST}")
    print("CPU s = user+sys of the tool's process tree (wait4); peak MB = its RSS high-water")
    print("mark (tree sum sampled every 50 ms, or the largest process's VmHWM if higher);")
    print("srv CPU s = the page server's CPU meanwhile (it shares the CPUs); load = 1-min")
    print("load average before the run; pages/s = pages in the round / wall s\n")
    print_rows(rows)
    if args.cycles:
        print_summary(rows, args.goal)
    for line in breakdown:
        print(line)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (other work competes)")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time monitor check and urlwatch side by side on one local site.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--pages", type=int, default=500, help="statements at the start")
    parser.add_argument("--cycles", type=int, default=3, help="measured rounds after warm-up")
    parser.add_argument("--edit", type=float, default=0.05, help="share edited per round")
    parser.add_argument("--remove", type=float, default=0.01, help="share removed per round")
    parser.add_argument("--add", type=float, default=0.01, help="share added per round")
    parser.add_argument("--seed", type=int, default=13, help="the site's random seed")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--server-workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--confirm-removal-after",
        type=float,
        help="monitor's detect.confirm_removal_after in seconds (default: monitor's own)",
    )
    parser.add_argument(
        "--probe-delay", type=float, help="monitor's detect.probe_delay (default: its own)"
    )
    parser.add_argument("--urlwatch-version", default=URLWATCH_VERSION)
    parser.add_argument("--peers-venv", default=str(PEERS_VENV), help="urlwatch's virtualenv")
    parser.add_argument("--goal", type=float, default=0.5, help="target wall ratio")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="leave out the floor: Scrapy alone fetching the same pages (scrapy_floor.py)",
    )
    parser.add_argument("--tool-timeout", type=float, default=900, help="seconds per tool run")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument(
        "--profile-monitor",
        action="store_true",
        help="after the measured rounds, run monitor's round 1 again under cProfile "
        "(untimed) and print the time per stage",
    )
    parser.add_argument(
        "--show-page",
        metavar="PATH",
        help="print a page as served in round 0, e.g. /en/press/statements/00001.html, and exit",
    )
    hidden = argparse.SUPPRESS
    parser.add_argument("--internal-serve", action="store_true", help=hidden)
    parser.add_argument("--internal-port", type=int, help=hidden)
    args = parser.parse_args(argv)
    if args.pages < PER_LISTING_PAGE or args.cycles < 0 or args.concurrency < 1:
        parser.error(f"--pages must be >= {PER_LISTING_PAGE}, --cycles >= 0, --concurrency >= 1")
    if not all(0 <= share <= 0.5 for share in (args.edit, args.remove, args.add)):
        parser.error("--edit, --remove and --add are shares between 0 and 0.5")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.internal_serve:
        serve_main(args)
        return 0
    if args.show_page:
        site = plan_site(args.pages, args.cycles, args.edit, args.remove, args.add, args.seed)
        page = example_page(site, 0, args.show_page)
        sys.stdout.write(page if page is not None else "404: no such page in round 0\n")
        return 0 if page is not None else 1
    cc._exit_on_sigterm()
    try:
        return orchestrate(args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; the server and temp files were cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
