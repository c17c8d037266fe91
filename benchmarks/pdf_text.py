"""PDF text extraction: pypdf against pdfminer.six, on PDFs made here from known text.

One statement (title, English, Russian and Ukrainian paragraphs, ligature words, long
words with soft hyphens in a narrow paragraph and words hyphenated by hand, a table, a
two-column section, filler to fill several pages, a running header and "Page N of M"
footer) is typeset by up to three producers:

* ``chromium``: Debian's Chromium prints the statement's HTML (Playwright ``page.pdf``,
  Skia, DejaVu Serif with its ligatures, CSS columns, header/footer templates);
* ``fpdf2``: fpdf2 with HarfBuzz shaping and an embedded DejaVu Serif;
* ``libreoffice``: python-docx writes a .docx, LibreOffice exports it to PDF (only where
  ``soffice`` is installed; it is what a ministry's Word/Writer export looks like).

Each PDF is read by each extractor: ``monitor`` (what the monitor records: pypdf through
:mod:`monitor.detect.documents`, with its clean-up), ``pypdf`` (plain and ``layout`` mode),
``pdfminer`` (pdfminer.six, default LAParams), and for reference ``pdfplumber`` (built
on pdfminer) and ``pdfium`` (pypdfium2, which pdfplumber installs). The tables say:

* quality: words of the body found (multiset recall), tokens that are no word of the
  text (split or glued words), paragraphs found whole and in order, the two-column
  section read column after column, table rows readable on one line, Russian/Ukrainian
  paragraphs whole, ligature words (raw: as letters, as U+FB0x, or lost), soft-hyphen
  words whole, and where the page header/footer land; all after the same light clean-up
  (ligatures to letters, soft hyphens dropped, "-\\n" joined before a lower-case letter),
  and the raw forms are printed apart;
* speed: median ms per page over ``--runs`` runs (and on a long document);
* memory: peak RSS growth and tracemalloc peak while reading one document, each in a
  fresh subprocess;
* stability: whether the text stays identical when the same PDF is rewritten (qpdf via
  pikepdf: QDF, uncompressed, renumbered objects, normalised content streams; pypdf:
  recompressed, deduplicated; Ghostscript pdfwrite, if ``gs`` is installed), and when
  only its metadata change (title/author/ModDate/XMP, full rewrite and incremental
  update);
* .docx (python-docx) and .odt (odfpy) text of the same statement, if LibreOffice can
  make the .odt.

    python benchmarks/pdf_text.py                 # all producers and extractors
    python benchmarks/pdf_text.py --runs 9 --keep /tmp/pdfs
    python benchmarks/pdf_text.py --show chromium:pypdf   # print one extracted text
    python benchmarks/pdf_text.py --show libreoffice:pypdf --markup   # as a version's lines

Needs the optional extras ``documents`` and ``documents-bench`` (pip install -e
'.[documents,documents-bench]'), Playwright (the ``test`` extra) for the Chromium producer.
No network: everything is generated in a temporary directory.
"""

from __future__ import annotations

import argparse
import collections
import html
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
HEADER = "Ministry of Foreign Affairs — Press Office"
FOOTER = "Page {n} of {total}"
FOOTER_RE = re.compile(r"Page\s*(\d+)\s*of\s*(\d+)")

# ---------------------------------------------------------------------------------------
# The statement: blocks of known text. Soft hyphens (U+00AD) mark where a typesetter may
# break a long word; "-\n" in a "lines" block is a word hyphenated by hand at a line end.

SHY = "\u00ad"


def shy(text: str, every: int = 4) -> str:
    """Soft hyphens inside every word of 9+ letters, every ``every`` letters."""

    def cut(match: re.Match[str]) -> str:
        word = match.group(0)
        parts = [word[i : i + every] for i in range(0, len(word), every)]
        if len(parts[-1]) < 3:
            parts[-2:] = [parts[-2] + parts[-1]]
        return SHY.join(parts)

    return re.sub(r"\w{9,}", cut, text)


@dataclass(frozen=True)
class Block:
    kind: str  # title | p | narrow | lines | table | columns | pagebreak
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    columns: tuple[str, ...] = ()


LIGATURE_WORDS = [
    "affirms",
    "official",
    "offices",
    "final",
    "figures",
    "first",
    "reflect",
    "flow",
    "efficient",
    "fulfilled",
    "filing",
    "five",
    "conflict",
    "confirms",
]

