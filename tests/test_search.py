"""Full-text search: the query language, excerpts, and the same results on SQLite (FTS5)
and PostgreSQL (tsvector), over versions made by the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import delete, select, update

from monitor.check import run_check
from monitor.history.search import SearchQueryError, excerpt, parse_query, search
from monitor.storage import db
from monitor.storage.models import Version
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a></nav><article><h1>{title}</h1>
{paragraphs}
</article><footer>Contacts</footer></body></html>"""

TEXTS = {
    "en": (
        "Embassy notice",
        [
            "The Embassy informs that visa applications are suspended until 8 March.",
            "Write to consul@example.org (e-mail) with questions; the fee is 3.5 euros.",
            "Passports issued before the 1st of January remain valid.",
        ],
    ),
    "ru": (
        "Объявление консульского отдела",
        [
            "Консульский отдел Посольства информирует о приостановке приёма заявлений на визы.",
            "Приём граждан возобновится в апреле.",
        ],
    ),
    "fr": (
        "Avis du consulat",
        ["Le consulat est fermé le lundi.", "Un café est offert à l'entrée du bâtiment."],
    ),
    "de": (
        "Mitteilung der Botschaft",
        ["Die Botschaft bleibt geschlossen.", "Visaanträge werden derzeit nicht bearbeitet."],
    ),
}
EN_V2 = [
    "The Embassy informs that visa applications resume on 10 March.",
    "Write to consul@example.org (e-mail) with questions; the fee is 3.5 euros.",
    "Passports issued before the 1st of January remain valid.",
]


def _html(title: str, paragraphs: list[str]) -> str:
    return PAGE.format(title=title, paragraphs="\n".join(f"<p>{p}</p>" for p in paragraphs))


@pytest.fixture
def searched(site: LocalSite, database_url: str) -> Iterator[Store]:
    for name, (title, paragraphs) in TEXTS.items():
        site.page(f"/{name}", _html(title, paragraphs))
    tags = {"en": ["visa", "english"], "ru": ["visa"], "fr": [], "de": []}
    config = make_config(
        database_url,
        [{"name": name, "url": site.url(f"/{name}"), "tags": tags[name]} for name in TEXTS],
    )
    store = Store(database_url)
    run_check(config, store, config.targets)
    site.page("/en", _html("Embassy notice", EN_V2))
    run_check(config, store, config.targets)
    assert [v.seq for v in store.versions(store.page("en").id)] == [1, 2]
    try:
        yield store
    finally:
        store.close()


def _found(store: Store, query: str, **filters: object) -> dict[str, list[int]]:
    result = search(store, query, **filters)  # type: ignore[arg-type]
    return {page.target: page.seqs for page in result.pages}


# The same expectations hold on both backends: that is the parity.
CASES = [
    ("visa", {"en": [1, 2]}),
    ("VISA applications", {"en": [1, 2]}),
    ("suspended", {"en": [1]}),
    ('"applications are suspended"', {"en": [1]}),
    ('"suspended applications"', {}),
    ("susp*", {"en": [1]}),
    ('"visa appl"*', {"en": [1, 2]}),
    ('"march write"', {"en": [1, 2]}),  # a phrase goes on across lines
    ('embassy -"applications resume"', {"en": [1]}),
    ('-"visa applications" embassy', {}),
    ('"консульский отдел"', {"ru": [1]}),
    ("visa -suspended", {"en": [2]}),
    ("notice", {"en": [1, 2]}),  # in the title
    ("consul", {"en": [1, 2]}),  # an e-mail address is words
    ("example org", {"en": [1, 2]}),
    ("e-mail", {"en": [1, 2]}),
    ('"3.5 euros"', {"en": [1, 2]}),
    ("1st", {"en": [1, 2]}),
    ("консульский", {"ru": [1]}),
    ("КОНСУЛЬСКИЙ отдел", {"ru": [1]}),
    ("приём", {"ru": [1]}),
    ("прием", {}),  # ё is not е: no folding of letters
    ("виз*", {"ru": [1]}),
    ("fermé", {"fr": [1]}),
    ("ferme", {}),  # accents matter
    ("l'entrée", {"fr": [1]}),
    ("Visaanträge", {"de": [1]}),
    ("visaantrage", {}),
    ("botschaft -geschlossen", {}),
    ("nowhere", {}),
]


