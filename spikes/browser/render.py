"""Spike for issue 15: scrapy-playwright + Debian's Chromium inside the monitor's reactor.

Every crawl runs through ``AsyncCrawlerRunner`` on ``monitor.reactor`` (the shared
AsyncioSelectorReactor in a background thread), as ``monitor check`` does, so this also
answers whether scrapy-playwright fits that setup. Only 127.0.0.1 is contacted.

    python spikes/browser/render.py demo        # plain + rendered page, raw body kept too
    python spikes/browser/render.py timeout     # a wait condition that never comes true
    python spikes/browser/render.py throughput [--pages 40] [--levels 1,4,8]
    python spikes/browser/render.py crash       # SIGKILL chromium mid-crawl
    python spikes/browser/render.py proxy       # HTTP proxy, auth, headers, cookies
    python spikes/browser/render.py all

Needs the ``browser`` extra (scrapy-playwright) and psutil; /usr/bin/chromium (never
``playwright install``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import scrapy
from scrapy.crawler import AsyncCrawlerRunner
from scrapy_playwright.page import PageMethod

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import itertools

from local_site import Site
from proxy import Proxy, Socks5

from monitor import reactor

CHROMIUM = "/usr/bin/chromium"
LAUNCH_OPTIONS = {
    "executable_path": CHROMIUM,
    "headless": True,
    "args": [
        "--no-sandbox",  # we run as root here; Chromium refuses to start sandboxed as root
        "--disable-gpu",
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--disable-background-networking",  # no calls home (component updates, safe browsing)
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--metrics-recording-only",
        "--no-first-run",
        "--mute-audio",
    ],
}


def settings(concurrency: int = 4, **extra: Any) -> dict[str, Any]:
    """The monitor's relevant Scrapy settings plus the playwright handler for http(s)."""
    base = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "DOWNLOAD_HANDLERS": {
            "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        },
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": LAUNCH_OPTIONS,
        "PLAYWRIGHT_MAX_CONTEXTS": concurrency,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 15_000,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOG_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
    }
    base.update(extra)
    return base


class Recorder(scrapy.Spider):
    """Fetches ``jobs`` (dicts: url, render, context, wait_for, timeout) and records results."""

    name = "recorder"

    def __init__(self, jobs: list[dict[str, Any]], results: list[dict[str, Any]], **kw: Any):
        super().__init__(**kw)
        self.jobs = jobs
        self.results = results

    async def start(self):  # type: ignore[override]
        for job in self.jobs:
            meta: dict[str, Any] = {"job": job, "raw": {}}
            if job.get("proxy"):
                meta["proxy"] = job["proxy"]
            if job.get("render"):
                meta["playwright"] = True
                meta["playwright_context"] = job.get("context", "default")
                if job.get("context_kwargs"):
                    meta["playwright_context_kwargs"] = job["context_kwargs"]
                methods = []
                if job.get("wait_for"):
                    methods.append(
                        PageMethod(
                            "wait_for_selector", job["wait_for"], timeout=job.get("timeout", 5000)
                        )
                    )
                else:
                    meta["playwright_page_goto_kwargs"] = {"wait_until": "networkidle"}
                meta["playwright_page_methods"] = methods
                # The raw response of the navigation, kept beside the rendered DOM.
                meta["playwright_page_event_handlers"] = {"response": raw_keeper(meta["raw"])}
            yield scrapy.Request(
                job["url"],
                meta=meta,
                headers=job.get("headers"),
                callback=self.parse,
                errback=self.failed,
                dont_filter=True,
            )

    def parse(self, response: scrapy.http.Response) -> None:
        job = response.meta["job"]
        raw = response.meta["raw"]
        self.results.append(
            {
                "url": job["url"],
                "ok": True,
                "t": time.perf_counter(),
                "status": response.status,
                "flags": response.flags,
                "statement": statement_of(response),
                "rendered_bytes": len(response.body),
                "raw_bytes": len(raw.get("body", b"")),
                "raw_has_statement": b'class="statement"' in raw.get("body", b""),
                "raw_status": raw.get("status"),
                "body": response.text if job.get("keep_body") else None,
            }
        )

    def failed(self, failure: Any) -> None:
        job = failure.request.meta["job"]
        exc = failure.value
        self.results.append(
            {
                "url": job["url"],
                "ok": False,
                "t": time.perf_counter(),
                "error": f"{type(exc).__module__}.{type(exc).__name__}",
                "message": str(exc).splitlines()[0][:160] if str(exc) else "",
            }
        )