EN_LIGATURES = (
    "The Ministry affirms that its official offices abroad remain open. The final figures "
    "for the first quarter reflect a steady flow of applications, and efficient staff "
    "fulfilled every filing within five days. The conflict of schedules confirms the need "
    "for more staff."
)
RU = (
    "Министерство иностранных дел сообщает, что консульские учреждения продолжат работу в "
    "обычном режиме. Официальный ответ будет опубликован на сайте ведомства."
)
UK = (
    "Міністерство закордонних справ України повідомляє про зміну графіка прийому громадян "
    "у посольстві. Їхні звернення розглядатимуть протягом п'яти днів."
)
NARROW_EN = (
    "International cooperation between governmental institutions requires responsibility, "
    "transparency and accountability from every participating administration."
)
NARROW_RU = (
    "Международное сотрудничество государственных учреждений требует ответственности, "
    "прозрачности и подотчётности от каждой администрации."
)
# Hyphenated by hand: every producer breaks these lines where the text says.
HAND_LINES = (
    "Applications for passports submitted before the inter-\n"
    "ruption will be processed first; the consular depart-\n"
    "ment apologises for the delay. Заявления, поданные до пере-\n"
    "рыва, будут рассмотрены в первую очередь."
)
TABLE = (
    ("Mission", "City", "Date", "Visas issued"),
    ("Embassy", "Kyiv", "2024-03-01", "1 250"),
    ("Consulate", "Москва", "2024-03-02", "980"),
    ("Посольство", "Berlin", "2024-03-04", "2 315"),
    ("Консульство", "Львів", "2024-03-05", "47"),
)
COLUMN_A = (
    "Left column first paragraph: the delegation arrived in Geneva on Monday and met the "
    "representatives of the partner states to discuss the humanitarian corridor and the "
    "exchange of prisoners, which both sides described as constructive.",
    "Left column second paragraph: делегация обсудила вопросы гуманитарного коридора и "
    "обмена пленными; стороны назвали встречу конструктивной и договорились продолжить.",
)
COLUMN_B = (
    "Right column first paragraph: the next round of talks is planned for April, subject to "
    "the agreement of all parties, and the venue will be announced by the host country.",
    "Right column second paragraph: наступний раунд переговорів заплановано на квітень, "
    "місце проведення оголосить країна, що приймає делегації.",
)

_FILLER_EN = [
    "consular",
    "registration",
    "visa",
    "passport",
    "appointment",
    "embassy",
    "citizens",
    "travel",
    "advisory",
    "statement",
    "minister",
    "delegation",
    "agreement",
    "cooperation",
    "security",
    "border",
    "humanitarian",
    "assistance",
    "office",
    "final",
    "figures",
    "schedule",
    "review",
    "notice",
    "decision",
]
_FILLER_RU = [
    "консульский",
    "учёт",
    "виза",
    "паспорт",
    "запись",
    "посольство",
    "граждане",
    "поездка",
    "заявление",
    "министр",
    "делегация",
    "соглашение",
    "сотрудничество",
    "безопасность",
    "граница",
    "помощь",
    "решение",
    "уведомление",
]


def filler(count: int, seed: int = 7) -> list[str]:
    """Deterministic paragraphs of plausible words, alternating English and Russian."""
    state = seed
    paragraphs = []
    for number in range(1, count + 1):
        words = _FILLER_EN if number % 2 else _FILLER_RU
        picked = []
        for _ in range(45):
            state = (state * 1103515245 + 12345) % 2**31
            picked.append(words[state % len(words)])
        label = f"Paragraph {number}." if number % 2 else f"Пункт {number}."
        paragraphs.append(f"{label} {' '.join(picked).capitalize()}.")
    return paragraphs


def statement(filler_paragraphs: int = 14) -> list[Block]:
    blocks = [
        Block("title", "Statement on consular services / Заявление о консульской работе"),
        Block("p", EN_LIGATURES),
        Block("p", RU),
        Block("p", UK),
        Block("narrow", shy(NARROW_EN)),
        Block("narrow", shy(NARROW_RU)),
        Block("lines", HAND_LINES),
        Block("pagebreak"),
        Block("p", "The table gives the visas issued by each mission in March."),
        Block("table", rows=TABLE),
        Block("pagebreak"),
        Block("columns", columns=COLUMN_A + COLUMN_B),
        Block("pagebreak"),
    ]
    blocks += [Block("p", text) for text in filler(filler_paragraphs)]
    return blocks


def paragraphs_of(blocks: list[Block]) -> list[str]:
    """Ground truth: the paragraphs in reading order, as plain text (no soft hyphens)."""
    out = []
    for block in blocks:
        if block.kind in ("title", "p", "narrow"):
            out.append(block.text.replace(SHY, ""))
        elif block.kind == "lines":
            out.append(re.sub(r"-\n", "", block.text).replace("\n", " "))
        elif block.kind == "columns":
            out.extend(block.columns)
        elif block.kind == "table":
            out.extend(" ".join(row) for row in block.rows)
    return out


# ---------------------------------------------------------------------------------------
# Producers


