"""More shapes of soft removals seen on official sites, and look-alikes that are content."""

from __future__ import annotations

import pytest

from monitor.detect import quality

ARTICLE = "https://embassy.example/en/news/2024/05/statement-on-visas.html"


@pytest.mark.parametrize(
    ("title", "text", "kind"),
    [
        (
            "Embassy of Exampleland",
            "Error\nSorry, the page you are looking for cannot be found.",
            "soft_404",
        ),
        (
            "Embassy of Exampleland",
            "The requested page could not be found on this server.",
            "soft_404",
        ),
        ("Посольство", "Запрашиваемая страница не найдена. Вернуться на главную.", "soft_404"),
        (
            "Statement on visas",
            "The embassy cannot be found at its old address since May; "
            "visitors are received at 12 Park Road.",
            "ok",
        ),
        ("Lost documents", "If your passport cannot be found, report its loss at once.", "ok"),
    ],
)
def test_not_found_messages(title: str, text: str, kind: str) -> None:
    assert quality.judge(200, ARTICLE, ARTICLE, title, text).kind == kind


@pytest.mark.parametrize(
    ("final", "removal"),
    [
        ("https://embassy.example/en/news/", True),  # to its section
        ("https://embassy.example/en/news/2024/", True),
        ("https://embassy.example/en/news/2024/05/statement-on-visas-updated.html", False),
        ("https://embassy.example/en/about/", False),
        ("https://other.example/en/news/", False),
    ],
)
def test_redirect_to_a_section_above(final: str, removal: bool) -> None:
    assert quality.redirected_to_parent(ARTICLE, final) is removal
    assert quality.quick_removal(200, ARTICLE, final, "News", 5000) is removal


@pytest.mark.parametrize(
    "title",
    [
        "Página não encontrada",
        "Сторінку не знайдено | Посольство",
        "Sayfa bulunamadı",
        "الصفحة غير موجودة",
        "页面不存在 - 大使馆",
        "Error 404 - Page not found",
    ],
)
def test_not_found_titles_in_more_languages(title: str) -> None:
    assert quality.judge(200, ARTICLE, ARTICLE, title, "Short text.").kind == "soft_404"


def test_451_is_a_removal() -> None:
    verdict = quality.judge(451, ARTICLE, ARTICLE, None, "")
    assert verdict.removal and verdict.reason == "HTTP 451"
