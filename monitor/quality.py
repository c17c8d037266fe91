"""Judging a capture before its content: is it the page, a removal, or a bad capture?

Capture quality comes before content. A CAPTCHA, a WAF or CDN block page, a rate-limit
answer or an empty 200 is a capture of low quality: never a version, never a removal.
A 404/410, a 200 "Page not found" (soft 404) or an inner page redirected to the site's
home page is a *removal signal*; one signal is never a removal by itself (see
:mod:`monitor.events`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# 451: withheld for legal reasons, which for an official statement is a removal too.
REMOVED_STATUSES = frozenset({404, 410, 451})
_NOT_FOUND = re.compile(
    r"\b(?:page\s+(?:was\s+)?not\s+found|404\b|not\s+found|page\s+(?:does\s+not|doesn'?t)\s+exist|"
    r"no\s+longer\s+(?:available|exists)|has\s+been\s+(?:removed|deleted)|"
    r"страница\s+не\s+найдена|ошибка\s+404|запрашиваемая\s+страница|"
    r"seite\s+nicht\s+gefunden|página\s+no\s+encontrada|page\s+introuvable|"
    r"pagina\s+non\s+trovata|"
    r"cannot\s+be\s+found|could\s+not\s+be\s+found|nothing\s+(?:was\s+)?found)",
    re.IGNORECASE,
)
# Sentences that only error pages write ("the page you requested cannot be found").
_NOT_FOUND_PHRASE = re.compile(
    r"(?:the\s+)?page\s+you\s+(?:are\s+looking\s+for|requested|were\s+looking\s+for|"
    r"tried\s+to\s+(?:access|reach))\s+(?:cannot|could\s+not|can'?t|does\s+not|doesn'?t|"
    r"is\s+no\s+longer|was\s+not|has\s+been|may\s+have\s+been)|"
    r"(?:this|the\s+requested)\s+(?:page|url|document|resource)\s+(?:cannot|could\s+not|"
    r"can'?t|was\s+not|does\s+not|doesn'?t|is\s+no\s+longer)\s+(?:be\s+)?"
    r"(?:found|exist|available)|"
    r"запрашиваемая\s+(?:вами\s+)?страница\s+не\s+(?:найдена|существует)|"
    r"страница\s+(?:не\s+найдена|не\s+существует|удалена)|"
    r"die\s+angeforderte\s+seite\s+(?:wurde\s+nicht\s+gefunden|existiert\s+nicht)",
    re.IGNORECASE,
)
# A title whose whole segment (between separators) says "not found".
_NOT_FOUND_TITLE = re.compile(
    r"(?:^|[|\-–—:•·]\s*)(?:error\s*)?(?:404(?:\s*error)?|(?:page\s+)?not\s+found|"
    r"(?:error\s+)?404\s*[-:]?\s*(?:page\s+)?not\s+found|page\s+(?:does\s+not|doesn'?t)\s+exist|"
    r"страница\s+не\s+найдена|ошибка\s+404|seite\s+nicht\s+gefunden|página\s+no\s+encontrada|"
    r"page\s+introuvable|pagina\s+non\s+trovata|página\s+não\s+encontrada|"
    r"сторінку\s+не\s+знайдено|сторінка\s+не\s+знайдена|sayfa\s+bulunamad[ıi]|"
    r"strona\s+nie\s+została\s+znaleziona|nie\s+znaleziono\s+strony|"
    r"الصفحة\s+غير\s+موجودة|الصفحة\s+المطلوبة\s+غير\s+موجودة|"
    r"页面不存在|找不到页面|页面未找到|ページが見つかりません|페이지를\s*찾을\s*수\s*없습니다)"
    r"\s*(?:$|[|\-–—:•·])",
    re.IGNORECASE,
)
# Phrases of challenge and block pages that ordinary prose does not use.
_BLOCKED_STRONG = re.compile(
    r"checking\s+your\s+browser|just\s+a\s+moment\.\.\.|attention\s+required!|"
    r"cf-browser-verification|cf-chl|ddos[-\s]guard|incapsula\s+incident|"
    r"request\s+unsuccessful\.\s+incapsula|verify\s+you\s+are\s+(?:a\s+)?human|"
    r"are\s+you\s+a\s+robot|enable\s+javascript\s+and\s+cookies\s+to\s+continue|"
    r"please\s+complete\s+the\s+security\s+check|проверка\s+браузера|captcha",
    re.IGNORECASE,
)
# A title that is, as a whole segment, a block page's title.
_BLOCKED_TITLE = re.compile(
    r"(?:^|[|\-–—:•·]\s*)(?:access\s+denied|(?:403\s+)?forbidden|attention\s+required!?|"
    r"just\s+a\s+moment\.*|too\s+many\s+requests|rate\s+limit(?:ed|\s+exceeded)?|"
    r"request\s+(?:rejected|blocked)|security\s+check|captcha|are\s+you\s+a\s+robot\??|"
    r"доступ\s+запрещ[её]н|проверка\s+безопасности)\s*(?:$|[|\-–—:•·])",
    re.IGNORECASE,
)
_BLOCKED = re.compile(
    r"attention\s+required|just\s+a\s+moment|checking\s+your\s+browser|cloudflare|"
    r"access\s+denied|request\s+unsuccessful|incapsula|ddos[-\s]guard|captcha|"
    r"are\s+you\s+a\s+robot|verify\s+you\s+are\s+(?:a\s+)?human|bot\s+protection|"
    r"too\s+many\s+requests|rate\s+limit|web\s+application\s+firewall|"
    r"request\s+(?:was\s+)?(?:blocked|rejected)|доступ\s+запрещ|проверка\s+браузера",
    re.IGNORECASE,
)
_HOME_PATH = re.compile(
    r"^/(?:[a-z]{2}(?:[-_][a-z]{2})?/?)?(?:index\.\w+|default\.\w+|home/?)?$", re.IGNORECASE
)
# A block or not-found page is short; a long page that mentions "404" is an article.
SHORT_PAGE_CHARS = 3000


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a capture is, before its content is compared."""

    quality: str  # "ok", "low" (a bad capture of a live page) or "error"
    kind: str  # ok, not_found, gone, soft_404, redirect_home, blocked, rate_limited, ...
    reason: str = ""

    @property
    def removal(self) -> bool:
        return self.kind in ("not_found", "gone", "soft_404", "redirect_home")


