"""Documents (PDF, .docx, .odt): what kind a body is, and its text as a version's lines.

A watched URL that serves a document is versioned by its text, not its bytes (the bytes
stay the capture's evidence). Each reader is a small class that names itself in
:data:`READERS` and returns a :class:`DocumentText`: lines per page, the document's
metadata and warnings. :func:`lines_of` turns that into the lines of a version: each
page opened by a marker line (``— page 2 —``), after a light clean-up (ligatures to
letters, soft hyphens dropped, a word hyphenated at a line end joined, runs of spaces
collapsed). :func:`comparable` leaves out, for comparing, what moves when text moves
between pages without being edited: the markers and page-number lines. Metadata (title,
author, dates) is shown with each capture but never compared: a re-saved document with
the same text is the same version.

The readers: pypdf for PDF (measured against pdfminer.six in docs/DOCUMENTS.md:
reading order, tables, memory), python-docx for .docx, odfpy for .odt. Other binary
documents (.doc, .rtf, spreadsheets...) are named by :func:`unsupported_kind`, so the
capture says plainly that they are not read.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import unquote, urlsplit

from monitor.exceptions import DocumentError

logger = logging.getLogger(__name__)

#: Pages read at most; a longer document is recorded as too large, never cut silently.
MAX_PAGES = 2000

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT_TYPE = "application/vnd.oasis.opendocument.text"

#: Document kinds by MIME type (what a server says).
MIME_KINDS = {
    PDF_TYPE: "pdf",
    "application/x-pdf": "pdf",
    DOCX_TYPE: "docx",
    ODT_TYPE: "odt",
}
#: Document kinds by the suffix of a link's path (a page's attachments).
SUFFIX_KINDS = {".pdf": "pdf", ".docx": "docx", ".odt": "odt"}

#: Documents people meet that no reader here reads: MIME type -> name.
UNSUPPORTED_TYPES = {
    "application/msword": ".doc (Word 97-2003)",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-powerpoint": ".ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.presentation": ".odp",
    "application/epub+zip": ".epub",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls, .ppt

PAGE_MARKER = re.compile(r"^— page (\d+) —$")
# A line that is only a page number: "3", "- 3 -", "Page 3 of 7", "3/7", "Стр. 3 из 7".
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|стр\.?|страница|сторінка|с\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"(?:\s*(?:of|из|з|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DocumentText:
    """What a reader found in a document: lines per page (one "page" for .docx/.odt),
    its metadata (title, author, dates...) and what it could not read."""

    kind: str
    pages: list[list[str]]
    metadata: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reader: str = ""


def sniff(body: bytes, content_type: str | None) -> str | None:
    """The document kind of a body ("pdf", "docx", "odt"), or None for anything else.

    Magic bytes win over a wrong Content-Type (servers send PDFs as
    ``application/octet-stream`` or even ``text/html``); a ZIP is looked into for the
    type it declares.

    >>> sniff(b"%PDF-1.7 ...", "application/octet-stream")
    'pdf'
    >>> sniff(b"<html>", "text/html") is None
    True
    """
    if b"%PDF-" in body[:1024] and body.lstrip()[:1] != b"<":
        return "pdf"
    mime = (content_type or "").split(";")[0].strip().lower()
    if body.startswith(b"PK\x03\x04"):
        kind = _zip_kind(body)
        if kind is not None:
            return kind
    kind = MIME_KINDS.get(mime)
    if kind == "pdf":
        return None  # called a PDF, but no PDF header: not readable as one
    return kind if kind is not None and body.startswith(b"PK\x03\x04") else None


def _zip_kind(body: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return MIME_KINDS.get(declared)
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return "docx"
    except (zipfile.BadZipFile, KeyError, OSError):
        return None
    return None


def unsupported_kind(body: bytes, content_type: str | None) -> str | None:
    """The name of a document type no reader here reads (".doc", ".rtf"...), or None.

    >>> unsupported_kind(b"{\\\\rtf1\\\\ansi ...", None)
    '.rtf'
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in UNSUPPORTED_TYPES:
        return UNSUPPORTED_TYPES[mime]
    if body.startswith(_OLE_MAGIC):
        return ".doc/.xls/.ppt (an OLE2 Office file)"
    if body.startswith(b"{\\rtf"):
        return ".rtf"
    return None


def is_document_link(url: str) -> bool:
    """Whether a link points at a document read here (by its path's suffix).

    >>> is_document_link("https://mfa.example/docs/Statement%20EN.PDF?v=2")
    True
    >>> is_document_link("https://mfa.example/news/pdf-rules")
    False
    """
    path = urlsplit(url).path.lower()
    return any(path.endswith(suffix) for suffix in SUFFIX_KINDS)


