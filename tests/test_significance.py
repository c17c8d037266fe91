"""Significance from named features: each case's features, then how cases rank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import config as cfg
from monitor.detect.significance import Significance, score

PAGE = "https://embassy.example/en/consular/visa-rules/"
TITLE = "Consular information - Embassy of Example"
BEFORE = [
    "Consular information",
    "Applicants need two photos and a copy of their passport.",
    "The consular fee is 80 euros.",
    "The embassy is closed on 1 May.",
    "Contact the consular section by e-mail.",
    "Processing takes up to 10 working days.",
]
LINKS = [
    ("https://embassy.example/forms/visa-application.pdf", "Visa application form"),
    ("https://embassy.example/en/contacts/", "Contacts"),
]


def _with(index: int, line: str) -> list[str]:
    lines = list(BEFORE)
    lines[index] = line
    return lines


def _changed(**overrides: Any) -> dict[str, Any]:
    event = {
        "before": BEFORE,
        "after": BEFORE,
        "title_before": TITLE,
        "title_after": TITLE,
        "links_before": LINKS,
        "links_after": LINKS,
        "url": PAGE,
    }
    event.update(overrides)
    return event


WORDING = _with(1, "Applicants need three photos and a copy of their passport.")

# name -> (kind, keyword arguments of score())
EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "wording change": ("changed", _changed(after=WORDING)),
    "wording change with a watch term": (
        "changed",
        _changed(after=_with(4, "Contact the consular section about your visa by e-mail.")),
    ),
    "wording change, watch term in the unchanged title": (
        "changed",
        _changed(
            after=WORDING,
            title_before="Visa rules - Embassy of Example",
            title_after="Visa rules - Embassy of Example",
        ),
    ),
    "link removed, text equal": ("changed", _changed(links_after=LINKS[1:])),
    "link added, text equal": (
        "changed",
        _changed(links_after=[*LINKS, ("https://embassy.example/faq/", "FAQ")]),
    ),
    "date changed": ("changed", _changed(after=_with(3, "The embassy is closed on 9 May."))),
    "figure changed": (
        "changed",
        _changed(after=_with(5, "Processing takes up to 15 working days.")),
    ),
    "fee changed": ("changed", _changed(after=_with(2, "The consular fee is 90 euros."))),
    "counter changed": (
        "changed",
        _changed(before=[*BEFORE, "Online now: 57"], after=[*BEFORE, "Online now: 63"]),
    ),
    "date changed on a listing": (
        "changed",
        _changed(after=_with(3, "The embassy is closed on 9 May."), role="listing"),
    ),
    "date wording changed": (
        "changed",
        _changed(after=_with(3, "The embassy is open on 1 May.")),
    ),
    "title only": (
        "changed",
        _changed(title_after="Consular services - Embassy of Example"),
    ),
    "title and the heading repeating it": (
        "changed",
        _changed(
            after=_with(0, "Consular services"),
            title_after="Consular services - Embassy of Example",
        ),
    ),
    "title and the text": (
        "changed",
        _changed(
            after=[*_with(0, "Consular services")[:4], "Contact us by telephone only.", BEFORE[5]],
            title_after="Consular services - Embassy of Example",
        ),
    ),
    "title changed to hold a watch term": (
        "changed",
        _changed(title_after="Visa services - Embassy of Example"),
    ),
    "wording change on a listing": ("changed", _changed(after=WORDING, role="listing")),
    "wording change on a home page": (
        "changed",
        _changed(after=WORDING, url="https://embassy.example/en/"),
    ),
    "paragraph removed": ("changed", _changed(after=BEFORE[:4] + BEFORE[5:])),
    "long rewrite": (
        "changed",
        _changed(after=_with(2, "The consular fee " + "depends on the visa type and " * 12)),
    ),
    "redirected elsewhere": (
        "changed",
        _changed(
            final_url_before=PAGE,
            final_url_after="https://mfa.example/en/visas/",
        ),
    ),
    "removed": ("removed", {"url": PAGE, "extra": {"how": "not_found"}}),
    "removed listing": ("removed", {"url": PAGE, "role": "listing"}),
    "added article with a watch term": ("added", {"after": ["New visa centre opens"]}),
    "added article": ("added", {"after": ["Days of culture in Graz"]}),
    "restored": ("restored", {"before": BEFORE, "after": BEFORE, "url": PAGE}),
}
WATCH = ("visa", "consular fee")


def _score(name: str) -> Significance:
    kind, arguments = EVENTS[name]
    return score(kind, watch_terms=WATCH, **arguments)


# name -> features the score must report (a subset; None: the feature must be absent)
FEATURES: list[Any] = [
    ("wording change", {"words_added": 1, "words_removed": 1, "watch_terms": None}),
    ("wording change with a watch term", {"watch_terms": ["visa"]}),
    ("figure changed", {"numbers_in_statement": "numbers", "numbers_only": None}),
    # The term is in the line, not among the changed words: the number is what changed.
    ("fee changed", {"numbers_in_statement": "numbers", "watch_terms": None}),
    ("counter changed", {"numbers_only": True, "numbers_in_statement": None}),
    ("date changed on a listing", {"numbers_only": True, "listing_or_home": True}),
    (
        "link removed, text equal",
        {
            "links_removed": [
                ["https://embassy.example/forms/visa-application.pdf", "Visa application form"]
            ],
            "links_added": [],
        },
    ),
    (
        "link added, text equal",
        {"links_removed": [], "links_added": [["https://embassy.example/faq/", "FAQ"]]},
    ),
    ("date changed", {"numbers_in_statement": "times/dates", "numbers_only": None}),
    ("date wording changed", {"numbers_only": None}),
    ("title only", {"title_changed": True, "title_only": True}),
    ("title and the heading repeating it", {"title_changed": True, "title_only": True}),
    ("title and the text", {"title_changed": True, "title_only": None}),
    ("wording change on a listing", {"listing_or_home": True}),
    ("wording change on a home page", {"listing_or_home": True}),
    ("wording change", {"listing_or_home": None, "title_changed": None, "numbers_only": None}),
    ("title changed to hold a watch term", {"title_only": True, "watch_terms": ["visa"]}),
    (
        "redirected elsewhere",
        {"redirect": {"from": PAGE, "to": "https://mfa.example/en/visas/"}},
    ),
    ("removed", {"how": "not_found"}),
    ("added article with a watch term", {"watch_terms": ["visa"]}),
    ("added article", {"watch_terms": None}),
    pytest.param(
        "wording change, watch term in the unchanged title",
        {"watch_terms": None},
        id="wording change, watch term in the unchanged title",
    ),
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [case if hasattr(case, "marks") else pytest.param(*case, id=case[0]) for case in FEATURES],
)
def test_features(name: str, expected: dict[str, Any]) -> None:
    significance = _score(name)
    got = {key: significance.features.get(key) for key in expected}
    assert got == expected
    assert 0.0 <= significance.score <= 1.0
    assert significance.features["reasons"] == list(significance.reasons)


# (higher, lower): the first event matters more than the second.
RANKING = [
    ("link removed, text equal", "wording change"),
    ("link removed, text equal", "link added, text equal"),
    ("wording change with a watch term", "wording change"),
    ("date changed", "counter changed"),
    ("figure changed", "counter changed"),
    ("date changed", "date changed on a listing"),
    ("wording change", "wording change on a listing"),
    ("wording change", "wording change on a home page"),
    ("title and the text", "title only"),
    ("paragraph removed", "wording change"),
    ("long rewrite", "wording change"),
    ("redirected elsewhere", "wording change"),
    ("removed", "wording change"),
    ("removed", "link removed, text equal"),
    ("removed", "restored"),
    ("removed", "removed listing"),
    ("added article with a watch term", "added article"),
]


@pytest.mark.parametrize(("higher", "lower"), RANKING, ids=[f"{a} > {b}" for a, b in RANKING])
def test_ranking(higher: str, lower: str) -> None:
    assert _score(higher).score > _score(lower).score


def test_one_long_contiguous_change_is_named() -> None:
    long = _score("long rewrite")
    assert long.features["longest_change_chars"] >= 300
    assert any(reason.startswith("one long contiguous change") for reason in long.reasons)


def test_removed_scores_high() -> None:
    assert _score("removed").score >= 0.8


def test_numbers_in_a_statement_score_like_a_wording_change_of_the_same_size() -> None:
    """A date in a sentence is a fact: moving it is as much a change as editing a word."""
    numbers, wording = _score("date changed"), _score("date wording changed")
    assert numbers.features["words_added"] == wording.features["words_added"]
    assert numbers.score == wording.score >= 0.2
    assert "times/dates changed in the statement" in numbers.reasons


def test_numbers_outside_a_statement_are_weighted_down() -> None:
    counter, figure = _score("counter changed"), _score("figure changed")
    assert counter.score < 0.2 <= figure.score
    assert "only numbers or dates changed" in counter.reasons


def test_watch_terms_are_matched_case_insensitively_and_reported_once() -> None:
    result = score(
        "changed",
        before=["Apply for a VISA.", "Visa fees."],
        after=["Apply for a Visa online.", "VISA fees apply."],
        watch_terms=("Visa", "visa", ""),
    )
    assert result.features["watch_terms"] == ["visa"]
    assert result.reasons.count("watch-list terms: visa") == 1


def test_an_unchanged_capture_scores_only_its_base() -> None:
    plain = score("changed", before=BEFORE, after=BEFORE, url=PAGE)
    assert plain.reasons == ()
    assert plain.score < _score("wording change with a watch term").score


CASES = yaml.safe_load(
    (Path(__file__).parent / "data" / "detection" / "significance.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_significance_cases(case: dict[str, Any]) -> None:
    """The data-driven cases: numbers and dates in statements, watch terms per language."""
    result = score(
        "changed",
        before=case["before"],
        after=case["after"],
        url=case.get("url", PAGE),
        role=case.get("role", "page"),
        watch_terms=cfg.Detect(**case.get("detect", {})).terms,
    )
    if "at_least" in case:
        assert result.score >= case["at_least"], result
    if "below" in case:
        assert result.score < case["below"], result
    for reason in case.get("reasons", []):
        assert reason in result.reasons, result.reasons
    for reason in case.get("not_reasons", []):
        assert reason not in result.reasons, result.reasons
    if "watch_terms" in case:
        assert result.features.get("watch_terms") == case["watch_terms"]
