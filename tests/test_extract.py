"""Extraction of the compared content: main region, learned regions, rules (extract.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.detect.extract import EXTRACTORS, Rules, extract
from monitor.exceptions import ExtractionError, SelectorNotMatchedError
from monitor.selector import Selector

DATA = Path(__file__).parent / "data" / "detection"
CASES = yaml.safe_load((DATA / "extract.yaml").read_text())
BASE = "https://embassy.example/en/news/visa-rules-students/"
ARTICLE = (DATA / "embassy-article.html").read_text()
REDESIGN = (DATA / "embassy-article-redesign.html").read_text()


def _html(case: dict[str, Any]) -> str:
    return (DATA / case["file"]).read_text() if "file" in case else str(case["html"])


def _rules(case: dict[str, Any]) -> Rules:
    rules = dict(case.get("rules", {}))
    rules["exclude"] = tuple(Selector.parse(item) for item in rules.get("exclude", ()))
    if rules.get("selector"):
        rules["selector"] = Selector.parse(rules["selector"])
    return Rules(**rules)


def _in_order(wanted: list[str], lines: list[str]) -> bool:
    remaining = iter(lines)
    return all(any(line == want for line in remaining) for want in wanted)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case["name"],
            marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {case['bug']}")]
            if "bug" in case
            else [],
        )
        for case in CASES
    ],
)
def test_extract(case: dict[str, Any]) -> None:
    extracted = extract(_html(case), BASE, _rules(case))
    if "title" in case:
        assert extracted.title == case["title"]
    if "lines" in case:
        assert extracted.lines == case["lines"]
    if "contains" in case:
        assert _in_order(case["contains"], extracted.lines), extracted.lines
    for fragment in case.get("absent", ()):
        assert not [line for line in extracted.lines if fragment in line], fragment
    if "links" in case:
        assert [list(link) for link in extracted.links] == case["links"]
    if "images" in case:
        assert [list(image) for image in extracted.images] == case["images"]


def test_the_learned_region_is_found_again_after_a_markup_only_change() -> None:
    first = extract(ARTICLE, BASE, Rules())
    assert first.region, "the main extractor reports the region it used"
    again = extract(REDESIGN, BASE, Rules(), region=first.region)
    # Found from the learned path (not relocated): the same path comes back.
    assert again.region == first.region
    assert again.lines == first.lines
    assert again.title == first.title


def test_without_an_id_the_region_is_located_again_with_the_same_lines() -> None:
    # No id to anchor the path: the absolute path breaks on the new wrappers, and the
    # region is located afresh; what is compared must not change.
    article = ARTICLE.replace('<main id="content">', "<main>")
    redesign = REDESIGN.replace('<main id="content">', "<main>")
    first = extract(article, BASE, Rules())
    again = extract(redesign, BASE, Rules(), region=first.region)
    assert again.lines == first.lines
    assert again.region is not None and again.region != first.region


def test_a_learned_region_is_used_instead_of_locating_one() -> None:
    # A learned region that holds the breadcrumb: the learned path wins over heuristics.
    learned = "//div[@class='breadcrumb']"
    breadcrumb = extract(ARTICLE, BASE, Rules(), region=learned)
    assert breadcrumb.region == learned
    assert breadcrumb.lines == ["Home / News / New visa rules for students"]


def test_a_learned_region_inside_page_chrome_is_not_used() -> None:
    # Chrome (here the sidebar) is pruned before the learned path is looked up.
    relocated = extract(ARTICLE, BASE, Rules(), region="//aside")
    assert relocated.region != "//aside"
    assert "Related news" not in relocated.lines


def test_a_learned_region_that_no_longer_matches_is_located_again() -> None:
    relocated = extract(ARTICLE, BASE, Rules(), region="//div[@id='gone']/article")
    assert relocated.region != "//div[@id='gone']/article"
    assert relocated.lines == extract(ARTICLE, BASE, Rules()).lines


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_a_selector_that_matches_nothing_is_an_error(extractor: str) -> None:
    rules = Rules(extractor=extractor, selector=Selector.parse("css:#no-such-element"))
    with pytest.raises(SelectorNotMatchedError, match="#no-such-element"):
        extract(ARTICLE, BASE, rules)


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
@pytest.mark.parametrize("document", ["", "   \n\t ", "<?xml version='1.0'?>"])
def test_an_empty_document_is_an_extraction_error(extractor: str, document: str) -> None:
    with pytest.raises(ExtractionError, match="empty"):
        extract(document, BASE, Rules(extractor=extractor))


def test_an_unknown_extractor_names_the_known_ones() -> None:
    with pytest.raises(ExtractionError, match="unknown extractor 'readability'; known: main"):
        extract(ARTICLE, BASE, Rules(extractor="readability"))


def test_an_unknown_selector_kind_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="unknown selector kind"):
        Selector("jquery", "article")  # type: ignore[arg-type]


@pytest.mark.parametrize("extractor", sorted(EXTRACTORS))
def test_every_extractor_is_documented(extractor: str) -> None:
    assert (EXTRACTORS[extractor].__doc__ or "").strip()
