"""The similarity rule for moved pages, measured on the fixture site.

Runs the fixture site of the detection tests (``tests/detection_site.py``: statements and
articles of one embassy, built from a shared pool of sentences, every round of its
scenario: edits, removals, restorations, new articles) through real checks into a fresh
SQLite database, then compares every stored version with every other
(``monitor.detect.moves``' rule: word 4-gram Jaccard, equal word sequences = 1.0):

* distinct pages: how close two different pages of the site come (any pair at or above
  the threshold could be a false move);
* one page's versions: how far an edited page drifts from its previous version (the
  edits a move "with edits" must survive);

and counts the ``moved`` events the checks recorded (the scenario has none: any is a
false move). Prints the figures for the threshold in force and a few others.

    python benchmarks/moves.py
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from monitor import config as cfg
from monitor.check import run_check
from monitor.detect import moves
from monitor.records import PageKey
from monitor.storage.models import Change, Page, Version
from monitor.storage.store import Store
from tests.detection_site import ROUNDS, DetectionSite
from tests.test_detection_matrix import _config


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, DetectionSite() as site:
        database = f"sqlite:///{Path(folder) / 'moves.db'}"
        config: cfg.Config = _config(site, "bare", database)
        store = Store(database)
        try:
            for number in range(ROUNDS):
                site.set_round(number)
                run_check(config, store, config.targets)
            with store.session() as session:
                rows = session.execute(
                    select(Page.id, Page.url, Version.seq, Version.title, Version.text)
                    .join(Version, Version.page_id == Page.id)
                    .where(Page.role != "listing")
                    .order_by(Page.id, Version.seq)
                ).all()
                moved = session.scalar(
                    select(func.count()).select_from(Change).where(Change.kind == "moved")
                )
        finally:
            store.close()
    seen = [
        moves.Seen(PageKey("fixture", url), page_id, seq, title, text)
        for page_id, url, seq, title, text in rows
    ]
    tokens = [moves.words(page) for page in seen]
    distinct: list[float] = []
    same: list[float] = []
    for (i, a), (j, b) in itertools.combinations(enumerate(seen), 2):
        if len(tokens[i]) < moves.MIN_WORDS or len(tokens[j]) < moves.MIN_WORDS:
            continue
        value = moves.similarity(tokens[i], tokens[j])
        if a.page_id != b.page_id:
            distinct.append(value)
        elif b.version_id == (a.version_id or 0) + 1:
            same.append(value)
    pages = len({page.page_id for page in seen})
    print(f"fixture site: {pages} pages, {len(seen)} versions, {ROUNDS} rounds")
    print(f"moved events recorded by the checks: {moved} (the scenario has no move)")
    print(f"distinct-page version pairs: {len(distinct)}, most similar: {max(distinct):.3f}")
    print(
        f"same-page consecutive versions: {len(same)}, least similar: {min(same):.3f}, "
        f"median: {sorted(same)[len(same) // 2]:.3f}"
    )
    for threshold in (0.4, 0.5, moves.THRESHOLD, 0.7, 0.8, 0.9):
        false = sum(1 for value in distinct if value >= threshold)
        kept = sum(1 for value in same if value >= threshold)
        mark = "  <- in force" if threshold == moves.THRESHOLD else ""
        print(
            f"threshold {threshold:.2f}: distinct pairs at or above (possible false moves) "
            f"{false}; edited versions still matched {kept}/{len(same)}{mark}"
        )


if __name__ == "__main__":
    main()
