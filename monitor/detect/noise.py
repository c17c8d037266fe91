"""What a batch teaches about a page's noise, as rows of its recording plan (pure).

Two ways a page's noise is learned (:mod:`monitor.detect.volatility` decides what is noise):

* :func:`observed`: after a new version, every candidate's streak advances with the
  lines that changed; what changed like noise in ``volatile_after`` captures in a row is
  learned (counters, stamps, date widgets, blocks rotating among lines they showed
  before; never new words);
* :func:`probed`: the lines that differ between the two fetches of a new page, seconds
  apart, are learned at once.

What is learned goes into the plan as rule rows with a note on the page's timeline, the
page's state is advanced in memory, and its compare hash re-based so the next capture is
judged without it. :func:`rebased` is that re-basing for any set of pages (a site whose
chrome is now known, a page whose learning was reset).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from monitor.detect import site_boilerplate as site
from monitor.detect import volatility
from monitor.detect.events import Context
from monitor.detect.observe import compared_lines, stored_hash
from monitor.detect.significance import matching_terms
from monitor.recording import NoteRow, Plan, RuleWrite, StreakReset
from monitor.records import Observation, PageState, Rule, StoredVersion, Volatility

logger = logging.getLogger(__name__)


def observed(
    plan: Plan,
    state: PageState,
    previous: StoredVersion,
    observation: Observation,
    context: Context,
    capture_id: int,
    now: datetime,
) -> None:
    """Advance the page's streaks with a new version; learn only what looks like noise.

    The decision is :func:`monitor.detect.volatility.learn`. What is learned is written
    with a note on the page's timeline, and ``state``'s compare hash is re-based.
    """
    assert state.page_id is not None
    learned_before = state.volatility or volatility.NONE
    before_lines = compared_lines(
        previous.text.splitlines(), (), learned_before, state.site_chrome or site.NONE
    )[0]
    watch = context.watch_terms

    def is_prose(line: str) -> bool:
        # A line naming a watch term is a statement, however short.
        return volatility.is_statement(line) or bool(matching_terms(watch, line))

    learning = volatility.learn(
        before_lines,
        observation.compared or [],
        state.volatile_rules,
        context.volatile_after,
        is_prose,
    )
    if learning.broken:
        for key in learning.broken:
            state.volatile_rules.pop(key, None)
        plan.volatility.append(
            StreakReset(state.page_id, tuple(value for _kind, value in learning.broken), now)
        )
    save_rules(plan, state, learning.rules, "observed", now)
    new = learning.volatility
    if not new:
        return
    merged = learned_before.merged(new)
    state.volatility = merged
    state.last_content_sha256 = stored_hash(
        observation.title,
        observation.text or "",
        observation.images,
        merged,
        state.site_chrome,
        observation.links,
    )
    extended = {rule.key: lines for rule, lines in learning.extended}
    plan.notes.append(
        learning_note(
            state.page_id,
            capture_id,
            "learned",
            "observed",
            [*learning.learned, *(rule for rule, _lines in learning.extended)],
            now,
            extended,
        )
    )
    logger.info(
        "learned %d volatile rule(s) on page %s from its last captures",
        len(learning.learned) + len(learning.extended),
        state.page_id,
    )


def probed(
    plan: Plan,
    state: PageState,
    first: Observation,
    probe: Observation,
    capture_id: int,
    last_version: StoredVersion | None,
    now: datetime,
) -> None:
    """Lines that differ between two fetches seconds apart are noise on this page:
    learned, noted, and the page's compare hash re-based on its last version."""
    if not probe.compared or not first.compared or state.page_id is None:
        return
    learned = volatility.differing(first.compared, probe.compared)
    if not learned:
        return
    logger.info(
        "learned %d volatile line(s) on %s",
        len(learned.signatures) + len(learned.after),
        probe.fetch.key.url,
    )
    current = state.volatility or volatility.NONE
    merged = current.merged(learned)
    rules = new_rules(state, current, learned)
    if not rules:
        return
    save_rules(plan, state, rules, "probe", now)
    plan.notes.append(learning_note(state.page_id, capture_id, "learned", "probe", rules, now))
    state.volatility = merged
    if first.text is not None and last_version is not None:
        state.last_content_sha256 = stored_hash(
            last_version.title,
            last_version.text,
            last_version.images,
            merged,
            state.site_chrome,
            last_version.links,
        )
        row = plan.page_updates.setdefault(state.page_id, {})
        row["compare_sha256"] = state.last_content_sha256


def save_rules(
    plan: Plan, state: PageState, rules: Iterable[Rule], source: str, now: datetime
) -> None:
    """Rules as they are now: into the plan, and into the page's state."""
    assert state.page_id is not None
    for rule in rules:
        plan.volatility.append(RuleWrite(state.page_id, rule, source, now))
        state.volatile_rules[rule.key] = rule


def new_rules(state: PageState, current: Volatility, learned: Volatility) -> list[Rule]:
    """The rules to store for what a probe taught (not known yet on the page)."""
    rules: list[Rule] = [
        Rule("signature", value, learned=True)
        for value in sorted(learned.signatures - current.signatures)
    ]
    for before, after in sorted(learned.after):
        lines = frozenset(
            line for b, a, line in learned.known if (b, a) == (before, after)
        ) - frozenset(line for b, a, line in current.known if (b, a) == (before, after))
        if (before, after) in current.after and not lines:
            continue
        previous = state.volatile_rules.get(("after", volatility.block_key(before, after)))
        known = lines | (previous.known if previous is not None else frozenset())
        rules.append(Rule("after", volatility.block_key(before, after), 0, True, known=known))
    return rules


def learning_note(
    page_id: int,
    capture_id: int | None,
    action: str,
    source: str,
    rules: Sequence[Rule],
    now: datetime,
    lines: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> NoteRow:
    """A note on the page's timeline: what was learned (or forgotten), and from what."""
    return NoteRow(
        page_id=page_id,
        capture_id=capture_id,
        noted_at=now,
        action=action,
        source=source,
        rules=[volatility.rule_json(rule, (lines or {}).get(rule.key)) for rule in rules],
        summary=volatility.describe(action, source, rules, lines),
    )


def rebased(
    versions: Iterable[tuple[int, StoredVersion]],
    learned: Mapping[int, Volatility | None],
    chrome: site.SiteChrome | None,
) -> dict[int, str]:
    """The compare hash of each page (by id) under what is known now: its last version
    re-masked with its learned noise and its site's chrome, so that its next capture is
    compared under the same rules as the version it is compared with."""
    return {
        page_id: stored_hash(
            version.title, version.text, version.images, learned.get(page_id), chrome, version.links
        )
        for page_id, version in versions
    }
