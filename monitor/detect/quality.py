"""Judging a capture before its content: is it the page, a removal, or a bad capture?

Capture quality comes before content. A CAPTCHA, a WAF or CDN block page, a rate-limit
answer or an empty 200 is a capture of low quality: never a version, never a removal.
A 404/410, a 200 "Page not found" (soft 404) or an inner page redirected to its own
site's home page or to a section above it is a *removal signal*; one signal is never a
removal by itself (see :mod:`monitor.detect.events`). A redirect to another site is judged by
what that site serves: a block page or a login wall is a low-quality capture, anything
else is content.

Block and challenge pages are recognised by the named rules of :data:`BLOCK_RULES`
(headers, status, title, text and markup of the well-known CDN, WAF and anti-bot
services), checked before anything else: a block page is never a removal.

Why one module of this size: most of it is data (the named block rules of the CDN, WAF
and anti-bot services, the not-found phrases of many languages) beside one judge.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.vocab import REMOVAL_KINDS, Quality, QualityKind

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
# An ISP's or a government's block portal says so in words.
_BLOCK_PORTAL = re.compile(
    r"access\s+to\s+(?:this|the(?:\s+requested)?)\s+(?:information\s+)?(?:resource|site|website|"
    r"page|url)\s+(?:is|has\s+been)\s+(?:restricted|blocked|denied|limited)|"
    r"(?:this|the\s+requested)\s+(?:site|website|resource|page|url)\s+(?:is|has\s+been)\s+blocked|"
    r"доступ\s+к\s+(?:информационному\s+)?ресурсу\s+ограничен|ресурс\s+заблокирован",
    re.IGNORECASE,
)
_JAVASCRIPT_REQUIRED = re.compile(
    r"javascript\s+(?:is\s+)?(?:disabled|required|not\s+enabled|must\s+be\s+enabled|needed)|"
    r"(?:please\s+)?(?:enable|turn\s+on|activate|allow)\s+javascript|requires?\s+javascript|"
    r"включите\s+javascript|javascript\s+отключ[её]н|activez\s+(?:le\s+)?javascript|"
    r"javascript\s+(?:aktivieren|ist\s+deaktiviert)|habilit[ae]\s+(?:el\s+)?javascript",
    re.IGNORECASE,
)
# Challenge widgets and scripts, in the markup (scripts are not visible text).
_CHALLENGE_MARKUP = re.compile(
    r"g-recaptcha|h-captcha|hcaptcha\.com|cf-turnstile|challenges\.cloudflare\.com|"
    r"challenge-form|captcha-delivery\.com|/cdn-cgi/challenge-platform|_cf_chl_opt|"
    r"awswaf|aws-waf-token",
    re.IGNORECASE,
)
_LOGIN_TITLE = re.compile(
    r"(?:^|[|\-–—:•·]\s*)(?:sign\s*-?\s*in|log\s*-?\s*in|log\s*-?\s*on|login|authentication|"
    r"anmelden|anmeldung|connexion|se\s+connecter|iniciar\s+sesi[oó]n|вход|войти|авторизация|"
    r"تسجيل\s+الدخول|登录|登入|ログイン)(?:\s+(?:to|into|auf|à|a|в)\b[^|\-–—:•·]*)?"
    r"\s*(?:$|[|\-–—:•·])",
    re.IGNORECASE,
)
_LOGIN_URL = re.compile(
    r"^https?://(?:login|signin|sso|auth|idp|accounts?)\.|"
    r"/(?:login|log-in|logon|signin|sign-in|sign_in|auth|authenticate|sso|saml|oauth2?|"
    r"cas/login|wp-login\.php|account/login|users/sign_in)(?:[/.?#;]|$)",
    re.IGNORECASE,
)
_HOME_PATH = re.compile(
    r"^/(?:[a-z]{2}(?:[-_][a-z]{2})?/?)?(?:index\.\w+|default\.\w+|home/?)?$", re.IGNORECASE
)
# A block or not-found page is short; a long page that mentions "404" is an article.
SHORT_PAGE_CHARS = 3000
# Visible text this short is "no text": a challenge page is scripts and an empty shell.
TINY_TEXT_CHARS = 64
# Markup is searched this far: challenge pages are small, and their markers come early.
MARKUP_CHARS = 65536


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a capture is, before its content is compared."""

    quality: str  # a Quality: ok, low (a bad capture of a live page) or error
    kind: str  # a QualityKind
    reason: str = ""

    @property
    def removal(self) -> bool:
        return self.kind in REMOVAL_KINDS


