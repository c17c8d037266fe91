"""Documents end to end: PDFs, .docx and .odt made here with real text (several pages,
Latin and Cyrillic, a table), served by a local site, checked through Scrapy; a page's
linked documents watched as its attachments."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.check import run_check
from monitor.detect import documents
from monitor.detect.differ import diff_text
from monitor.storage.models import Capture, Change, LearningNote, Page
from monitor.storage.store import Store
from tests.conftest import make_config
from tests.sites import LocalSite

# Debian's fonts-dejavu-core (on the machine and in CI, see .ci/run): a TTF with Cyrillic.
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

PAGE_ONE = [
    "Statement of the Ministry of Foreign Affairs on the consular agreement.",
    "The Ministry confirms that consular sections will remain open during the "
    "negotiations, and that visa applications filed before 15 March are processed as usual.",
    "Министерство иностранных дел подтверждает, что консульские отделы продолжат работу "
    "в обычном режиме до окончания переговоров.",
]
PAGE_TWO = [
    "Міністерство закордонних справ нагадує громадянам про правила перетину кордону.",
    "Further information is published on the website of each embassy.",
]
TABLE = [
    ["City", "Date", "Status"],
    ["Kyiv", "15 March", "open"],
    ["Москва", "16 March", "закрыто"],
]
PDF = "application/pdf"


def make_pdf(
    pages: list[list[str]],
    *,
    table: list[list[str]] | None = TABLE,
    title: str = "Statement",
    author: str = "Press office",
    compress: bool = True,
) -> bytes:
    """A PDF with real text: one page per list of paragraphs, a table on the first."""
    from fpdf import FPDF

    assert FONT.exists(), f"{FONT} is missing: apt-get install fonts-dejavu-core"
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_font("DejaVu", style="B", fname=str(FONT.with_name("DejaVuSans-Bold.ttf")))
    pdf.set_font("DejaVu", size=11)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creation_date(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    for number, paragraphs in enumerate(pages):
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        if number == 0 and table:
            with pdf.table() as grid:
                for row in table:
                    cells = grid.row()
                    for cell in row:
                        cells.cell(cell)
    return bytes(pdf.output())


def with_metadata(body: bytes, **info: str) -> bytes:
    """The same PDF written again by pypdf with other metadata (Title, Author, ModDate)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(body)))
    writer.add_metadata({f"/{name}": value for name, value in info.items()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def events_of(store: Store) -> list[Change]:
    with store.session() as session:
        return list(session.scalars(select(Change).order_by(Change.id)).all())


def notes_of(store: Store) -> list[LearningNote]:
    with store.session() as session:
        return list(session.scalars(select(LearningNote).order_by(LearningNote.id)).all())


def captures_of(store: Store, url: str) -> list[Capture]:
    with store.session() as session:
        return list(
            session.scalars(
                select(Capture).where(Capture.requested_url == url).order_by(Capture.id)
            ).all()
        )


def test_pdf_versioned_by_text(site: LocalSite, tmp_path: Path) -> None:
    original = make_pdf([PAGE_ONE, PAGE_TWO])
    site.page("/statement.pdf", original, content_type=PDF)
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "pdf", "url": site.url("/statement.pdf")}]
    )
    store = Store(config.database)

    first = run_check(config, store, config.targets)
    assert (first.first_versions, first.errors) == (1, 0)
    page_id = store.page("pdf").id
    [version] = store.versions(page_id)
    lines = version.text.splitlines()
    assert lines[0] == "— page 1 —" and "— page 2 —" in lines
    assert "в обычном режиме до окончания переговоров." in version.text
    assert "Міністерство закордонних справ" in version.text
    assert any("Москва" in line and "16 March" in line for line in lines)  # a table row
    assert lines.index("— page 2 —") < next(i for i, x in enumerate(lines) if "Міністерство" in x)
    note = captures_of(store, site.url("/statement.pdf"))[0].note or ""
    assert "Title: Statement" in note and "Author: Press office" in note

    # The same text written again: uncompressed streams, other bytes; then other metadata.
    site.page("/statement.pdf", make_pdf([PAGE_ONE, PAGE_TWO], compress=False), content_type=PDF)
    assert run_check(config, store, config.targets).unchanged == 1
    relabelled = with_metadata(
        original, Title="Заявление МИД", Author="Someone else", ModDate="D:20260305120000Z"
    )
    assert relabelled != original
    site.page("/statement.pdf", relabelled, content_type="application/octet-stream")
    third = run_check(config, store, config.targets)
    assert (third.unchanged, third.new_versions, third.events) == (1, 0, {})
    last = captures_of(store, site.url("/statement.pdf"))[-1]
    assert last.outcome == "unchanged" and "Title: Заявление МИД" in (last.note or "")
    assert "Author: Someone else" in (last.note or "")
    assert events_of(store) == []
    # Shown on the page's timeline as a note, not alerted.
    [note] = notes_of(store)
    assert note.page_id == page_id and note.action == "metadata"
    assert "Title: 'Statement' → 'Заявление МИД'" in note.summary
    assert "Author: 'Press office' → 'Someone else'" in note.summary
    assert "ModDate: (none) → 'D:20260305120000Z'" in note.summary

    # One paragraph edited: one change, and its word diff is the edit.
    edited = [PAGE_ONE[0], PAGE_ONE[1].replace("15 March", "22 March"), PAGE_ONE[2]]
    site.page("/statement.pdf", make_pdf([edited, PAGE_TWO]), content_type=PDF)
    fourth = run_check(config, store, config.targets)
    assert fourth.events == {"changed": 1}
    [event] = events_of(store)
    assert event.page_id == page_id and "+1 / -1 words" in (event.summary or "")
    before, after = store.versions(page_id)
    diff = diff_text(before.text, after.text)
    assert (diff.removed_text.split(), diff.added_text.split()) == (["15"], ["22"])
    assert store.counts()["versions"] == 2
    store.close()