def html_of(blocks: list[Block]) -> str:
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8><style>",
        "body{font-family:'DejaVu Serif';font-size:11pt;line-height:1.35;"
        "font-variant-ligatures:common-ligatures}",
        "p{text-align:justify;margin:0 0 8pt}",
        ".narrow{width:6.5cm;hyphens:manual;text-align:left}",
        ".columns{column-count:2;column-gap:1cm}",
        "table{border-collapse:collapse;margin:8pt 0}td,th{border:1px solid #000;"
        "padding:2pt 6pt;text-align:left}",
        "</style></head><body>",
    ]
    for block in blocks:
        text = html.escape(block.text).replace(SHY, "&shy;")
        if block.kind == "title":
            parts.append(f"<h1>{text}</h1>")
        elif block.kind == "p":
            parts.append(f"<p>{text}</p>")
        elif block.kind == "narrow":
            parts.append(f"<p class=narrow>{text}</p>")
        elif block.kind == "lines":
            parts.append(f"<p style='text-align:left'>{text.replace(chr(10), '<br>')}</p>")
        elif block.kind == "table":
            head, *rows = block.rows
            cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows
            )
            parts.append(f"<table><tr>{cells}</tr>{body}</table>")
        elif block.kind == "columns":
            inner = "".join(f"<p>{html.escape(c)}</p>" for c in block.columns)
            parts.append(f"<div class=columns>{inner}</div>")
        elif block.kind == "pagebreak":
            parts.append("<div style='break-before:page'></div>")
    parts.append("</body></html>")
    return "".join(parts)


def make_chromium(blocks: list[Block], path: Path) -> None:
    from playwright.sync_api import sync_playwright

    style = "font-family:'DejaVu Serif';font-size:8pt;width:100%;text-align:center"
    footer = FOOTER.format(
        n="<span class=pageNumber></span>", total="<span class=totalPages></span>"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html_of(blocks))
            page.pdf(
                path=str(path),
                format="A4",
                display_header_footer=True,
                header_template=f'<div style="{style}">{HEADER}</div>',
                footer_template=f'<div style="{style}">{footer}</div>',
                margin={"top": "2cm", "bottom": "2cm", "left": "2.2cm", "right": "2.2cm"},
            )
        finally:
            browser.close()


def make_fpdf2(blocks: list[Block], path: Path) -> None:
    from fpdf import FPDF

    class Statement(FPDF):
        def header(self) -> None:
            self.set_font("serif", size=8)
            self.cell(0, 6, HEADER, align="C")
            self.ln(10)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("serif", size=8)
            self.cell(0, 6, FOOTER.format(n=self.page_no(), total="{nb}"), align="C")

    pdf = Statement(format="A4")
    pdf.set_margins(22, 20, 22)
    pdf.add_font("serif", fname=str(FONT_DIR / "DejaVuSerif.ttf"))
    pdf.add_font("serif", style="B", fname=str(FONT_DIR / "DejaVuSerif-Bold.ttf"))
    pdf.set_text_shaping(True)  # HarfBuzz: the font's fi/fl ligatures
    pdf.add_page()
    flow = {"new_x": "LMARGIN", "new_y": "NEXT"}
    for block in blocks:
        if block.kind == "title":
            pdf.set_font("serif", style="B", size=15)
            pdf.multi_cell(0, 8, block.text, **flow)  # type: ignore[arg-type]
            pdf.ln(3)
        elif block.kind == "p":
            pdf.set_font("serif", size=11)
            pdf.multi_cell(0, 5.5, block.text, align="J", **flow)  # type: ignore[arg-type]
            pdf.ln(3)
        elif block.kind == "narrow":
            pdf.set_font("serif", size=11)
            pdf.multi_cell(65, 5.5, block.text, align="L", **flow)  # type: ignore[arg-type]
            pdf.ln(3)
        elif block.kind == "lines":
            pdf.set_font("serif", size=11)
            pdf.multi_cell(0, 5.5, block.text, align="L", **flow)  # type: ignore[arg-type]
            pdf.ln(3)
        elif block.kind == "table":
            pdf.set_font("serif", size=10)
            with pdf.table() as table:
                for cells in block.rows:
                    row = table.row()
                    for cell in cells:
                        row.cell(cell)
            pdf.ln(3)
        elif block.kind == "columns":
            pdf.set_font("serif", size=11)
            with pdf.text_columns(ncols=2, balance=True, text_align="J", gutter=8) as cols:
                for paragraph in block.columns:
                    with cols.paragraph(bottom_margin=3) as para:
                        para.write(paragraph)
        elif block.kind == "pagebreak":
            pdf.add_page()
    pdf.output(str(path))