OK = Verdict(Quality.OK, QualityKind.OK)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class BlockRule:
    """A named sign that a CDN, WAF, anti-bot service or login wall answered, not the page.

    A rule matches when every condition it sets holds: the status is one of
    ``statuses`` (empty: any); one of ``headers`` is there, its value matching when a
    pattern is given (names in lower case); the capture was redirected, if
    ``redirected``; the visible text is shorter than ``max_text``; and, when the rule
    names evidence (``title``, ``text``, ``markup``, ``url``, ``tiny``), at least one
    piece of it is found. A rule without evidence is decided by headers and status.
    """

    name: str
    reason: str  # why the capture is rejected; "{status}" is replaced by the status
    statuses: frozenset[int] = frozenset()
    headers: tuple[tuple[str, re.Pattern[str] | None], ...] = ()
    redirected: bool = False
    max_text: int | None = None
    title: re.Pattern[str] | None = None  # searched in the title
    text: re.Pattern[str] | None = None  # searched in the title and the text's first lines
    markup: re.Pattern[str] | None = None  # searched in the document (scripts included)
    url: re.Pattern[str] | None = None  # searched in the URL that answered
    tiny: bool = False  # evidence: (almost) no visible text
    kind: str = QualityKind.BLOCKED

    def matches(
        self,
        status: int,
        headers: Mapping[str, str],
        redirected_to: str | None,
        title: str,
        text: str,
        markup: str,
    ) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if self.headers and not any(
            (value := headers.get(name)) is not None
            and (pattern is None or pattern.search(value) is not None)
            for name, pattern in self.headers
        ):
            return False
        if self.redirected and redirected_to is None:
            return False
        if self.max_text is not None and len(text) >= self.max_text:
            return False
        if not (self.title or self.text or self.markup or self.url or self.tiny):
            return True
        return bool(
            (self.title is not None and title and self.title.search(title))
            or (self.text is not None and self.text.search(f"{title}\n{text[:600]}"))
            or (self.markup is not None and self.markup.search(markup, 0, MARKUP_CHARS))
            or (self.url is not None and redirected_to and self.url.search(redirected_to))
            or (self.tiny and len(text.strip()) < TINY_TEXT_CHARS)
        )


_2XX = frozenset(range(200, 300))
# Every status but the removal statuses: soft evidence (a tiny page, a vendor's cookie)
# must never turn a 404 into a block page.
_NOT_REMOVED = frozenset(range(100, 600)) - REMOVED_STATUSES