def test_docx_and_odt_text(site: LocalSite, tmp_path: Path) -> None:
    import docx
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableRow
    from odf.text import H, P

    def make_docx(paragraph: str) -> bytes:
        document = docx.Document()
        document.add_heading("Заявление", level=1)
        document.add_paragraph(paragraph)
        table = document.add_table(rows=0, cols=3)
        for row in TABLE:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                cell.text = text
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    def make_odt(paragraph: str) -> bytes:
        document = OpenDocumentText()
        document.text.addElement(H(outlinelevel=1, text="Statement"))
        document.text.addElement(P(text=paragraph))
        table = Table(name="cities")
        for row in TABLE:
            cells = TableRow()
            for text in row:
                cell = TableCell()
                cell.addElement(P(text=text))
                cells.addElement(cell)
            table.addElement(cells)
        document.text.addElement(table)
        out = io.BytesIO()
        document.write(out)
        return out.getvalue()

    docx_type = documents.DOCX_TYPE
    site.page("/s.docx", make_docx("Консульства открыты до 15 марта."), content_type=docx_type)
    # An .odt served as octet-stream: known by what its ZIP declares.
    site.page("/s.odt", make_odt("Consulates stay open until 15 March."), content_type="x/y")
    site.page("/s.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, content_type="x/y")
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [
            {"name": "docx", "url": site.url("/s.docx")},
            {"name": "odt", "url": site.url("/s.odt")},
            {"name": "doc", "url": site.url("/s.doc")},
        ],
    )
    store = Store(config.database)
    first = run_check(config, store, config.targets)
    assert first.first_versions == 2
    [docx_version] = store.versions(store.page("docx").id)
    assert "Консульства открыты до 15 марта." in docx_version.text
    assert "Москва | 16 March | закрыто" in docx_version.text.splitlines()
    [odt_version] = store.versions(store.page("odt").id)
    assert odt_version.text.splitlines()[1:3] == [
        "Statement",
        "Consulates stay open until 15 March.",
    ]
    assert "Kyiv | 15 March | open" in odt_version.text.splitlines()
    doc = captures_of(store, site.url("/s.doc"))[0]
    assert doc.quality == "low" and (doc.note or "").startswith("unsupported_document: ")
    assert "not supported" in (doc.note or "")

    site.page("/s.docx", make_docx("Консульства открыты до 20 марта."), content_type=docx_type)
    site.page("/s.odt", make_odt("Consulates stay open until 15 March."), content_type="x/y")
    second = run_check(config, store, config.targets)
    assert second.events == {"changed": 1}
    before, after = store.versions(store.page("docx").id)
    diff = diff_text(before.text, after.text)
    assert (diff.removed_text.split(), diff.added_text.split()) == (["15"], ["20"])
    store.close()


