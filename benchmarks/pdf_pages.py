"""PDF text extraction per page: what the monitor records (pypdf through
monitor.detect.documents) against plain pypdf and pdfminer.six, in ms per page.

The PDFs are made here with fpdf2 and DejaVu Sans (Debian's fonts-dejavu-core): pages of
English, Russian and Ukrainian paragraphs and a table, as the tests' statements, in a
short and a long document. Times are medians over ``--runs`` runs, both of CPU time
(``time.process_time``: steady on a shared, loaded machine) and of wall time.

    python benchmarks/pdf_pages.py                  # 3 and 40 pages, 5 runs
    python benchmarks/pdf_pages.py --pages 3,100 --runs 9

Needs the ``test`` extra (fpdf2) and pdfminer.six (the ``documents-bench`` extra).
No network.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

PARAGRAPHS = [
    "The Ministry confirms that consular sections will remain open during the "
    "negotiations, and that visa applications filed before 15 March are processed as usual.",
    "Министерство иностранных дел подтверждает, что консульские отделы продолжат работу "
    "в обычном режиме до окончания переговоров, а заявления на визы рассматриваются.",
    "Міністерство закордонних справ нагадує громадянам про правила перетину кордону "
    "та про строки розгляду заяв у консульських установах.",
]
TABLE = [
    ["City", "Date", "Status"],
    ["Kyiv", "15 March", "open"],
    ["Москва", "16 March", "закрыто"],
]


def make_pdf(pages: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_font("DejaVu", style="B", fname=str(FONT.with_name("DejaVuSans-Bold.ttf")))
    pdf.set_font("DejaVu", size=11)
    for number in range(pages):
        pdf.add_page()
        for repeat in range(4):
            for paragraph in PARAGRAPHS:
                pdf.multi_cell(
                    0, 6, f"{number}.{repeat} {paragraph}", new_x="LMARGIN", new_y="NEXT"
                )
                pdf.ln(2)
        with pdf.table() as grid:
            for row in TABLE:
                cells = grid.row()
                for cell in row:
                    cells.cell(cell)
    return bytes(pdf.output())


def read_monitor(body: bytes) -> int:
    from monitor.detect import documents

    return len(documents.lines_of(documents.read("pdf", body)))


def read_pypdf(body: bytes) -> int:
    from pypdf import PdfReader

    return sum(len(page.extract_text()) for page in PdfReader(io.BytesIO(body)).pages)


def read_pdfminer(body: bytes) -> int:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    return sum(
        len(item.get_text())
        for page in extract_pages(io.BytesIO(body), laparams=LAParams())
        for item in page
        if isinstance(item, LTTextContainer)
    )


READERS: dict[str, Callable[[bytes], int]] = {
    "monitor (pypdf + clean-up)": read_monitor,
    "pypdf": read_pypdf,
    "pdfminer.six": read_pdfminer,
}


def measure(reader: Callable[[bytes], int], body: bytes, runs: int) -> tuple[float, float]:
    reader(body)  # warm: imports, caches
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        reader(body)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return statistics.median(cpu), statistics.median(wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="3,40", help="page counts of the documents")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from importlib.metadata import version

    print(
        f"# pypdf {version('pypdf')}, pdfminer.six {version('pdfminer.six')}, "
        f"fpdf2 {version('fpdf2')}; load average {os.getloadavg()[0]:.1f}; runs {args.runs}"
    )
    print("| document | reader | CPU ms/page | wall ms/page |")
    print("|---|---|---|---|")
    for pages in (int(count) for count in args.pages.split(",")):
        body = make_pdf(pages)
        for name, reader in READERS.items():
            cpu, wall = measure(reader, body, args.runs)
            print(
                f"| {pages} pages, {len(body) // 1024} KB | {name} "
                f"| {cpu * 1000 / pages:.1f} | {wall * 1000 / pages:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