# Checked in order, before anything else: a block page is never a removal nor a version.
BLOCK_RULES: tuple[BlockRule, ...] = (
    BlockRule(
        "aws-waf",
        "an AWS WAF challenge or CAPTCHA (x-amzn-waf-action header, HTTP {status})",
        headers=(("x-amzn-waf-action", _rx(r"challenge|captcha|block")),),
    ),
    BlockRule(
        "cloudflare-mitigated",
        "a Cloudflare challenge (cf-mitigated header, HTTP {status})",
        headers=(("cf-mitigated", _rx(r"challenge|block")),),
    ),
    BlockRule(
        "cloudflare",
        "a Cloudflare challenge or block page (HTTP {status})",
        statuses=frozenset({403, 429, 503}),
        headers=(("server", _rx(r"cloudflare")), ("cf-ray", None)),
        title=_rx(r"just\s+a\s+moment|attention\s+required|access\s+denied|cloudflare"),
        text=_rx(
            r"checking\s+your\s+browser|ray\s+id|cloudflare|enable\s+javascript\s+and\s+cookies"
        ),
        markup=_rx(r"cf-chl|cf_chl|challenge-platform|cf-browser-verification|cf-error-details"),
    ),
    BlockRule(
        "akamai",
        "an Akamai edge denial ('Access Denied ... Reference #', HTTP {status})",
        statuses=frozenset({403}),
        headers=(("server", _rx(r"akamaighost")),),
        title=_rx(r"access\s+denied"),
        text=_rx(r"access\s+denied|reference\s*#"),
        markup=_rx(r"errors\.edgesuite\.net|reference&#32;#"),
    ),
    BlockRule(
        "imperva",
        "an Imperva (Incapsula) challenge (HTTP {status})",
        statuses=_NOT_REMOVED,
        headers=(
            ("x-iinfo", None),
            ("x-cdn", _rx(r"incapsula|imperva")),
            ("set-cookie", _rx(r"\b(?:incap_ses_|visid_incap_)")),
        ),
        max_text=1000,
        text=_rx(r"incapsula\s+incident|request\s+unsuccessful"),
        markup=_rx(r"<iframe[^>]+_incapsula_resource"),
        tiny=True,
    ),
    BlockRule(
        "sucuri-block",
        "a Sucuri firewall block (x-sucuri-block header, HTTP {status})",
        headers=(("x-sucuri-block", None),),
    ),
    BlockRule(
        "sucuri",
        "a Sucuri firewall block page (HTTP {status})",
        statuses=frozenset({403, 429, 503}),
        headers=(("x-sucuri-id", None), ("server", _rx(r"sucuri|cloudproxy"))),
        title=_rx(r"sucuri|access\s+denied"),
        text=_rx(r"sucuri|access\s+denied|blocked"),
        markup=_rx(r"sucuri"),
        tiny=True,
    ),
    BlockRule(
        "ddos-guard",
        "a DDoS-Guard check page (HTTP {status})",
        statuses=_NOT_REMOVED,
        headers=(("server", _rx(r"ddos-guard")),),
        max_text=1000,
        title=_rx(r"ddos-guard|ddos\s+protection|checking\s+your\s+browser"),
        text=_rx(r"ddos-guard|checking\s+your\s+browser|проверка\s+браузера"),
        markup=_rx(r"ddos-guard"),
        tiny=True,
    ),
    BlockRule(
        "challenge",
        "a challenge page (CAPTCHA or browser check) answered with HTTP {status}",
        statuses=frozenset({202, 403, 429, 503}),
        text=_BLOCKED_STRONG,
        markup=_CHALLENGE_MARKUP,
    ),
    BlockRule(
        "block-status",
        "HTTP {status}: a block or challenge page",
        statuses=frozenset({401, 403, 503, 520, 521, 522, 523, 524, 525, 526}),
        text=_BLOCKED,
    ),
    # With a 2xx, only a block page's title or its technical phrases count: a short
    # statement about "access denied" to detainees is content.
    BlockRule(
        "block-title",
        "a CAPTCHA, WAF or rate-limit page answered with {status}",
        statuses=_2XX,
        max_text=1000,
        title=_BLOCKED_TITLE,
    ),
    BlockRule(
        "block-phrase",
        "a CAPTCHA, WAF or rate-limit page answered with {status}",
        statuses=_2XX,
        max_text=SHORT_PAGE_CHARS,
        text=_BLOCKED_STRONG,
    ),
    BlockRule(
        "block-portal",
        "a block portal: access to the page is restricted (HTTP {status})",
        statuses=_2XX | {403},
        max_text=SHORT_PAGE_CHARS,
        text=_BLOCK_PORTAL,
    ),
    # "Enable JavaScript" with almost nothing else: a page that needs a browser, not
    # the page itself (a form's instructions to enable JavaScript are content).
    BlockRule(
        "javascript-title",
        "a 'JavaScript required' interstitial, not the page (HTTP {status})",
        statuses=_2XX,
        max_text=500,
        title=_JAVASCRIPT_REQUIRED,
    ),
    BlockRule(
        "javascript-required",
        "a 'JavaScript required' interstitial, not the page (HTTP {status})",
        statuses=_2XX,
        max_text=250,
        text=_JAVASCRIPT_REQUIRED,
    ),
    BlockRule(
        "login-wall",
        "a login page after a redirect (HTTP {status})",
        statuses=_2XX,
        redirected=True,
        max_text=SHORT_PAGE_CHARS,
        title=_LOGIN_TITLE,
        url=_LOGIN_URL,
        kind=QualityKind.LOGIN_WALL,
    ),
)


def blocked(
    status: int,
    requested_url: str,
    final_url: str | None,
    title: str | None,
    text: str,
    *,
    headers: Mapping[str, str] | None = None,
    markup: str | None = None,
) -> Verdict | None:
    """The verdict of the first :data:`BLOCK_RULES` rule that matches, if one does."""
    redirected_to = final_url if final_url and final_url != requested_url else None
    for rule in BLOCK_RULES:
        if rule.matches(status, headers or {}, redirected_to, title or "", text, markup or ""):
            return Verdict(
                Quality.LOW, rule.kind, f"{rule.reason.format(status=status)} [{rule.name}]"
            )
    return None


_LANGUAGE_QUERY = re.compile(r"(?:lang|language|locale|hl)=[\w-]+", re.IGNORECASE)


def site_of(url: str) -> tuple[str, int | None]:
    """A URL's site: its host name without a leading "www.", and a port other than 80/443.

    >>> site_of("https://www.Embassy.example/en/") == site_of("http://embassy.example/x")
    True
    >>> site_of("https://unblock.embassy.example/") == site_of("https://embassy.example/")
    False
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, None if port in (80, 443) else port


def same_site(url: str, other: str) -> bool:
    """Both URLs are on one site (the same host, with or without "www.")."""
    return site_of(url) == site_of(other)


def is_home(url: str) -> bool:
    """A site's home page: "/", a language root ("/en/"), an index page, no query."""
    parts = urlsplit(url)
    if parts.query and not _LANGUAGE_QUERY.fullmatch(parts.query):
        return False  # index.php?id=42 is an article, not the home page
    return bool(_HOME_PATH.match(parts.path or "/"))