STATEMENT_PAGE = """<!doctype html><html><head><title>Statement on visas</title></head>
<body><nav><a href="/">Home</a> <a href="/files/guide.pdf">Guide (PDF)</a></nav>
<main><article><h1>Statement on visas</h1>
<p>The ministry publishes the signed text of its statement on visa rules.</p>
{links}
</article></main><footer><a href="/files/rules.pdf">Site rules</a></footer></body></html>"""


def statement_page(*files: str) -> str:
    links = "".join(f'<p><a href="/files/{name}">{name}</a></p>' for name in files)
    return STATEMENT_PAGE.format(links=links)


def attachment_rows(store: Store) -> dict[str, Any]:
    with store.session() as session:
        pages = session.scalars(select(Page).where(Page.role == "attachment")).all()
        return {page.url.rsplit("/", 1)[1]: page.id for page in pages}


def test_attachments_are_watched_with_their_page(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", statement_page("signed.pdf", "annex.pdf"))
    site.page("/files/signed.pdf", make_pdf([PAGE_ONE]), content_type=PDF)
    site.page("/files/annex.pdf", make_pdf([PAGE_TWO], table=None), content_type=PDF)
    site.page("/files/guide.pdf", make_pdf([["A guide in the menu."]]), content_type=PDF)
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "mfa", "url": site.url("/statement")}]
    )
    store = Store(config.database)

    first = run_check(config, store, config.targets)
    assert first.events == {} and first.errors == 0
    attachments = attachment_rows(store)
    assert set(attachments) == {"signed.pdf", "annex.pdf"}  # not the menu's, not the footer's
    assert "/files/guide.pdf" not in site.hits
    parent = store.page("mfa").id
    assert "Министерство" in store.versions(attachments["signed.pdf"])[0].text
    assert run_check(config, store, config.targets).events == {}

    # The annex's text changes: an event on the statement's page, naming the annex.
    site.page("/files/annex.pdf", make_pdf([PAGE_TWO[:1]], table=None), content_type=PDF)
    changed = run_check(config, store, config.targets)
    assert changed.events == {"changed": 1}
    [event] = events_of(store)
    assert event.page_id == parent
    assert "attachment annex.pdf" in (event.summary or "")
    assert event.features["attachment"] == site.url("/files/annex.pdf")

    # The signed text's link leaves the page: an event on the page, saying so.
    site.page("/statement", statement_page("annex.pdf"))
    removed = run_check(config, store, config.targets)
    assert removed.events == {"changed": 1}
    last = events_of(store)[-1]
    assert last.page_id == parent and "1 attachment removed" in (last.summary or "")
    assert [link[0] for link in last.features["links_removed"]] == [site.url("/files/signed.pdf")]
    assert "removed" in last.features.get("reasons", []) or last.significance > 0
    store.close()


def test_a_new_attachment_is_an_event_and_its_404_a_removal(
    site: LocalSite, tmp_path: Path
) -> None:
    site.page("/statement", statement_page("signed.pdf"))
    site.page("/files/signed.pdf", make_pdf([PAGE_ONE]), content_type=PDF)
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}", [{"name": "mfa", "url": site.url("/statement")}]
    )
    store = Store(config.database)
    run_check(config, store, config.targets)
    parent = store.page("mfa").id

    site.page("/statement", statement_page("signed.pdf", "annex.pdf"))
    site.page("/files/annex.pdf", make_pdf([PAGE_TWO]), content_type=PDF)
    added = run_check(config, store, config.targets)
    assert added.events == {"changed": 1}
    assert "1 attachment added" in (events_of(store)[-1].summary or "")

    # The link stays, the document is gone: confirmed like any removal, on the page.
    del site.routes["/files/signed.pdf"]
    gone = run_check(config, store, config.targets)
    assert gone.events == {"removed": 1}
    last = events_of(store)[-1]
    assert last.page_id == parent and "attachment signed.pdf" in (last.summary or "")
    store.close()


def test_attachments_can_be_turned_off(site: LocalSite, tmp_path: Path) -> None:
    site.page("/statement", statement_page("signed.pdf"))
    site.page("/files/signed.pdf", make_pdf([PAGE_ONE]), content_type=PDF)
    config = make_config(
        f"sqlite:///{tmp_path / 'm.db'}",
        [{"name": "mfa", "url": site.url("/statement"), "attachments": False}],
    )
    store = Store(config.database)
    assert run_check(config, store, config.targets).checked == 1
    assert "/files/signed.pdf" not in site.hits and attachment_rows(store) == {}
    store.close()


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"%PDF-1.7\n...", "application/octet-stream", "pdf"),
        (b"\n\n%PDF-1.4", "text/html", "pdf"),
        (b"<html>%PDF-</html>", "text/html", None),
        (b"<html></html>", PDF, None),
        (b"GIF89a", "image/gif", None),
    ],
)
def test_sniff(body: bytes, content_type: str, kind: str | None) -> None:
    assert documents.sniff(body, content_type) == kind


