"""Decoding bodies: declared, detected, mislabelled and overridden charsets; binary bodies."""

from __future__ import annotations

import pytest

from monitor.detect.decode import decode, looks_binary
from monitor.exceptions import ExtractionError, UndecodableContentError

RUSSIAN = (
    "Посольство Российской Федерации. Консульский отдел принимает заявления на визы "
    "по предварительной записи. Режим работы: понедельник – пятница, приём документов "
    "с 9:00 до 12:00. Справки по телефону."
)
GERMAN = (
    "Botschaft der Bundesrepublik Deutschland – Öffnungszeiten für Visaanträge: Montag bis "
    "Freitag. Gebühren können sich ändern; maßgeblich ist die Gebührenordnung."
)


def page(text: str, meta: str | None = None) -> str:
    declared = f'<meta charset="{meta}">' if meta else ""
    return (
        f"<html><head>{declared}<title>{text[:20]}</title></head>"
        f"<body><h1>{text[:40]}</h1><p>{text}</p></body></html>"
    )


HTML = "text/html"

# (name, body, content type, override, text that must come out, encoding name)
CASES = [
    (
        "windows-1251, charset in the header only",
        page(RUSSIAN).encode("cp1251"),
        "text/html; charset=windows-1251",
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "windows-1251, charset in <meta> only",
        page(RUSSIAN, "windows-1251").encode("cp1251"),
        HTML,
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "windows-1251, declared nowhere: detected",
        page(RUSSIAN).encode("cp1251"),
        HTML,
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "windows-1251 without any content type",
        page(RUSSIAN).encode("cp1251"),
        None,
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "windows-1251 mislabelled utf-8 in the header",
        page(RUSSIAN).encode("cp1251"),
        "text/html; charset=utf-8",
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "windows-1251 mislabelled utf-8 in <meta>",
        page(RUSSIAN, "utf-8").encode("cp1251"),
        HTML,
        None,
        RUSSIAN,
        "cp1251",
    ),
    (
        "utf-8 mislabelled windows-1251 in the header",
        page(RUSSIAN).encode("utf-8"),
        "text/html; charset=windows-1251",
        None,
        RUSSIAN,
        "utf-8",
    ),
    (
        "utf-8 mislabelled windows-1251 in <meta>",
        page(RUSSIAN, "windows-1251").encode("utf-8"),
        HTML,
        None,
        RUSSIAN,
        "utf-8",
    ),
    (
        "utf-8 mislabelled iso-8859-1 (russian)",
        page(RUSSIAN).encode("utf-8"),
        "text/html; charset=iso-8859-1",
        None,
        RUSSIAN,
        "utf-8",
    ),
    (
        "utf-8 mislabelled iso-8859-1 (german)",
        page(GERMAN).encode("utf-8"),
        "text/html; charset=iso-8859-1",
        None,
        GERMAN,
        "utf-8",
    ),
    (
        "utf-8 with a BOM against a windows-1251 label",
        b"\xef\xbb\xbf" + page(RUSSIAN).encode("utf-8"),
        "text/html; charset=windows-1251",
        None,
        RUSSIAN,
        "utf-8",
    ),
    (
        "windows-1252 declared as iso-8859-1",
        page(GERMAN).encode("cp1252"),
        "text/html; charset=iso-8859-1",
        None,
        GERMAN,
        "cp1252",
    ),
    (
        "koi8-r declared nowhere: detected",
        page(RUSSIAN.replace("–", "-")).encode("koi8-r"),
        HTML,
        None,
        RUSSIAN.replace("–", "-"),
        "koi8-r",
    ),
    (
        "per-target override wins over a wrong header",
        page(RUSSIAN).encode("cp1251"),
        "text/html; charset=utf-8",
        "windows-1251",
        RUSSIAN,
        "cp1251",
    ),
    (
        "plain ascii",
        page("Visa rules for students").encode("ascii"),
        HTML,
        None,
        "Visa rules for students",
        "ascii",
    ),
    (
        "octet-stream that is really html",
        page(RUSSIAN).encode("utf-8"),
        "application/octet-stream",
        None,
        RUSSIAN,
        "utf-8",
    ),
]


@pytest.mark.parametrize(
    ("body", "content_type", "override", "expected", "encoding"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_decode(
    body: bytes, content_type: str | None, override: str | None, expected: str, encoding: str
) -> None:
    text, name = decode(body, content_type, override)
    assert expected in text
    assert "\ufffd" not in text
    # No mojibake: no UTF-8 lead bytes read as latin-1 or windows-1251.
    assert not any(marker in text for marker in ("Ð", "Ñ", "Ã", "Р°", "вЂ"))
    assert name == encoding


def test_a_charset_flip_is_not_a_change() -> None:
    """The same page served once as windows-1251 and once as UTF-8 decodes the same."""
    legacy, _ = decode(page(RUSSIAN).encode("cp1251"), "text/html; charset=windows-1251")
    modern, _ = decode(page(RUSSIAN).encode("utf-8"), "text/html; charset=windows-1251")
    assert legacy == modern


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"


@pytest.mark.parametrize(
    ("body", "content_type", "mime"),
    [
        pytest.param(PNG, None, "unknown type", id="png signature, no content type"),
        pytest.param(PNG, "text/html", "text/html", id="png signature served as html"),
        pytest.param(b"<html>" + b"\x00" * 64 + b"</html>", HTML, "text/html", id="NUL bytes"),
        pytest.param(b"<html><p>ok</p></html>", "image/png", "image/png", id="image/png type"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", None, "unknown type", id="pdf"),
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00", "application/zip", "application/zip", id="zip"),
        pytest.param(b"\x1f\x8b\x08\x00\x00\x00\x00\x00", HTML, "text/html", id="gzip as html"),
    ],
)
def test_binary_bodies_are_undecodable(body: bytes, content_type: str | None, mime: str) -> None:
    assert looks_binary(body, content_type)
    with pytest.raises(UndecodableContentError, match=f"not text \\({mime}, {len(body)} bytes"):
        decode(body, content_type)


def test_undecodable_is_an_extraction_error() -> None:
    """observe() turns extraction errors into a low-quality capture, never a crash."""
    with pytest.raises(ExtractionError):
        decode(PNG, "image/png")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", HTML),
        (b"<html><body>hi</body></html>", "application/xhtml+xml"),
        (b"<feed><title>News</title></feed>", "application/atom+xml"),
        (b'{"title": "News"}', "application/json"),
        ("Привет\tмир\r\n".encode(), "text/plain; charset=utf-8"),
    ],
)
def test_text_bodies_are_not_binary(body: bytes, content_type: str) -> None:
    assert not looks_binary(body, content_type)