def make_docx(blocks: list[Block], path: Path) -> None:
    """The statement as a Word document (python-docx): header, PAGE/NUMPAGES footer."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.name = "DejaVu Serif"
    style.font.size = Pt(11)
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    section.header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def field(paragraph: object, instruction: str) -> None:
        element = OxmlElement("w:fldSimple")
        element.set(qn("w:instr"), instruction)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        element.append(run)
        paragraph._p.append(element)  # type: ignore[attr-defined]

    footer.add_run("Page ")
    field(footer, "PAGE")
    footer.add_run(" of ")
    field(footer, "NUMPAGES")

    def columns(sect: object, number: int) -> None:
        sect_pr = sect._sectPr  # type: ignore[attr-defined]
        cols = sect_pr.find(qn("w:cols"))
        if cols is None:
            cols = OxmlElement("w:cols")
            sect_pr.append(cols)
        cols.set(qn("w:num"), str(number))
        cols.set(qn("w:space"), "567")

    pending_break = False
    for block in blocks:
        if block.kind == "pagebreak":
            pending_break = True
            continue
        if pending_break and block.kind != "columns":
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        if block.kind == "title":
            document.add_heading(block.text, level=1)
        elif block.kind in ("p", "narrow"):
            paragraph = document.add_paragraph(block.text)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            if block.kind == "narrow":
                paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
                paragraph.paragraph_format.right_indent = Cm(9)
        elif block.kind == "lines":
            paragraph = document.add_paragraph()
            lines = block.text.split("\n")
            for number, line in enumerate(lines):
                run = paragraph.add_run(line)
                if number < len(lines) - 1:
                    run.add_break()
        elif block.kind == "table":
            table = document.add_table(rows=len(block.rows), cols=len(block.rows[0]))
            table.style = "Table Grid"
            for r, cells in enumerate(block.rows):
                for c, cell in enumerate(cells):
                    table.cell(r, c).text = cell
        elif block.kind == "columns":
            # A new page in two columns, then a continuous section back to one column.
            two = document.add_section(
                WD_SECTION.NEW_PAGE if pending_break else WD_SECTION.CONTINUOUS
            )
            columns(two, 2)
            for paragraph_text in block.columns:
                document.add_paragraph(paragraph_text).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            one = document.add_section(WD_SECTION.NEW_PAGE)
            columns(one, 1)
            pending_break = False
            continue
        pending_break = False
    document.save(str(path))


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(source: Path, fmt: str, outdir: Path) -> Path:
    """LibreOffice headless conversion (its own profile dir, so it never meets a desktop one)."""
    profile = outdir / "lo-profile"
    command = [
        soffice() or "soffice",
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        str(source),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    target = outdir / f"{source.stem}.{fmt.split(':')[0]}"
    if not target.exists():
        raise RuntimeError(f"LibreOffice made no {target.name}")
    return target


def make_libreoffice(blocks: list[Block], path: Path) -> None:
    work = path.parent / "lo"
    work.mkdir(exist_ok=True)
    docx = work / "statement.docx"
    make_docx(blocks, docx)
    shutil.copy(convert(docx, "pdf", work), path)


PRODUCERS: dict[str, Callable[[list[Block], Path], None]] = {
    "chromium": make_chromium,
    "fpdf2": make_fpdf2,
    "libreoffice": make_libreoffice,
}


def producer_available(name: str) -> str | None:
    """None if the producer can run here, else why not."""
    if name == "chromium" and not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} missing"
    if name == "libreoffice" and soffice() is None:
        return "soffice missing (apt-get install libreoffice-writer-nogui)"
    return None


# ---------------------------------------------------------------------------------------
# Rewrites of one PDF: same text, other bytes; or other metadata only.


def rewrite_qpdf(source: Path, target: Path) -> None:
    import pikepdf

    with pikepdf.open(source) as pdf:
        pdf.save(
            target,
            qdf=True,
            compress_streams=False,
            normalize_content=True,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            fix_metadata_version=False,
        )


def rewrite_pypdf(source: Path, target: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(source))
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    for page in writer.pages:
        page.compress_content_streams(level=9)
    writer.write(str(target))


def rewrite_gs(source: Path, target: Path) -> None:
    subprocess.run(
        [
            "gs",
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=pdfwrite",
            f"-sOutputFile={target}",
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def metadata_full(source: Path, target: Path) -> None:
    import pikepdf

    with pikepdf.open(source) as pdf:
        pdf.docinfo["/Title"] = "Statement (corrected title)"
        pdf.docinfo["/Author"] = "Press Office"
        pdf.docinfo["/ModDate"] = "D:20300101120000Z"
        with pdf.open_metadata(set_pikepdf_as_editor=True) as meta:
            meta["dc:title"] = "Statement (corrected title)"
        pdf.save(target)


def metadata_incremental(source: Path, target: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(str(source), incremental=True)
    writer.add_metadata({"/Title": "Statement (incremental)", "/ModDate": "D:20300102120000Z"})
    writer.write(str(target))


REWRITES: dict[str, Callable[[Path, Path], None]] = {
    "qpdf-qdf": rewrite_qpdf,
    "pypdf-rewrite": rewrite_pypdf,
    "ghostscript": rewrite_gs,
    "meta-full": metadata_full,
    "meta-incremental": metadata_incremental,
}


# ---------------------------------------------------------------------------------------
# Extractors: path -> text of each page


def extract_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(str(path)).pages]


def extract_pypdf_layout(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode="layout") for page in PdfReader(str(path)).pages]


def extract_pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    return [
        "".join(item.get_text() for item in page if isinstance(item, LTTextContainer))
        for page in extract_pages(str(path), laparams=LAParams())
    ]


def extract_pdfplumber(path: Path) -> list[str]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [page.extract_text() for page in pdf.pages]


def extract_pdfium(path: Path) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        texts = []
        for page in document:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def extract_monitor(path: Path) -> list[str]:
    """What the monitor records: pypdf through monitor.detect.documents, cleaned, as the
    version's lines of each page (the "— page N —" markers left out)."""
    from monitor.detect import documents

    document = documents.read("pdf", path.read_bytes())
    pages: list[list[str]] = []
    for line in documents.lines_of(document):
        if documents.PAGE_MARKER.match(line):
            pages.append([])
        else:
            pages[-1].append(line)
    return ["\n".join(page) for page in pages]