def test_attachments_through_the_command(site: LocalSite, tmp_path: Path) -> None:
    """`monitor check` and `monitor history` as a person runs them: the annex's change
    and its metadata note are on the statement's timeline; its capture opens there."""
    from click.testing import CliRunner

    from monitor.cli import main
    from monitor.history import capture_detail

    site.page("/statement", statement_page("annex.pdf"))
    site.page("/files/annex.pdf", make_pdf([PAGE_TWO], title="Annex"), content_type=PDF)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'm.db'}\n"
        "fetch: {delay: 0, obey_robots: false, retries: 1, timeout: 5}\n"
        "detect: {probe_delay: 0.1, confirm_removal_after: 0.1}\n"
        f"targets:\n  - name: mfa\n    url: {site.url('/statement')}\n"
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, [*args, "-c", str(config)])
        assert result.exit_code == 0, result.output
        return result.output

    assert "checked 2" in run("check")
    site.page("/files/annex.pdf", make_pdf([PAGE_TWO[:1]], title="Annex 2"), content_type=PDF)
    output = run("check")
    assert "changed" in output and "Further information is published" in output
    history = run("history", "mfa")
    assert "Changed: attachment annex.pdf (+0 / -10 words)" in history
    assert "attachment annex.pdf: Document metadata changed: Title: 'Annex' → 'Annex 2'" in history

    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    [event] = events_of(store)
    detail = capture_detail(store, store.page("mfa").id, event.capture_id or 0)
    assert detail.capture.requested_url == site.url("/files/annex.pdf")
    store.close()


def _observe(body: bytes, content_type: str) -> Any:
    from monitor.detect import extract
    from monitor.detect.observe import ProcessRules, observe
    from monitor.records import FetchResult, PageKey
    from monitor.vocab import Role

    fetch = FetchResult(
        key=PageKey("t", "https://mfa.example/doc"),
        role=Role.PAGE,
        requested_url="https://mfa.example/doc",
        started_at=datetime(2026, 3, 1, tzinfo=UTC),
        duration_ms=1.0,
        final_url="https://mfa.example/doc",
        status=200,
        headers={"content-type": content_type},
        body=body,
    )
    return observe(fetch, ProcessRules(extract=extract.Rules()), None)


def test_documents_that_cannot_be_read_say_why() -> None:
    from fpdf import FPDF

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 100, 60, style="F")  # a page with a picture and no text layer
    no_text = _observe(bytes(scan.output()), PDF)
    assert (no_text.quality, no_text.kind) == ("low", "no_text")
    assert "no text layer" in no_text.note

    damaged = _observe(make_pdf([PAGE_TWO])[:400], PDF)
    assert (damaged.quality, damaged.kind, damaged.outcome_hint) == ("low", "undecodable", "error")

    rtf = _observe(b"{\\rtf1\\ansi Statement}", "application/rtf")
    assert (rtf.quality, rtf.kind) == ("low", "unsupported_document")
    assert rtf.note.startswith(".rtf documents are not supported")


def test_page_numbers_and_markers_are_not_compared() -> None:
    """Text moved to the next page (markers and "Page N of M" lines move) compares equal."""
    from monitor.detect.observe import compared_lines
    from monitor.detect.site_boilerplate import NONE as NO_CHROME
    from monitor.detect.volatility import NONE as NOTHING_LEARNED

    before = ["— page 1 —", "One.", "Two.", "Page 1 of 2", "— page 2 —", "Three.", "2 / 2"]
    after = ["— page 1 —", "One.", "Page 1 of 2", "— page 2 —", "Two.", "Three.", "- 2 -"]
    assert compared_lines(before, (), NOTHING_LEARNED, NO_CHROME)[0] == ["One.", "Two.", "Three."]
    assert compared_lines(after, (), NOTHING_LEARNED, NO_CHROME)[0] == ["One.", "Two.", "Three."]
