"""Watch terms: the built-in lists are documented in full, and each term finds itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from monitor import config as cfg
from monitor.detect import terms
from monitor.detect.differ import diff_text
from monitor.detect.significance import changed_terms, matching_terms

ROOT = Path(__file__).resolve().parents[1]


def _example_lists() -> dict[str, list[str]]:
    """The lists shown in config.example.yaml, under "The built-in lists, in full"."""
    text = (ROOT / "config.example.yaml").read_text()
    block = text.split("The built-in lists, in full", 1)[1].split("\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if not line.lstrip().startswith("#"):
            break
        lines.append(line.split("#", 1)[1])
    return yaml.safe_load("\n".join(lines))


def _readme_lists() -> dict[str, list[str]]:
    """The lists in the README's yaml block of the "Watch terms" section."""
    section = (ROOT / "README.md").read_text().split("### Watch terms", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "the README shows the built-in watch terms in a yaml block"
    return yaml.safe_load(match.group(1))


def _code_lists() -> dict[str, list[str]]:
    return {language: list(values) for language, values in terms.defaults().items()}


def test_example_config_shows_the_built_in_lists_in_full() -> None:
    assert _example_lists() == _code_lists()


def test_readme_shows_the_built_in_lists_in_full() -> None:
    assert _readme_lists() == _code_lists()


def test_the_languages_official_sites_publish_in_have_lists() -> None:
    assert {"en", "ru", "fr", "es", "ar", "zh", "de"} <= set(terms.defaults())


def test_the_default_config_uses_every_list_and_adds_your_own() -> None:
    every = terms.default_terms()
    assert cfg.Detect().terms == every
    assert cfg.Detect(watch_terms=("treaty",)).terms == (*every, "treaty")
    assert cfg.Detect(default_watch_terms=False, watch_terms=("treaty",)).terms == ("treaty",)
    assert cfg.Detect(default_watch_terms=("de",)).terms == terms.defaults()["de"]


BUILT_IN = [
    pytest.param(language, term, id=f"{language}:{term}")
    for language, values in terms.defaults().items()
    for term in values
]


@pytest.mark.parametrize(("language", "term"), BUILT_IN)
def test_each_built_in_term_finds_itself_among_inserted_words(language: str, term: str) -> None:
    word = term.rstrip("*")
    spaced = language not in ("zh",)
    before = "Ok." if spaced else "好。"
    after = f"Ok. {word} now." if spaced else f"好。{word}。"
    name = word.lower()
    assert changed_terms([term], diff_text(before, after)) == [name]
    # ... and not when it stands beside the edit.
    still = f"{word} here. Ok." if spaced else f"{word}。好。"
    edited = f"{word} here. Fine." if spaced else f"{word}。坏。"
    assert changed_terms([term], diff_text(still, edited)) == []


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("visa", "Visas are issued", True),
        ("visa", "visage", True),  # up to 3 more letters
        ("visa", "visualise", False),
        ("war", "wars", True),
        ("war", "warnte", False),  # 3 letters or fewer: 1 more letter
        ("war", "waren", False),
        ("war", "award", False),  # at the start of a word only
        ("evacu*", "evacuees", True),
        ("fee", "feedback", False),
        ("fee*", "feedback", True),
        ("travel advisory", "Travel   advisory issued", True),
        ("travel advisory", "advisory on travel", False),
        ("закрыт*", "ЗАКРЫТО", True),
        ("ёлка", "елка", True),
        ("й", "и", False),
        ("حرب", "فالحرب", True),
        ("حرب", "للحرب", True),
        ("الحرب", "حرب", True),
        ("سفير", "السفيرة", True),
        ("撤离", "请尽快撤离", True),
        ("关闭", "關閉", False),  # simplified and traditional are listed separately
    ],
)
def test_matching_rules(term: str, text: str, found: bool) -> None:
    assert bool(matching_terms([term], text)) is found


def test_folding_adds_up_piece_by_piece() -> None:
    line = "L'ÉTAT d'urgence: Schließung, إجلاء الرَّعايا, Ёлка"
    assert terms.fold(line) == "".join(terms.fold(char) for char in line)