def attachments_of(links: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """The document links among a page's content links, each once, in order."""
    seen: dict[str, str] = {}
    for link in links:
        url, text = link[0], link[1]
        if is_document_link(url) and url not in seen:
            seen[url] = text
    return list(seen.items())


# --- readers --------------------------------------------------------------------------


def read(kind: str, body: bytes) -> DocumentText:
    """The text of a document of ``kind``; :class:`DocumentError` when it cannot be read."""
    try:
        reader = READERS[kind]
    except KeyError:
        raise DocumentError(f"no reader for {kind} documents") from None
    try:
        return reader(body)
    except DocumentError:
        raise
    except Exception as exc:  # a damaged file: the library's own errors vary widely
        raise DocumentError(f"the {kind.upper()} could not be read: {exc}") from exc


@functools.cache
def _library(name: str) -> str:
    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return name


def read_pdf(body: bytes) -> DocumentText:
    """PDF text with pypdf, page by page (``page.extract_text()``)."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(io.BytesIO(body))
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:
            raise DocumentError(f"the PDF is encrypted ({exc})") from exc
    try:
        count = len(reader.pages)
    except FileNotDecryptedError as exc:
        raise DocumentError(f"the PDF is encrypted ({exc})") from exc
    if count > MAX_PAGES:
        raise DocumentError(f"the PDF has {count} pages, more than the {MAX_PAGES} read")
    pages = [(page.extract_text() or "").splitlines() for page in reader.pages]
    metadata: dict[str, str] = {}
    info: dict[Any, Any] = dict(reader.metadata or {})
    for key, value in info.items():
        name = str(key).lstrip("/")
        if name in _PDF_INFO and value is not None:
            metadata[name] = " ".join(str(value).split())
    metadata["Pages"] = str(count)
    return DocumentText("pdf", pages, metadata, reader=_library("pypdf"))


_PDF_INFO = (
    "Title",
    "Author",
    "Subject",
    "Keywords",
    "Creator",
    "Producer",
    "CreationDate",
    "ModDate",
)


def read_docx(body: bytes) -> DocumentText:
    """.docx text with python-docx: paragraphs and tables in document order (a table row
    on one line, its cells joined by " | "), then the headers and footers."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(body))
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_row_lines(block))
        else:
            lines.extend(block.text.splitlines())
    for section in document.sections:
        for part in (section.header, section.footer):
            if part.is_linked_to_previous:
                continue
            lines.extend(
                line for paragraph in part.paragraphs for line in paragraph.text.split("\n")
            )
    properties = document.core_properties
    metadata = {
        name: str(value)
        for name, value in (
            ("Title", properties.title),
            ("Author", properties.author),
            ("Subject", properties.subject),
            ("LastModifiedBy", properties.last_modified_by),
            ("Created", properties.created),
            ("Modified", properties.modified),
            ("Revision", properties.revision),
        )
        if value
    }
    warnings = []
    xml = document.element.xml
    if "txbxContent" in xml:
        warnings.append("text boxes are not read")
    return DocumentText("docx", [lines], metadata, warnings, reader=_library("python-docx"))


def _row_lines(table: Any) -> list[str]:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if not cells or cells[-1] != text:  # a merged cell is repeated per grid column
                cells.append(text)
        lines.append(" | ".join(cells))
    return lines


def read_odt(body: bytes) -> DocumentText:
    """.odt text with odfpy: headings and paragraphs in document order, a table row on
    one line (cells joined by " | ")."""
    from odf import opendocument, teletype
    from odf.namespaces import TABLENS, TEXTNS

    document = opendocument.load(io.BytesIO(body))
    lines: list[str] = []

    def walk(node: Any) -> None:
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                lines.extend(teletype.extractText(child).splitlines())
            elif qname == (TABLENS, "table-row"):
                cells = [
                    " ".join(teletype.extractText(cell).split())
                    for cell in child.childNodes
                    if getattr(cell, "qname", None) == (TABLENS, "table-cell")
                ]
                lines.append(" | ".join(cells))
            else:
                walk(child)

    walk(document.text)
    metadata: dict[str, str] = {}
    for node in document.meta.childNodes:
        name = getattr(node, "qname", (None, None))[1]
        if name in ("title", "creator", "initial-creator", "date", "creation-date", "subject"):
            metadata[name] = teletype.extractText(node)
    return DocumentText("odt", [lines], metadata, reader=_library("odfpy"))