def statement_of(response: scrapy.http.Response) -> str:
    if not isinstance(response, scrapy.http.HtmlResponse):
        return ""
    return " ".join(response.css("article.statement ::text").getall()).strip()


def raw_keeper(store: dict[str, Any]):
    """A page "response" handler that keeps the main document's bytes as served."""

    async def keep(response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame.parent_frame is None:
            try:
                store["status"] = response.status
                store["headers"] = await response.all_headers()
                store["body"] = await response.body()
            except Exception as exc:  # page closed before the body was read
                store["error"] = repr(exc)

    return keep


def crawl(
    jobs: list[dict[str, Any]], concurrency: int = 4, **extra: Any
) -> tuple[list[dict[str, Any]], dict[str, Any], float]:
    results: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}

    async def run() -> None:
        runner = AsyncCrawlerRunner(settings(concurrency, **extra))
        crawler = runner.create_crawler(Recorder)
        await runner.crawl(crawler, jobs=jobs, results=results)
        stats.update(crawler.stats.get_stats())

    start = time.perf_counter()
    reactor.run(run, timeout=600)
    return results, stats, time.perf_counter() - start


# ---------------------------------------------------------------------------------------
# Processes


def chromium_processes() -> list[psutil.Process]:
    """Chromium processes under this process (the Playwright driver's children)."""
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" in child.name():
                found.append(child)
        except psutil.Error:
            continue
    return found


def browser_main(processes: list[psutil.Process]) -> psutil.Process | None:
    for process in processes:
        try:
            if not any(arg.startswith("--type=") for arg in process.cmdline()):
                return process
        except psutil.Error:
            continue
    return None