OK = Verdict("ok", "ok")


_LANGUAGE_QUERY = re.compile(r"(?:lang|language|locale|hl)=[\w-]+", re.IGNORECASE)


def is_home(url: str) -> bool:
    """A site's home page: "/", a language root ("/en/"), an index page, no query."""
    parts = urlsplit(url)
    if parts.query and not _LANGUAGE_QUERY.fullmatch(parts.query):
        return False  # index.php?id=42 is an article, not the home page
    return bool(_HOME_PATH.match(parts.path or "/"))


def redirected_home(requested_url: str, final_url: str | None) -> bool:
    """An inner page that now lands on a site's home page."""
    if not final_url or final_url == requested_url:
        return False
    return not is_home(requested_url) and is_home(final_url)


def redirected_to_parent(requested_url: str, final_url: str | None) -> bool:
    """An inner page now landing on a section above it (/news/2024/item -> /news/)."""
    if not final_url or final_url == requested_url:
        return False
    old, new = urlsplit(requested_url), urlsplit(final_url)
    if old.netloc.lower() != new.netloc.lower() or new.query:
        return False
    parent = new.path if new.path.endswith("/") else new.path + "/"
    child = old.path.rstrip("/")
    return child.startswith(parent) and len(child) > len(parent) - 1 and child != parent.rstrip("/")


def judge(
    status: int | None,
    requested_url: str,
    final_url: str | None,
    title: str | None,
    text: str,
    *,
    error: str | None = None,
) -> Verdict:
    """Classify a fetch from its status, URLs and (visible) text."""
    if error is not None or status is None:
        return Verdict("error", "network", error or "no response")
    if status in REMOVED_STATUSES:
        kind = {410: "gone", 451: "gone"}.get(status, "not_found")
        return Verdict("error", kind, f"HTTP {status}")
    head = f"{title or ''}\n{text[:600]}"
    short = len(text) < SHORT_PAGE_CHARS
    if status == 429:
        return Verdict("error", "rate_limited", "HTTP 429 Too Many Requests")
    if status in (401, 403, 503, 520, 521, 522, 523, 524, 525, 526) and _BLOCKED.search(head):
        return Verdict("low", "blocked", f"HTTP {status}: a block or challenge page")
    if status >= 500:
        return Verdict("error", "server_error", f"HTTP {status}")
    if status >= 400:
        return Verdict("error", "client_error", f"HTTP {status}")
    if not 200 <= status < 300:
        return Verdict("error", "unexpected_status", f"HTTP {status}")
    if redirected_home(requested_url, final_url):
        return Verdict("error", "redirect_home", f"redirected to the home page {final_url}")
    # With a 200, only a block page's title or its technical phrases count: a short
    # statement about "access denied" to detainees is content.
    if short and (
        (title and _BLOCKED_TITLE.search(title.strip()) and len(text) < 1000)
        or _BLOCKED_STRONG.search(head)
    ):
        return Verdict("low", "blocked", "a CAPTCHA, WAF or rate-limit page answered with 200")
    if short and title and _NOT_FOUND_TITLE.search(title.strip()):
        return Verdict("error", "soft_404", f"a 'not found' page answered with 200 ({title!r})")
    first_line = text.lstrip().split("\n", 1)[0].strip()
    if len(text) < 1000 and first_line and _NOT_FOUND_TITLE.search(first_line):
        return Verdict("error", "soft_404", "a 'not found' page answered with 200")
    if len(text) < 1500 and _NOT_FOUND_PHRASE.search(text[:600]):
        return Verdict("error", "soft_404", "a 'page cannot be found' message answered with 200")
    if redirected_to_parent(requested_url, final_url):
        return Verdict(
            "error", "redirect_home", f"redirected to a section above the page: {final_url}"
        )
    if not text.strip() and not (title or "").strip():
        return Verdict("low", "empty", "an empty page answered with 200")
    return OK


def quick_removal(
    status: int | None,
    requested_url: str,
    final_url: str | None,
    title: str | None,
    body_size: int,
) -> bool:
    """A cheap removal signal for the spiders, to decide on a confirming fetch."""
    if status is None:
        return False
    if status in REMOVED_STATUSES:
        return True
    if not 200 <= status < 300:
        return False
    if redirected_home(requested_url, final_url) or redirected_to_parent(requested_url, final_url):
        return True
    return bool(title and body_size < 200_000 and _NOT_FOUND_TITLE.search(title.strip()))
