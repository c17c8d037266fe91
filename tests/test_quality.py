"""Capture quality: removals, soft 404s, redirects home, block pages, errors (quality.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.detect import quality

DATA = Path(__file__).parent / "data" / "detection"
INNER = "https://embassy.example/en/news/visa-rules/"


CASES = yaml.safe_load((DATA / "quality.yaml").read_text())


def _cases(*, known_bugs: bool) -> list[Any]:
    """The cases; with ``known_bugs``, those documenting a defect are strict xfails."""
    return [
        pytest.param(
            case,
            id=case["name"],
            marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {case['bug']}")]
            if known_bugs and "bug" in case
            else [],
        )
        for case in CASES
    ]


def _fetch(case: dict[str, Any]) -> tuple[int | None, str, str | None, str | None, str]:
    url = case.get("url", INNER)
    text = case.get("text", "") * case.get("repeat", 1)
    return case["status"], url, case.get("final", url), case.get("title"), text


@pytest.mark.parametrize("case", _cases(known_bugs=True))
def test_judge(case: dict[str, Any]) -> None:
    status, url, final, title, text = _fetch(case)
    verdict = quality.judge(
        status,
        url,
        final,
        title,
        text,
        error=case.get("error"),
        headers=case.get("headers"),
        markup=case.get("markup"),
    )
    expected = case["expect"]
    assert (verdict.quality, verdict.kind) == (expected["quality"], expected["kind"]), verdict
    assert verdict.removal is expected["removal"]
    if verdict.kind != "ok":
        assert verdict.reason, "every bad verdict says why"


@pytest.mark.parametrize("case", _cases(known_bugs=False))
def test_quick_removal(case: dict[str, Any]) -> None:
    """The spiders' cheap signal agrees with the full verdict on what is a removal."""
    status, url, final, title, text = _fetch(case)
    body_size = len(text.encode())
    assert quality.quick_removal(status, url, final, title, body_size) is case["expect"]["quick"]


def test_quick_removal_ignores_a_not_found_title_on_a_huge_page() -> None:
    title = "Page not found - Embassy"
    assert quality.quick_removal(200, INNER, INNER, title, 10_000)
    assert not quality.quick_removal(200, INNER, INNER, title, 500_000)


@pytest.mark.parametrize(
    ("url", "home"),
    [
        ("https://embassy.example", True),
        ("https://embassy.example/", True),
        ("https://embassy.example/en/", True),
        ("https://embassy.example/en", True),
        ("https://embassy.example/en-us/", True),
        ("https://embassy.example/index.html", True),
        ("https://embassy.example/ru/index.php", True),
        ("https://embassy.example/default.aspx", True),
        ("https://embassy.example/home/", True),
        ("https://embassy.example/en/news/", False),
        ("https://embassy.example/news", False),
        ("https://embassy.example/about/index.html", False),
        ("https://embassy.example/en/news/visa-rules/", False),
        pytest.param(
            "https://mfa.example/index.php?option=com_content&view=article&id=42",
            False,
        ),
    ],
)
def test_is_home(url: str, home: bool) -> None:
    assert quality.is_home(url) is home


@pytest.mark.parametrize(
    ("requested", "final", "expected"),
    [
        (INNER, "https://embassy.example/", True),
        (INNER, "https://embassy.example/en/", True),
        (INNER, "https://embassy.example/index.html", True),
        (INNER, "https://embassy.example/en/news/visa-rules-2024/", False),
        (INNER, INNER, False),
        (INNER, None, False),
        ("https://embassy.example/", "https://embassy.example/en/", False),
        ("https://embassy.example/en/", "https://embassy.example/", False),
        pytest.param(
            "https://mfa.example/index.php?id=42",
            "https://mfa.example/",
            True,
        ),
    ],
)
def test_redirected_home(requested: str, final: str | None, expected: bool) -> None:
    assert quality.redirected_home(requested, final) is expected


def test_a_block_page_is_never_a_removal_whatever_its_status() -> None:
    for status in (200, 401, 403, 503, 520, 521, 522, 523, 524, 525, 526):
        verdict = quality.judge(
            status, INNER, INNER, "Just a moment...", "Checking your browser before accessing"
        )
        assert (verdict.quality, verdict.kind, verdict.removal) == ("low", "blocked", False), status
        assert not quality.quick_removal(status, INNER, INNER, "Just a moment...", 2000)


def test_every_block_rule_is_named_explained_and_exercised() -> None:
    """BLOCK_RULES is data: unique names, a reason each, and a case in quality.yaml."""
    names = [rule.name for rule in quality.BLOCK_RULES]
    assert len(names) == len(set(names))
    assert all(rule.reason for rule in quality.BLOCK_RULES)
    matched = set()
    for case in CASES:
        status, url, final, title, text = _fetch(case)
        if status is None:
            continue
        verdict = quality.blocked(
            status, url, final, title, text, headers=case.get("headers"), markup=case.get("markup")
        )
        if verdict is not None:
            matched.add(verdict.reason.rsplit("[", 1)[1].rstrip("]"))
    assert matched == set(names), f"rules without a case: {set(names) - matched}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body><p>The page you requested cannot be found.</p></body></html>", True),
        (b"<p>The requested page <b>could not be found</b> on this server.</p>", True),
        (b"<p>The requested URL was not found on this server.</p>", True),
        (
            "<p>Запрашиваемая страница не найдена.</p>".encode(),
            True,
        ),
        (b"<p>The report found that 404 pages were common.</p>", False),
        (b"<script>var m = 'the page you requested cannot be found';</script><p>News</p>", False),
        (b"<p>The page you requested cannot be found.</p>" + b" " * 200_001, False),
    ],
)
def test_quick_not_found_message(body: bytes, expected: bool) -> None:
    """The spiders' cheap look at a body, to confirm a 'not found' message in one run."""
    assert quality.quick_not_found_message(body) is expected


def test_doctests() -> None:
    import doctest

    result = doctest.testmod(quality)
    assert result.attempted and not result.failed
