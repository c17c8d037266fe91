"""Normalising text and URLs so that only real edits differ (normalize.yaml); mojibake."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.detect.normalize import canonical_url, normalize_line, normalize_lines
from monitor.detect.observe import repair_mojibake

DATA = Path(__file__).parent / "data" / "detection"
CASES = yaml.safe_load((DATA / "normalize.yaml").read_text())


def _params(kind: str) -> list[Any]:
    return [pytest.param(case["input"], case["expect"], id=case["name"]) for case in CASES[kind]]


@pytest.mark.parametrize(("line", "expected"), _params("lines"))
def test_normalize_line(line: str, expected: str) -> None:
    assert normalize_line(line) == expected
    assert normalize_line(expected) == expected, "normalising is idempotent"


@pytest.mark.parametrize(("url", "expected"), _params("urls"))
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected, "a canonical URL is its own canonical form"


@pytest.mark.parametrize(
    "text",
    [
        "Приём заявлений на визу",  # й and ё decompose
        "Посольство Ёмкое",
        "Café Noël, Zürich, São Paulo",
        "Việt Nam",
    ],
)
def test_composed_and_decomposed_forms_are_equal(text: str) -> None:
    composed, decomposed = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert composed != decomposed, "the case must really differ in its code points"
    assert normalize_line(decomposed) == normalize_line(composed) == composed


def test_normalize_lines_drops_empty_lines_and_applies_ignore_patterns() -> None:
    lines = ["  Visa rules ", "", "\u200b", "Session 48213 started", "Fee: 150\u00a0euros"]
    ignore = [re.compile(r"Session \d+"), re.compile(r"^Fee: ")]
    assert normalize_lines(lines, ignore) == ["Visa rules", "started", "150 euros"]


def test_an_ignore_pattern_that_empties_a_line_drops_it() -> None:
    assert normalize_lines(["Visitors: 1234", "Visa"], [re.compile(r"Visitors: \d+")]) == ["Visa"]


LATIN1_MOJIBAKE = "Привет мир".encode().decode("latin-1")


@pytest.mark.parametrize(
    ("garbled", "expected"),
    [
        pytest.param(LATIN1_MOJIBAKE, "Привет мир", id="russian read as latin-1"),
        pytest.param(
            "Посольство закрыто 1 мая.".encode().decode("latin-1"),
            "Посольство закрыто 1 мая.",
            id="a sentence read as latin-1",
        ),
        pytest.param(
            "Café Noël, déjà vu".encode().decode("cp1252"),
            "Café Noël, déjà vu",
            id="french read as windows-1252",
        ),
        pytest.param(
            "Посольство закрыто 1 мая.".encode().decode("cp1251"),
            "Посольство закрыто 1 мая.",
            id="russian read as windows-1251",
        ),
    ],
)
def test_repair_mojibake(garbled: str, expected: str) -> None:
    assert garbled != expected
    assert repair_mojibake(garbled) == expected


@pytest.mark.parametrize(
    "clean",
    [
        "Привет мир",
        "Посольство закрыто 1 мая. Приём документов возобновлён.",
        "Straße, Öffnungszeiten, Gebühren",
        "Prix : 35 €, câble, âge, Ça va",
        "Ñandú, Ñoño — Ðorđe",
        "<p>Visa rules for students</p>",
        "",
    ],
)
def test_repair_mojibake_leaves_clean_text_untouched(clean: str) -> None:
    assert repair_mojibake(clean) == clean