class Sampler(threading.Thread):
    """Samples RSS and PSS of the chromium processes every ``every`` seconds."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.stop = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self.cpu: dict[int, float] = {}  # pid -> last seen user+system seconds

    def run(self) -> None:
        while not self.stop.is_set():
            rss = pss = 0
            processes = chromium_processes()
            for process in processes:
                try:
                    times = process.cpu_times()
                    self.cpu[process.pid] = times.user + times.system
                    info = process.memory_full_info()
                    rss += info.rss
                    pss += info.pss
                except psutil.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(processes))
            self.stop.wait(self.every)


# ---------------------------------------------------------------------------------------
# Experiments


def demo(site: Site) -> None:
    jobs = [
        {"url": f"{site.base}/plain/1"},
        {"url": f"{site.base}/js/1"},  # plain fetch of a JS page: the skeleton
        {"url": f"{site.base}/js/2", "render": True, "wait_for": "article.statement"},
        {"url": f"{site.base}/js/3", "render": True},  # networkidle only
        {"url": f"{site.base}/js/4?delay=1500", "render": True},  # networkidle, late script
    ]
    results, stats, seconds = crawl(jobs, concurrency=2)
    print(f"\n## demo ({seconds:.1f} s for {len(jobs)} requests, browser launched in the crawl)\n")
    for r in sorted(results, key=lambda r: r["url"]):
        r.pop("body", None)
        print(json.dumps(r, ensure_ascii=False))
    keys = [k for k in stats if k.startswith("playwright/") and "resource_type" not in k]
    print("stats:", {k: stats[k] for k in sorted(keys)})
    print("downloader/request_count:", stats.get("downloader/request_count"))


def timeout(site: Site) -> None:
    jobs = [
        {
            "url": f"{site.base}/never",
            "render": True,
            "wait_for": "article.statement",
            "timeout": 2000,
        },
        {"url": f"{site.base}/js/5", "render": True, "wait_for": "article.statement"},
    ]
    results, _stats, seconds = crawl(jobs, concurrency=2)
    print(f"\n## wait condition that never comes true ({seconds:.1f} s)\n")
    for r in results:
        print(
            json.dumps(
                {k: r.get(k) for k in ("url", "ok", "error", "message", "statement")},
                ensure_ascii=False,
            )
        )


def throughput(site: Site, pages: int, levels: list[int]) -> None:
    print(
        f"\n## throughput: {pages} JS pages (script inserts after 300 ms), wait_for_selector,"
        " one browser context per concurrent slot\n"
    )
    print(
        "| concurrency | pages/min | median s/page | errors | max pages open |"
        " peak chromium procs | peak RSS sum MB | peak PSS sum MB | crawl s (incl. launch) |"
        " machine CPU busy | this process CPU s | chromium CPU s/page |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for level in levels:
        jobs = [
            {
                "url": f"{site.base}/js/{i}",
                "render": True,
                "wait_for": "article.statement",
                "context": f"ctx{i % level}",
            }
            for i in range(pages)
        ]
        sampler = Sampler()
        sampler.start()
        psutil.cpu_percent()
        own = psutil.Process().cpu_times()
        results, stats, seconds = crawl(jobs, concurrency=level)
        busy = psutil.cpu_percent()
        own_after = psutil.Process().cpu_times()
        own_cpu = own_after.user + own_after.system - own.user - own.system
        sampler.stop.set()
        sampler.join()
        ok = [r for r in results if r["ok"]]
        times = sorted(r["t"] for r in results)
        # pages/min over the steady part: first response to last response
        span = times[-1] - times[0] if len(times) > 1 else seconds
        per_min = (len(results) - 1) / span * 60 if span else 0.0
        gaps = [b - a for a, b in itertools.pairwise(times)]
        rows[level] = sampler.peak_pss
        print(
            f"| {level} | {per_min:.0f} | {statistics.median(gaps) * level if gaps else 0:.2f} |"
            f" {len(results) - len(ok)} | {stats.get('playwright/page_count/max_concurrent')} |"
            f" {sampler.peak_processes} |"
            f" {sampler.peak_rss / 2**20:.0f} | {sampler.peak_pss / 2**20:.0f} | {seconds:.1f} |"
            f" {busy:.0f}% | {own_cpu:.1f} | {sum(sampler.cpu.values()) / max(len(ok), 1):.2f} |"
        )
    if len(rows) > 1:
        low, high = min(rows), max(rows)
        per_context = (rows[high] - rows[low]) / (high - low) / 2**20
        print(
            f"\nPSS added per extra browser context (with its page): {per_context:.0f} MB"
            f" (({high} contexts - {low}) / {high - low})"
        )


def driver_process() -> psutil.Process | None:
    """The Playwright driver (node) this process started."""
    for child in psutil.Process(os.getpid()).children(recursive=False):
        try:
            if child.name() == "node" or "playwright" in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def crash(site: Site, pages: int = 24, storm: float = 0.0, victim: str = "chromium") -> None:
    """Kill chromium once after 6 requests; with ``storm`` > 0, keep killing every new
    browser for that many seconds (so retries run out and requests fail)."""
    jobs = [
        {"url": f"{site.base}/js/{i}?delay=400", "render": True, "wait_for": "article.statement"}
        for i in range(pages)
    ]
    killed: dict[str, Any] = {}

    def killer() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            done = sum(1 for s in site.seen if s["path"].startswith("/js/"))
            main = browser_main(chromium_processes()) if victim == "chromium" else driver_process()
            if done >= 6 and main is not None:
                killed["pid"] = main.pid
                killed["t"] = time.perf_counter()
                os.kill(main.pid, signal.SIGKILL)
                killed["count"] = killed.get("count", 0) + 1
                if (
                    not storm
                    or time.perf_counter() - killed.setdefault("first", killed["t"]) > storm
                ):
                    return
            time.sleep(0.05)
            continue
            time.sleep(0.05)

    site.seen.clear()
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    logging.basicConfig(level=logging.WARNING, format="   log %(name)s %(levelname)s: %(message)s")
    results, stats, seconds = crawl(jobs, concurrency=2, LOG_ENABLED=True, LOG_LEVEL="WARNING")
    thread.join()
    print(
        f"\n## crash: SIGKILL of the {victim} process ({killed.get('count')} kills,"
        f" storm {storm} s) after 6 requests reached the site; {pages} pages, concurrency 2,"
        f" {seconds:.1f} s\n"
    )
    for r in sorted(results, key=lambda r: r["t"]):
        when = "before" if r["t"] < killed.get("first", killed.get("t", 0)) else "after"
        offset = r["t"] - killed.get("first", killed.get("t", 0))
        print(
            f"{when} kill ({offset:+6.2f} s): {r['url'].split('/')[-1]:<12} "
            + ("ok " + r["statement"][:30] if r["ok"] else f"ERROR {r['error']}: {r['message']}")
        )
    print("browser launches (playwright/browser_count):", stats.get("playwright/browser_count"))
    print(
        "errors by class:",
        json.dumps(
            {
                e: sum(1 for r in results if r.get("error") == e)
                for e in {r.get("error") for r in results if not r["ok"]}
            }
        ),
    )


def proxies(site: Site) -> None:
    print("\n## proxy, headers, cookies (COOKIES_ENABLED=False)\n")
    with Proxy(auth=("spike", "s3cret")) as proxy:
        jobs = [
            {
                "url": f"{site.base}/echo?via=proxy",
                "proxy": f"http://spike:s3cret@127.0.0.1:{proxy.port}",
                "headers": {"Accept-Language": "ru", "Cookie": "lang=ru; consent=1"},
            },
            {
                "url": f"{site.base}/echo?via=direct",
                "headers": {"Accept-Language": "uk", "Cookie": "lang=uk"},
            },
            {
                "url": f"{site.base}/echo?via=bad-auth",
                "proxy": f"http://spike:wrong@127.0.0.1:{proxy.port}",
            },
        ]
        results, _stats, _seconds = crawl(
            [dict(j, keep_body=True) for j in jobs],
            concurrency=1,
            DOWNLOAD_HANDLERS={},  # plain Scrapy handlers: HttpProxyMiddleware
        )
        for r in sorted(results, key=lambda r: r["url"]):
            if not r["ok"]:
                print(json.dumps({k: r.get(k) for k in ("url", "error", "message")}))
                continue
            echoed = json.loads(r["body"]) if r["status"] == 200 else {}
            headers = echoed.get("headers", {})
            print(
                json.dumps(
                    {
                        "url": r["url"].split("?")[1],
                        "status": r.get("status"),
                        "site saw Cookie": headers.get("Cookie"),
                        "site saw Accept-Language": headers.get("Accept-Language"),
                        "site saw Via": headers.get("Via"),
                        "site saw Proxy-Authorization": headers.get("Proxy-Authorization"),
                    },
                    ensure_ascii=False,
                )
            )
        for s in proxy.seen:
            print("proxy saw:", s["method"], s["target"], "auth:", s["proxy_authorization"])

        proxy.seen.clear()
        site.seen.clear()
        context = {
            "proxy": {"server": proxy.url, "username": "spike", "password": "s3cret"},
            "extra_http_headers": {"Accept-Language": "ru"},
        }
        jobs = [
            {
                "url": f"{site.base}/js/90",
                "render": True,
                "wait_for": "article.statement",
                "context": "proxied",
                "context_kwargs": context,
            },
            {
                "url": f"{site.base}/js/91",
                "render": True,
                "wait_for": "article.statement",
                "context": "proxied-no-bypass",
                "context_kwargs": dict(context, proxy=dict(context["proxy"], bypass="<-loopback>")),
                "headers": {"Cookie": "lang=ru", "Accept-Language": "ru"},
            },
            # Cookies for the browser: in the context (storage_state), not a Cookie header.
            {
                "url": f"{site.base}/js/92",
                "render": True,
                "wait_for": "article.statement",
                "context": "with-cookies",
                "context_kwargs": {
                    "storage_state": {
                        "cookies": [
                            {"name": "lang", "value": "ru", "domain": "127.0.0.1", "path": "/"}
                        ]
                    }
                },
                "headers": {"Accept-Language": "ru"},
            },
        ]
        results, _stats, _seconds = crawl(jobs, concurrency=len(jobs))
        for r in sorted(results, key=lambda r: r["url"]):
            print(
                "browser:",
                r["url"].split("/")[-1],
                "ok" if r["ok"] else r["error"],
                r.get("statement", "")[:25],
            )
        print("proxy saw (browser):", [(s["method"], s["target"]) for s in proxy.seen])
        for s in site.seen:
            if s["path"].startswith("/js/9"):
                print(
                    "site saw (browser):",
                    s["path"],
                    "Cookie:",
                    s["headers"].get("Cookie"),
                    "Accept-Language:",
                    s["headers"].get("Accept-Language"),
                    "Via:",
                    s["headers"].get("Via"),
                )


def socks(site: Site) -> None:
    """SOCKS5: Scrapy 2.19's (experimental) httpx download handler with socksio, and the
    browser's own SOCKS support (Chromium: no SOCKS authentication)."""
    print("\n## SOCKS5\n")
    with Socks5(auth=("spike", "s3cret")) as server:
        jobs = [
            {
                "url": f"{site.base}/echo?via=socks",
                "keep_body": True,
                "proxy": f"socks5://spike:s3cret@127.0.0.1:{server.port}",
            },
            {
                "url": f"{site.base}/echo?via=socks-bad",
                "keep_body": True,
                "proxy": f"socks5://spike:wrong@127.0.0.1:{server.port}",
            },
        ]
        handler = "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"
        try:
            results, _stats, _s = crawl(
                jobs, concurrency=1, DOWNLOAD_HANDLERS={"http": handler, "https": handler}
            )
        except Exception as exc:
            print("httpx handler:", type(exc).__name__, exc)
            results = []
        for r in sorted(results, key=lambda r: r["url"]):
            print(
                "httpx handler:",
                r["url"].split("?")[1],
                "status",
                r.get("status"),
                r.get("error"),
                (r.get("message") or "")[:100],
            )
        print("socks server saw:", server.seen)
    with Socks5() as server:
        server_url = server.url
        jobs = [
            {
                "url": f"{site.base}/js/95",
                "render": True,
                "wait_for": "article.statement",
                "context": "socks",
                "context_kwargs": {"proxy": {"server": server_url}},
            }
        ]
        results, _stats, _s = crawl(jobs, concurrency=1)
        for r in results:
            print("browser via socks5:", "ok " + r["statement"][:25] if r["ok"] else r["error"])
        print("socks server saw (browser):", server.seen)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "what", choices=["demo", "timeout", "throughput", "crash", "proxy", "socks", "all"]
    )
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--levels", default="1,4,8")
    parser.add_argument("--storm", type=float, default=0.0, help="crash: keep killing for S s")
    parser.add_argument(
        "--victim",
        choices=["chromium", "driver"],
        default="chromium",
        help="crash: kill the browser, or the Playwright driver (node)",
    )
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()[0]:.2f}; chromium {CHROMIUM}; pid {os.getpid()}")
    with Site() as site:
        if args.what in ("demo", "all"):
            demo(site)
        if args.what in ("timeout", "all"):
            timeout(site)
        if args.what in ("proxy", "all"):
            proxies(site)
        if args.what in ("socks", "all"):
            socks(site)
        if args.what in ("crash", "all"):
            crash(
                site,
                pages=args.pages if args.what == "crash" else 24,
                storm=args.storm,
                victim=args.victim,
            )
        if args.what in ("throughput", "all"):
            throughput(site, args.pages, [int(x) for x in args.levels.split(",")])


if __name__ == "__main__":
    main()
