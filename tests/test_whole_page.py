"""With a selector, the whole page is judged (a removal, a block page) only when the
selected region does not plainly hold the last version's content: reading the whole
page's text costs as much as the region's, and a noisy page that did not change is the
common case."""

from __future__ import annotations

import lxml.html
import pytest

from monitor.detect import extract
from monitor.detect.observe import ProcessRules, observe
from monitor.records import FetchResult, PageState
from monitor.selector import Selector
from monitor.vocab import Quality, Role
from tests.conftest import page_fetch

URL = "http://127.0.0.1:1/statement.html"
PAGE = (
    "<html><head><title>Statement</title></head><body><nav>Menu {token}</nav>"
    "<div class='notice'>{notice}</div><article class='statement'><h1>Visa rules</h1>"
    "<p>The Embassy informs applicants that {what} from 1 March.</p></article>"
    "<footer>Contact</footer></body></html>"
)
RULES = ProcessRules(extract.Rules(selector=Selector.parse("css:article.statement")))


def _fetch(body: str) -> FetchResult:
    return page_fetch(URL, body.encode(), content_type="text/html; charset=utf-8")


def _page(token: str, what: str = "visas are issued in 5 days", notice: str = "") -> str:
    return PAGE.format(token=token, what=what, notice=notice)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the whole page's text was read."""
    calls: list[int] = []
    real = extract.page_lines

    def counted(root: lxml.html.HtmlElement) -> list[str]:
        calls.append(1)
        return real(root)

    monkeypatch.setattr(extract, "page_lines", counted)
    return calls


def _state(first_hash: str | None) -> PageState:
    return PageState(
        page_id=1,
        target_id=1,
        role=Role.PAGE,
        last_version_id=1,
        last_content_sha256=first_hash,
        last_body_sha256="0" * 64,
    )


def test_an_unchanged_region_is_not_judged_on_the_whole_page(reads: list[int]) -> None:
    first = observe(_fetch(_page("a")), RULES, None)
    assert first.quality == Quality.OK and len(reads) == 1  # a first capture: judged
    again = observe(_fetch(_page("b")), RULES, _state(first.content_sha256))
    assert again.content_sha256 == first.content_sha256 and len(reads) == 1
    edited = observe(
        _fetch(_page("c", "visas are issued in 9 days")), RULES, _state(first.content_sha256)
    )
    assert edited.content_sha256 != first.content_sha256 and len(reads) == 2


def test_a_changed_region_on_a_soft_not_found_page_is_still_a_removal(reads: list[int]) -> None:
    """The whole page's verdict still comes first whenever the region changed."""
    first = observe(_fetch(_page("a")), RULES, None)
    gone = observe(
        _fetch(_page("b", "", notice="Page not found. The page you requested does not exist.")),
        RULES,
        _state(first.content_sha256),
    )
    assert gone.quality != Quality.OK
    assert len(reads) == 2