def redirected_home(requested_url: str, final_url: str | None) -> bool:
    """An inner page that now lands on its own site's home page."""
    if not final_url or final_url == requested_url or not same_site(requested_url, final_url):
        return False
    return not is_home(requested_url) and is_home(final_url)


def redirected_to_parent(requested_url: str, final_url: str | None) -> bool:
    """An inner page now landing on a section above it (/news/2024/item -> /news/)."""
    if not final_url or final_url == requested_url:
        return False
    old, new = urlsplit(requested_url), urlsplit(final_url)
    if not same_site(requested_url, final_url) or new.query:
        return False
    parent = new.path if new.path.endswith("/") else new.path + "/"
    child = old.path.rstrip("/")
    return child.startswith(parent) and len(child) > len(parent) - 1 and child != parent.rstrip("/")


def redirected_off_site(requested_url: str, final_url: str | None) -> bool:
    """The page now answers from another site (judged by what that site serves)."""
    return bool(final_url) and not same_site(requested_url, final_url or "")


def redirect_removal(requested_url: str, final_url: str | None) -> bool:
    """A redirect that is a removal signal: to the site's home page or a section above."""
    return redirected_home(requested_url, final_url) or redirected_to_parent(
        requested_url, final_url
    )


def judge(
    status: int | None,
    requested_url: str,
    final_url: str | None,
    title: str | None,
    text: str,
    *,
    error: str | None = None,
    headers: Mapping[str, str] | None = None,
    markup: str | None = None,
) -> Verdict:
    """Classify a fetch from its status, URLs, headers, (visible) text and markup.

    ``text`` is the visible text judged (the page's content region, or the whole page
    when a selector is set); ``headers`` have lower-case names; ``markup`` is the
    decoded document, searched for challenge scripts that are not visible text.
    """
    if error is not None or status is None:
        return Verdict(Quality.ERROR, QualityKind.NETWORK, error or "no response")
    block = blocked(status, requested_url, final_url, title, text, headers=headers, markup=markup)
    if block is not None:
        return block
    if status in REMOVED_STATUSES:
        kind = {410: QualityKind.GONE, 451: QualityKind.GONE}.get(status, QualityKind.NOT_FOUND)
        return Verdict(Quality.ERROR, kind, f"HTTP {status}")
    if status == 429:
        return Verdict(Quality.ERROR, QualityKind.RATE_LIMITED, "HTTP 429 Too Many Requests")
    if status >= 500:
        return Verdict(Quality.ERROR, QualityKind.SERVER_ERROR, f"HTTP {status}")
    if status >= 400:
        return Verdict(Quality.ERROR, QualityKind.CLIENT_ERROR, f"HTTP {status}")
    if not 200 <= status < 300:
        return Verdict(Quality.ERROR, QualityKind.UNEXPECTED_STATUS, f"HTTP {status}")
    if redirected_home(requested_url, final_url):
        return Verdict(
            Quality.ERROR, QualityKind.REDIRECT_HOME, f"redirected to the home page {final_url}"
        )
    short = len(text) < SHORT_PAGE_CHARS
    if short and title and _NOT_FOUND_TITLE.search(title.strip()):
        return Verdict(
            Quality.ERROR, QualityKind.SOFT_404, f"a 'not found' page answered with 200 ({title!r})"
        )
    first_line = text.lstrip().split("\n", 1)[0].strip()
    if len(text) < 1000 and first_line and _NOT_FOUND_TITLE.search(first_line):
        return Verdict(Quality.ERROR, QualityKind.SOFT_404, "a 'not found' page answered with 200")
    if len(text) < 1500 and _NOT_FOUND_PHRASE.search(text[:600]):
        return Verdict(
            Quality.ERROR,
            QualityKind.SOFT_404,
            "a 'page cannot be found' message answered with 200",
        )
    if redirected_to_parent(requested_url, final_url):
        return Verdict(
            Quality.ERROR,
            QualityKind.REDIRECT_HOME,
            f"redirected to a section above the page: {final_url}",
        )
    if not text.strip() and not (title or "").strip():
        return Verdict(Quality.LOW, QualityKind.EMPTY, "an empty page answered with 200")
    # Anything else is the page's content, another site's page after a redirect too.
    return OK