#: The readers, by document kind.
READERS: dict[str, Callable[[bytes], DocumentText]] = {
    "pdf": read_pdf,
    "docx": read_docx,
    "odt": read_odt,
}


# --- a version's lines ----------------------------------------------------------------

_LIGATURES = {chr(code): unicodedata.normalize("NFKC", chr(code)) for code in range(0xFB00, 0xFB07)}
_LIGATURE_TABLE = str.maketrans({**_LIGATURES, "\u00ad": None, "\u2010": "-"})
# A word cut at a line end: its hyphen, then the line break, then a lower-case letter.
_HYPHENATED = re.compile(r"(\w)-[ \t]*\n[ \t]*(?=[a-zа-яёіїєґ])")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")


def clean(text: str) -> str:
    """A page's text as compared: ligatures as letters, soft hyphens dropped, words cut
    at a line end joined, runs of spaces collapsed.

    >>> clean("the oﬀicial  state-\\nment")
    'the official statement'
    """
    text = text.translate(_LIGATURE_TABLE)
    text = _HYPHENATED.sub(r"\1", text)
    return _SPACES.sub(" ", text)


def lines_of(
    document: DocumentText, normalize: Callable[[list[str]], list[str]] = list
) -> list[str]:
    """The lines of a document's version, each page opened by a marker line (a .docx or
    .odt is one page); ``normalize`` canonicalises each page's lines (not the markers)."""
    lines: list[str] = []
    for number, page in enumerate(document.pages, start=1):
        lines.append(f"— page {number} —")
        text = clean("\n".join(page))
        lines.extend(normalize([line.strip() for line in text.splitlines() if line.strip()]))
    return lines


def is_document(lines: Sequence[str]) -> bool:
    """Whether a version's lines are a document's (they open with a page marker)."""
    return bool(lines) and PAGE_MARKER.match(lines[0]) is not None


def has_text(lines: Sequence[str]) -> bool:
    """Whether a document's lines hold any text besides their page markers."""
    return any(PAGE_MARKER.match(line) is None for line in lines)


def comparable(lines: Sequence[str]) -> list[str]:
    """A document's lines as compared: without page markers and page-number lines (text
    pushed onto the next page is not an edit); other lines are returned as given.

    >>> comparable(["— page 1 —", "Statement", "Page 1 of 2", "— page 2 —", "Text", "2"])
    ['Statement', 'Text']
    """
    if not is_document(lines):
        return list(lines)
    return [line for line in lines if not PAGE_MARKER.match(line) and not _PAGE_NUMBER.match(line)]


def file_name(url: str) -> str:
    """How a document is named in summaries: its file name.

    >>> file_name("https://mfa.example/docs/Statement%2012.pdf?v=2")
    'Statement 12.pdf'
    """
    path = urlsplit(url).path.rstrip("/")
    return unquote(path.rpartition("/")[2]) or url


def document_title(url: str, metadata: dict[str, str]) -> str:
    """How a document is named in its events: its metadata's title (never compared) and
    its file name.

    >>> document_title("https://mfa.example/s.pdf", {"Title": "Statement"})
    'Statement (s.pdf)'
    """
    named = metadata.get("Title") or metadata.get("title")
    return f"{named} ({file_name(url)})" if named else file_name(url)


def metadata_changes(
    before: dict[str, str], after: dict[str, str], attachment: str | None = None
) -> str:
    """What changed in a document's metadata, in words (for its page's timeline; an
    attachment's, on its page's, is named by its file).

    >>> metadata_changes({"Title": "A", "Pages": "2"}, {"Title": "B", "Pages": "2", "ModDate": "x"})
    "Document metadata changed: ModDate: (none) → 'x'; Title: 'A' → 'B'"
    """
    changes = [
        f"{name}: {_shown(before.get(name))} → {_shown(after.get(name))}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    named = f"attachment {file_name(attachment)}: " if attachment else ""
    return f"{named}Document metadata changed: " + "; ".join(changes)


def _shown(value: str | None) -> str:
    return "(none)" if value is None else repr(value)


def metadata_note(document: DocumentText) -> str:
    """The capture's note: what read the document, and its metadata (shown, not compared).

    >>> metadata_note(DocumentText("pdf", [[]], {"Title": "A", "Pages": "1"}, reader="pypdf 6"))
    'PDF read by pypdf 6; Pages: 1; Title: A'
    """
    parts = [f"{document.kind.upper()} read by {document.reader or document.kind}"]
    parts.extend(f"{name}: {value}" for name, value in sorted(document.metadata.items()))
    parts.extend(document.warnings)
    return "; ".join(parts)