def test_same_results_on_both_backends(searched: Store) -> None:
    """Every case on each backend (one history per backend: the pipeline takes a second)."""
    wrong = {
        query: (found, expected)
        for query, expected in CASES
        if (found := _found(searched, query)) != expected
    }
    assert wrong == {}, f"{searched.engine.dialect.name}: (found, expected) by query"

    # Filters.
    assert _found(searched, "visa", targets=["ru"]) == {}
    assert _found(searched, "visa", tags=["english"]) == {"en": [1, 2]}
    assert _found(searched, "приём", tags=["visa"]) == {"ru": [1]}
    assert _found(searched, "приём", tags=["nothing"]) == {}
    v2 = searched.versions(searched.page("en").id)[1].captured_at
    assert _found(searched, "visa", since=v2) == {"en": [2]}
    assert _found(searched, "visa", until=v2) == {"en": [1]}
    assert _found(searched, "visa", since=datetime.now(UTC) + timedelta(days=1)) == {}

    # Results say whether the current version still matches.
    result = search(searched, "suspended")
    (page,) = result.pages
    assert (page.current, page.latest_seq, page.ranges()) == (False, 2, "v1")
    assert ("suspended", True) in page.excerpt
    assert result.versions == 1 and result.total_pages == 1
    assert search(searched, "visa").pages[0].current is True
    assert search(searched, "visa OR nothing", limit=1).total_pages == 0  # all words needed


def test_index_follows_edits_deletions_and_migrations(searched: Store) -> None:
    """Versions are never edited by the monitor, but the index follows the table anyway;
    versions stored before the search migration are indexed by it."""
    config = db.alembic_config(searched.engine)
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    assert _found(searched, "приём") == {"ru": [1]}
    fr = searched.page("fr").id
    with searched.session() as session, session.begin():
        session.execute(
            update(Version).where(Version.page_id == fr).values(text="Fermeture totale")
        )
    assert _found(searched, "fermeture") == {"fr": [1]}
    assert _found(searched, "café") == {}
    with searched.session() as session, session.begin():
        session.execute(delete(Version).where(Version.page_id == fr))
    assert _found(searched, "fermeture") == {}
    with searched.session() as session:
        assert session.scalar(select(Version.id).where(Version.page_id == fr)) is None


@pytest.mark.parametrize(
    "query,fts5,tsquery",
    [
        ("visa", '"visa"', "('visa')"),
        (
            '"closed until" evacuat*',
            '"closed until" AND "evacuat"*',
            "('closed' & 'until') & ('evacuat':*)",
        ),
        ("e-mail", '"e mail"', "('e' & 'mail')"),
        (
            "visa -rumour -'fake'",
            '("visa") NOT ("rumour" OR "fake")',
            "('visa') & !(('rumour') | ('fake'))",
        ),
        ("it's \"O'Brien\"", '"it s" AND "O Brien"', "('it' & 's') & ('O' & 'Brien')"),
        (
            'unclosed "quote here',
            '"unclosed" AND "quote here"',
            "('unclosed') & ('quote' & 'here')",
        ),
    ],
)
def test_query_language(query: str, fts5: str, tsquery: str) -> None:
    parsed = parse_query(query)
    assert parsed.fts5() == fts5
    assert parsed.tsquery() == tsquery


def test_phrases_for_postgresql() -> None:
    assert parse_query('"closed until" visa -"fake news" -rumour "evac pl"*').phrases() == [
        ("(^|[^[:alnum:]])closed[^[:alnum:]]+until([^[:alnum:]]|$)", False),
        ("(^|[^[:alnum:]])evac[^[:alnum:]]+pl", False),
        ("(^|[^[:alnum:]])fake[^[:alnum:]]+news([^[:alnum:]]|$)", True),
    ]


@pytest.mark.parametrize("query", ["", "   ", "---", "-visa", '""', "* ' ;"])
def test_queries_with_nothing_to_find(query: str) -> None:
    with pytest.raises(SearchQueryError, match="nothing to search for"):
        parse_query(query)


def test_excerpt_cuts_around_the_first_match() -> None:
    line = "word " * 60 + "the visa rules changed " + "more " * 60
    pieces = excerpt("Title\n" + line, ["visa"], context=30)
    text = "".join(piece for piece, _ in pieces)
    assert text.startswith("…") and text.endswith("…") and len(text) < 100
    assert ("visa", True) in pieces
    assert excerpt("Nothing here\nat all", ["visa"]) == [("Nothing here", False)]