# Words that every sentence _NOT_FOUND_PHRASE finds holds one of (in lower case, as
# bytes): a test at memchr speed before any parsing ("t found" covers "not found").
_QUICK_NOT_FOUND_WORDS = (
    b"page you",
    b"be found",
    b"t found",
    b"t exist",
    b"no longer",
    b"angeforderte",
    "не найдена".encode(),
    "не существует".encode(),
    "удалена".encode(),
)
_MARKUP = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL
)


def quick_not_found_message(body: bytes) -> bool:
    """A 'the page cannot be found' sentence in a small page, found without parsing it."""
    if len(body) > 200_000:
        return False
    lowered = body.lower()
    if not any(word in lowered for word in _QUICK_NOT_FOUND_WORDS):
        return False
    text = " ".join(_MARKUP.sub(" ", body.decode("utf-8", errors="replace")).split())
    return _NOT_FOUND_PHRASE.search(html.unescape(text)) is not None


def quick_removal(
    status: int | None,
    requested_url: str,
    final_url: str | None,
    title: str | None,
    body_size: int,
    *,
    body: bytes | None = None,
) -> bool:
    """A cheap removal signal for the spiders, to decide on a confirming fetch.

    It may be wrong both ways (the full verdict is made later, on the parsed page): a
    false alarm costs one more fetch, a miss leaves the confirmation to the next check.
    """
    if status is None:
        return False
    if status in REMOVED_STATUSES:
        return True
    if not 200 <= status < 300:
        return False
    if redirect_removal(requested_url, final_url):
        return True
    if title and body_size < 200_000 and _NOT_FOUND_TITLE.search(title.strip()):
        return True
    return body is not None and quick_not_found_message(body)


# --- pages whose text a script inserts (render: browser) -----------------------------

# Content text shorter than this, with scripts that could have written it, is a skeleton.
SKELETON_TEXT_CHARS = 200
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT_SRC = re.compile(r"\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
# Scripts that count visits or show consent banners: they never write a page's text.
_TRACKER_SCRIPT = re.compile(
    r"googletagmanager|google-analytics|mc\.yandex|top-fwz1|counter\.|matomo|piwik|"
    r"hotjar|cookiebot|onetrust|cookie-?consent|gstatic\.com/recaptcha",
    re.IGNORECASE,
)
# An empty element that single-page applications mount into, or code that writes the DOM.
_APP_ROOT = re.compile(
    r"<(?:div|main|section|app-root)\b[^>]*\bid\s*=\s*[\"']?"
    r"(?:root|app|__next|__nuxt|main-app|application|content-root)[\"'\s>]",
    re.IGNORECASE,
)
_DOM_WRITES = re.compile(
    r"innerHTML|insertAdjacentHTML|appendChild|append\(|textContent|document\.write|"
    r"createRoot|ReactDOM|createApp|new Vue|hydrate|\.mount\(|fetch\(|XMLHttpRequest",
)
SKELETON_NOTE = (
    "the page's text seems to be written by JavaScript (almost no text, but scripts "
    "that could write it): try `render: browser` with `wait_for: css:SELECTOR`"
)
RENDERED_SKELETON_NOTE = (
    "the rendered page has almost no text: its script may write it after the browser "
    "stopped waiting; set `wait_for: css:SELECTOR` to the element that holds the text"
)


def script_skeleton(text: str, markup: str) -> bool:
    """Whether a page's text looks like a skeleton that its scripts fill in: (almost) no
    content text, and an application root or scripts (not counters or consent banners)
    that could write it. A plain fetch of such a page does not see what readers see.

    >>> script_skeleton("", '<div id="app"></div><script src="/app.js"></script>')
    True
    >>> script_skeleton("", '<script src="https://mc.yandex.ru/metrika/tag.js"></script>')
    False
    >>> script_skeleton("A statement of three hundred characters ... " * 8, "<script src=a.js>")
    False
    """
    if len(" ".join(text.split())) >= SKELETON_TEXT_CHARS:
        return False
    if "<script" not in markup[: MARKUP_CHARS * 4].lower():
        return False
    writers = 0
    for attributes, code in _SCRIPT.findall(markup[: MARKUP_CHARS * 4]):
        source = _SCRIPT_SRC.search(attributes)
        if source is not None:
            writers += not _TRACKER_SCRIPT.search(source.group(1))
        elif "json" not in attributes.lower() and not _TRACKER_SCRIPT.search(code):
            writers += bool(_DOM_WRITES.search(code))
    return writers > 0 or (bool(_APP_ROOT.search(markup)) and "<script" in markup.lower())