EXTRACTORS: dict[str, Callable[[Path], list[str]]] = {
    "monitor": extract_monitor,
    "pypdf": extract_pypdf,
    "pypdf-layout": extract_pypdf_layout,
    "pdfminer": extract_pdfminer,
    "pdfplumber": extract_pdfplumber,
    "pdfium": extract_pdfium,
}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in (
        "pypdf",
        "pdfminer.six",
        "pdfplumber",
        "pypdfium2",
        "fpdf2",
        "pikepdf",
        "python-docx",
        "odfpy",
        "playwright",
    ):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


# ---------------------------------------------------------------------------------------
# Clean-up and quality measures

LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
HYPHENS = "-\u2010\u00ad\x02"  # pdfium marks a line-end hyphen with \x02


def clean(text: str) -> str:
    """The light clean-up a pipeline would do: ligatures to letters, soft hyphens dropped,
    a word hyphenated at a line end joined again (only before a lower-case letter)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for ligature, letters in LIGATURES.items():
        text = text.replace(ligature, letters)
    # pdfium joins a hyphenated line itself and marks the hyphen with \x02; Chromium's
    # PDFs put a space before the U+2010 it paints for a soft hyphen at a line end.
    text = re.sub(r"(\w)\x02(?=\w)", r"\1", text)
    text = re.sub(rf"(\w) ?[{HYPHENS}][ \t]*\n[ \t]*(?=[a-zа-яёіїєґ'])", r"\1", text)
    text = text.replace("\x02", "-").replace(SHY, "")
    return unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def body_lines(page: str) -> list[str]:
    """Lines of a page less the running header and the page-number footer."""
    kept = []
    for line in page.split("\n"):
        stripped = collapse(line)
        if not stripped or stripped == HEADER or FOOTER_RE.fullmatch(stripped):
            continue
        kept.append(line)
    return kept


TOKEN = re.compile(r"\w+(?:'\w+)?")


@dataclass
class Quality:
    word_recall: float
    stray_tokens: int
    paragraphs_whole: str
    in_order: bool
    columns: str
    table_rows: str
    cyrillic: str
    ligatures_raw: str
    soft_hyphen_words: str
    hand_hyphen_words: str
    page_numbers: str
    header_footer_at: str


def judge(pages_raw: list[str], blocks: list[Block]) -> Quality:
    truth = paragraphs_of(blocks)
    pages = [clean(page) for page in pages_raw]
    body = "\n".join(line for page in pages for line in body_lines(page))
    flat = collapse(body)

    want = collections.Counter(t.lower() for p in truth for t in TOKEN.findall(p))
    got = collections.Counter(t.lower() for t in TOKEN.findall(body))
    recall = sum((want & got).values()) / sum(want.values())
    stray = sum((got - want).values())

    prose = [
        p
        for b in blocks
        if b.kind in ("title", "p", "narrow", "lines", "columns")
        for p in paragraphs_of([b])
    ]
    positions = [flat.find(collapse(p)) for p in prose]
    whole = sum(1 for pos in positions if pos >= 0)
    found = [pos for pos in positions if pos >= 0]
    in_order = found == sorted(found)

    column_positions = [flat.find(collapse(p)) for p in COLUMN_A + COLUMN_B]
    columns_ok = all(p >= 0 for p in column_positions) and column_positions == sorted(
        column_positions
    )
    columns = (
        "ok"
        if columns_ok
        else (
            f"{sum(p >= 0 for p in column_positions)}/4 whole"
            + ("" if column_positions == sorted(column_positions) else ", out of order")
        )
    )

    table_ok = 0
    for row in TABLE:
        pattern = r"[ \t]+".join(re.escape(cell).replace(r"\ ", r"[ \t]+") for cell in row)
        if re.search(pattern, body):
            table_ok += 1

    cyrillic_truth = [RU, UK, COLUMN_A[1], COLUMN_B[1], NARROW_RU]
    cyrillic = sum(collapse(p) in flat for p in cyrillic_truth)

    raw = "\n".join(pages_raw)
    as_letters = sum(1 for w in LIGATURE_WORDS if re.search(rf"\b{w}\b", raw, re.IGNORECASE))
    as_codepoint = sum(raw.count(lig) for lig in LIGATURES)
    cleaned_ligatures = sum(1 for w in LIGATURE_WORDS if re.search(rf"\b{w}\b", body, re.I))
    ligatures_raw = f"{as_letters}/{len(LIGATURE_WORDS)} letters"
    if as_codepoint:
        ligatures_raw += f", {as_codepoint}×U+FB0x"
    if cleaned_ligatures < len(LIGATURE_WORDS):
        ligatures_raw += f" (clean {cleaned_ligatures})"

    long_words = sorted(
        {w for text in (NARROW_EN, NARROW_RU) for w in TOKEN.findall(text) if len(w) >= 9}
    )
    soft = sum(1 for w in long_words if re.search(rf"\b{w}\b", flat))
    hand_words = ["interruption", "department", "перерыва"]
    hand = sum(1 for w in hand_words if re.search(rf"\b{w}\b", flat))

    total = len(pages)
    numbered = sum(
        1
        for n, page in enumerate(pages, 1)
        if (m := FOOTER_RE.search(page)) and int(m.group(1)) == n and int(m.group(2)) == total
    )
    where = []
    for page in pages:
        lines = [collapse(line) for line in page.split("\n") if line.strip()]
        if not lines:
            continue
        h = next((i for i, line in enumerate(lines) if HEADER in line), None)
        f = next((i for i, line in enumerate(lines) if FOOTER_RE.search(line)), None)
        last = len(lines) - 1
        where.append(
            ("top" if h == 0 else "end" if h is not None and h >= last - 1 else "mid" if h else "-")
            + "/"
            + (
                "end"
                if f is not None and f >= last - 1
                else "top"
                if f == 0
                else "mid"
                if f
                else "-"
            )
        )
    common = collections.Counter(where).most_common(1)[0][0] if where else "-"

    return Quality(
        word_recall=recall,
        stray_tokens=stray,
        paragraphs_whole=f"{whole}/{len(prose)}",
        in_order=in_order,
        columns=columns,
        table_rows=f"{table_ok}/{len(TABLE)}",
        cyrillic=f"{cyrillic}/{len(cyrillic_truth)}",
        ligatures_raw=ligatures_raw,
        soft_hyphen_words=f"{soft}/{len(long_words)}",
        hand_hyphen_words=f"{hand}/{len(hand_words)}",
        page_numbers=f"{numbered}/{total}",
        header_footer_at=common,
    )


def line_end_hyphen(pages_raw: list[str]) -> str:
    """How a soft hyphen at a line end comes out (the raw character before the newline)."""
    seen = collections.Counter()
    for page in pages_raw:
        for match in re.finditer(r"(\w)([-\u2010\u00ad\x02 ]?)\r?\n", page):
            if match.group(2):
                seen[match.group(2)] += 1
    names = {"-": "'-'", "\u2010": "U+2010", "\u00ad": "U+00AD", "\x02": "\\x02", " ": "space"}
    return ", ".join(f"{names[c]}×{n}" for c, n in seen.most_common()) or "none"


# ---------------------------------------------------------------------------------------
# Speed and memory


def median_ms_per_page(
    extract: Callable[[Path], list[str]], path: Path, runs: int
) -> tuple[float, int]:
    times = []
    pages = 0
    for _ in range(runs):
        start = time.perf_counter()
        pages = len(extract(path))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times) / max(pages, 1), pages


def high_water_kb() -> int:
    """Peak RSS of this process (VmHWM). Not ru_maxrss: Linux carries that over from the
    parent across fork+exec, so a child started by a big parent reports the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(extractor: str, path: str, warm: str) -> None:
    """Run in a fresh interpreter: prints JSON of RSS growth and tracemalloc peak."""
    function = EXTRACTORS[extractor]
    function(Path(warm))  # imports the library and reads a small PDF first
    before = high_water_kb()
    tracemalloc.start()
    function(Path(path))
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = high_water_kb()
    print(
        json.dumps(
            {"rss_growth_kb": after - before, "rss_peak_kb": after, "traced_peak_kb": peak // 1024}
        )
    )


def memory(extractor: str, path: Path, warm: Path) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, __file__, "--memory-child", extractor, str(path), str(warm)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------
# .docx and .odt


def docx_text(path: Path) -> str:
    """Body paragraphs and table rows in document order, then headers and footers."""
    from docx import Document
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = Document(str(path))
    lines = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            lines.append(item.text)
        elif isinstance(item, Table):
            for row in item.rows:
                lines.append("\t".join(cell.text for cell in row.cells))
    for section in document.sections:
        for part in (section.header, section.footer):
            lines.extend(p.text for p in part.paragraphs)
    return "\n".join(lines)


def odt_text(path: Path) -> str:
    """Headings, paragraphs and table rows (cells tab-separated), in document order."""
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    document = load(str(path))
    lines: list[str] = []

    def walk(node: object) -> None:
        for child in node.childNodes:  # type: ignore[attr-defined]
            qname = getattr(child, "qname", None)
            if qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                lines.append(teletype.extractText(child))
            elif qname == (TABLENS, "table-row"):
                cells = [
                    teletype.extractText(cell).strip()
                    for cell in child.childNodes
                    if getattr(cell, "qname", None) == (TABLENS, "table-cell")
                ]
                lines.append("\t".join(cells))
            else:
                walk(child)

    walk(document.text)
    for style in document.masterstyles.childNodes:
        walk(style)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Report


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def same_text(a: list[str], b: list[str]) -> str:
    if a == b:
        return "same"
    if [collapse(x) for x in a] == [collapse(x) for x in b]:
        return "same (spaces)"
    if collapse(clean("\n".join(a))) == collapse(clean("\n".join(b))):
        return "same (clean)"
    la = "\n".join(a).split("\n")
    lb = "\n".join(b).split("\n")
    differing = sum(1 for x, y in zip(la, lb, strict=False) if x != y) + abs(len(la) - len(lb))
    return f"DIFFERS ({differing} lines)"


def generate(names: list[str], folder: Path, filler_paragraphs: int) -> dict[str, Path]:
    blocks = statement(filler_paragraphs)
    made = {}
    for name in names:
        why = producer_available(name)
        if why:
            print(f"# producer {name} skipped: {why}")
            continue
        path = folder / f"{name}.pdf"
        PRODUCERS[name](blocks, path)
        made[name] = path
    return made


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measure (median)")
    parser.add_argument("--producers", default=",".join(PRODUCERS))
    parser.add_argument("--extractors", default=",".join(EXTRACTORS))
    parser.add_argument(
        "--long-pages", type=int, default=60, help="about this many pages in the long document"
    )
    parser.add_argument("--keep", type=Path, help="write the PDFs here instead of a temp dir")
    parser.add_argument("--show", help="PRODUCER:EXTRACTOR: print that extracted text and stop")
    parser.add_argument(
        "--markup", action="store_true", help='with --show: cleaned lines with "[page N]" markers'
    )
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0

    producers = [p for p in args.producers.split(",") if p]
    extractors = [e for e in args.extractors.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="pdf-text-") as temp:
        folder = args.keep or Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.show:
            producer, extractor = args.show.split(":")
            made = generate([producer], folder, 14)
            pages = EXTRACTORS[extractor](made[producer])
            if args.markup:
                print("\n".join(iter_pages(pages)))
                return 0
            for n, page in enumerate(pages, 1):
                print(f"----- page {n}, raw -----\n{page}")
            return 0
        return report(args, producers, extractors, folder)


def report(
    args: argparse.Namespace, producers: list[str], extractors: list[str], folder: Path
) -> int:
    print(f"# versions: {json.dumps(versions())}")
    print(f"# load average: {os.getloadavg()[0]:.2f}, runs per measure: {args.runs}")
    started = time.perf_counter()
    blocks = statement()
    made = generate(producers, folder, 14)
    for name, path in made.items():
        print(f"# {name}: {path.stat().st_size} bytes")
    print(f"# generated in {time.perf_counter() - started:.1f} s")

    print("\n## Text quality (after the light clean-up; raw forms in the second table)\n")
    rows = []
    raw_rows = []
    texts: dict[tuple[str, str], list[str]] = {}
    for producer, path in made.items():
        for extractor in extractors:
            try:
                pages = EXTRACTORS[extractor](path)
            except Exception as exc:  # a benchmark reports the failure and goes on
                rows.append([producer, extractor, f"ERROR {type(exc).__name__}: {exc}"] + [""] * 10)
                continue
            texts[producer, extractor] = pages
            q = judge(pages, blocks)
            rows.append(
                [
                    producer,
                    extractor,
                    f"{q.word_recall:.3f}",
                    str(q.stray_tokens),
                    q.paragraphs_whole,
                    "yes" if q.in_order else "NO",
                    q.columns,
                    q.table_rows,
                    q.cyrillic,
                    q.soft_hyphen_words,
                    q.hand_hyphen_words,
                    q.page_numbers,
                    q.header_footer_at,
                ]
            )
            raw_rows.append(
                [producer, extractor, q.ligatures_raw, line_end_hyphen(pages), str(len(pages))]
            )
    print(
        table(
            [
                "producer",
                "extractor",
                "word recall",
                "stray tokens",
                "paragraphs whole",
                "order",
                "2 columns",
                "table rows",
                "ru/uk paras",
                "soft-hyphen words",
                "hand-hyphen words",
                "Page N of M",
                "header/footer",
            ],
            rows,
        )
    )
    print()
    print(
        table(
            ["producer", "extractor", "ligature words (raw)", "line-end hyphens (raw)", "pages"],
            raw_rows,
        )
    )

    print("\n## Speed: median ms per page\n")
    long_blocks = statement(filler_paragraphs=max(1, (args.long_pages - 3) * 6))
    long_folder = folder / "long"
    long_folder.mkdir(exist_ok=True)
    long_producer = "chromium" if "chromium" in made else next(iter(made))
    long_path = long_folder / f"{long_producer}-long.pdf"
    PRODUCERS[long_producer](long_blocks, long_path)
    long_made = {f"{long_producer} (long)": long_path}
    speed_rows = []
    for label, path in {**made, **long_made}.items():
        row = [label]
        for extractor in extractors:
            ms, pages = median_ms_per_page(EXTRACTORS[extractor], path, args.runs)
            row.append(f"{ms:.1f}")
        row.append(str(pages))
        speed_rows.append(row)
    print(table(["document", *extractors, "pages"], speed_rows))

    if not args.no_memory:
        print(
            f"\n## Memory reading {long_path.name} once, after a warm-up read of a short PDF"
            " (fresh subprocess each)\n"
        )
        mem_rows = []
        for extractor in extractors:
            m = memory(extractor, long_path, next(iter(made.values())))
            mem_rows.append(
                [
                    extractor,
                    f"{m['rss_growth_kb'] / 1024:.1f}",
                    f"{m['traced_peak_kb'] / 1024:.1f}",
                    f"{m['rss_peak_kb'] / 1024:.0f}",
                ]
            )
        print(table(["extractor", "RSS growth MB", "tracemalloc peak MB", "peak RSS MB"], mem_rows))

    print("\n## Stability: text of a rewritten PDF against the original's\n")
    stab_rows = []
    for producer, path in made.items():
        for rewrite, function in REWRITES.items():
            if rewrite == "ghostscript" and shutil.which("gs") is None:
                continue
            target = folder / f"{producer}.{rewrite}.pdf"
            try:
                function(path, target)
            except Exception as exc:
                stab_rows.append([producer, rewrite, f"ERROR {exc}"] + [""] * (len(extractors) - 1))
                continue
            row = [producer, rewrite]
            for extractor in extractors:
                if (producer, extractor) not in texts:
                    row.append("-")
                    continue
                row.append(same_text(texts[producer, extractor], EXTRACTORS[extractor](target)))
            stab_rows.append(row)
    print(table(["producer", "rewrite", *extractors], stab_rows))

    if len(made) > 1:
        print("\n## Same statement, other producer: cleaned body text compared word by word\n")
        cross = []
        names = list(made)
        for extractor in extractors:
            row = [extractor]
            for i, a in enumerate(names):
                for b in names[i + 1 :]:
                    if (a, extractor) in texts and (b, extractor) in texts:
                        wa = TOKEN.findall(
                            collapse(
                                "\n".join(
                                    line
                                    for p in texts[a, extractor]
                                    for line in body_lines(clean(p))
                                )
                            )
                        )
                        wb = TOKEN.findall(
                            collapse(
                                "\n".join(
                                    line
                                    for p in texts[b, extractor]
                                    for line in body_lines(clean(p))
                                )
                            )
                        )
                        row.append(
                            "same words" if wa == wb else f"differ ({abs(len(wa) - len(wb))} len)"
                        )
            cross.append(row)
        pairs = [f"{a} vs {b}" for i, a in enumerate(names) for b in names[i + 1 :]]
        print(table(["extractor", *pairs], cross))

    docs_report(folder, blocks, args.runs)
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    return 0


def docs_report(folder: Path, blocks: list[Block], runs: int) -> None:
    print("\n## .docx (python-docx) and .odt (odfpy)\n")
    work = folder / "office"
    work.mkdir(exist_ok=True)
    docx = work / "statement.docx"
    make_docx(blocks, docx)
    files = {"docx (python-docx made)": (docx, docx_text)}
    if soffice():
        odt = convert(docx, "odt", work)
        files["odt (LibreOffice from docx)"] = (odt, odt_text)
        lo_dir = work / "lo-docx"
        lo_dir.mkdir(exist_ok=True)
        relayed = convert(odt, "docx:MS Word 2007 XML", lo_dir)
        files["docx (LibreOffice from odt)"] = (relayed, docx_text)
    else:
        print("# soffice missing: .odt not made")
    truth = paragraphs_of(blocks)
    want = collections.Counter(t.lower() for p in truth for t in TOKEN.findall(p))
    rows = []
    for label, (path, function) in files.items():
        text = function(path)
        got = collections.Counter(t.lower() for t in TOKEN.findall(clean(text)))
        flat = collapse(clean(text))
        whole = sum(
            1 for p in truth if collapse(p) in flat or collapse(p).replace(" ", "\t") in text
        )
        rows_ok = sum(1 for row in TABLE if "\t".join(row) in text)
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            function(path)
            timings.append((time.perf_counter() - start) * 1000)
        rows.append(
            [
                label,
                f"{sum((want & got).values()) / sum(want.values()):.3f}",
                f"{whole}/{len(truth)}",
                f"{rows_ok}/{len(TABLE)}",
                "yes" if HEADER in text else "no",
                "yes" if re.search(r"Page\s*\d", text) else "no",
                "yes" if SHY in text else "no",
                f"{statistics.median(timings):.1f}",
            ]
        )
    print(
        table(
            [
                "file",
                "word recall",
                "paragraphs whole",
                "table rows",
                "header",
                "footer field",
                "U+00AD kept",
                "ms/doc",
            ],
            rows,
        )
    )


def iter_pages(text_pages: list[str]) -> Iterator[str]:
    """The marked-up text a version would keep: one "[page N]" line before each page."""
    for n, page in enumerate(text_pages, 1):
        yield f"[page {n}]"
        yield from (line for line in clean(page).split("\n") if line.strip())


if __name__ == "__main__":
    sys.exit(main())
