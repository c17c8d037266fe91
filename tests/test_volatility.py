"""Volatile text: built-in patterns line by line (volatility.yaml), learning and masking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.detect import volatility
from monitor.detect.differ import line_ops
from monitor.detect.volatility import NONE, Volatility, differing, mask, signature

DATA = Path(__file__).parent / "data" / "detection"
CASES = yaml.safe_load((DATA / "volatility.yaml").read_text())


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=case["name"],
            marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {case['bug']}")]
            if "bug" in case
            else [],
        )
        for case in CASES
    ],
)
def test_builtin_patterns(case: dict[str, Any]) -> None:
    assert volatility.apply_builtin(case["line"]) == case["expect"]


def test_mask_without_learning_applies_the_builtin_patterns_only() -> None:
    lines = [
        "/Today's working hours: 08.00-14.00",
        "15 december / 2022",
        "New visa rules for students",
        "Number of views (4099)/Comments (0)",
        "Visitors today: 1234",
    ]
    assert mask(lines) == [
        "15 december / 2022",
        "New visa rules for students",
        "Number of views (#)/Comments (#)",
        "Visitors today: #",
    ]
    again = [line.replace("4099", "4100").replace("1234", "1301") for line in lines]
    again[0] = "/Today's working hours: 09.00-13.00"
    assert mask(again) == mask(lines)


def _capture(request: str, quote: str, related: tuple[str, str], fee: str = "150") -> list[str]:
    """One capture of an embassy page, as its extracted lines."""
    return [
        "Embassy of Example in Vienna",
        f"Request {request} served by web-3",
        "Quote of the day",
        quote,
        "New visa rules for students",
        "15 december / 2022",
        f"The consular fee is {fee} euros and is paid by bank transfer.",
        "Applications are accepted by appointment only.",
        "Related news",
        *related,
        "Visitors today: 1234",
        "© 2008-2024 Embassy of Example in Vienna",
    ]


FIRST = _capture(
    "48213",
    "Diplomacy is the art of letting someone have your way.",
    ("The ambassador met the rector", "Days of culture opened in Graz"),
)
PROBE = _capture(
    "50117",
    "A good neighbour is worth more than a distant relative.",
    ("Consular day in Salzburg on 12 May", "Exhibition of Example painters in Linz"),
)


def _learned() -> Volatility:
    # As the crawler does: learn from the two captures' compared (built-in masked) lines.
    return differing(mask(FIRST), mask(PROBE))


def test_differing_learns_signatures_and_rotating_contexts() -> None:
    learned = _learned()
    assert learned.signatures == {"Request # served by web-#"}
    # The rotating quote (one line) and the rotating related news block (two lines).
    # Each as the stable lines around it, whatever the number of lines in between.
    assert learned.after == {
        ("Quote of the day", "New visa rules for students"),
        ("Related news", "Visitors today: #"),
    }
    assert learned


def test_learned_volatility_makes_the_probe_pair_equal() -> None:
    learned = _learned()
    assert mask(FIRST) != mask(PROBE)
    assert mask(FIRST, learned) == mask(PROBE, learned)


def test_a_later_capture_rotating_among_known_lines_compares_equal() -> None:
    later = _capture(
        "61002",
        "Diplomacy is the art of letting someone have your way.",
        ("Consular day in Salzburg on 12 May", "Days of culture opened in Graz"),
    )
    later[-2] = "Visitors today: 2001"
    learned = _learned()
    assert mask(later, learned) == mask(FIRST, learned)


def test_a_new_sentence_in_a_learned_block_is_compared() -> None:
    """A learned block ignores only the lines it was seen to show (issue 17, item 1)."""
    learned = _learned()
    closed = _capture(
        "61002",
        "THE EMBASSY IS CLOSED UNTIL FURTHER NOTICE.",
        ("The ambassador met the rector", "Days of culture opened in Graz"),
    )
    changed = [
        (op.op, op.lines)
        for op in line_ops("\n".join(mask(FIRST, learned)), "\n".join(mask(closed, learned)))
        if op.op != " "
    ]
    assert changed == [("+", ("THE EMBASSY IS CLOSED UNTIL FURTHER NOTICE.",))]


def test_a_real_edit_still_differs_and_is_the_only_difference() -> None:
    learned = _learned()
    edited = _capture(
        "73344",
        "A good neighbour is worth more than a distant relative.",
        ("Consular day in Salzburg on 12 May", "Exhibition of Example painters in Linz"),
        fee="180",
    )
    before, after = mask(FIRST, learned), mask(edited, learned)
    assert before != after
    changed = [op for op in line_ops("\n".join(before), "\n".join(after)) if op.op != " "]
    assert [(op.op, op.lines) for op in changed] == [
        ("-", ("The consular fee is 150 euros and is paid by bank transfer.",)),
        ("+", ("The consular fee is 180 euros and is paid by bank transfer.",)),
    ]


def test_a_signature_line_whose_words_change_still_differs() -> None:
    learned = _learned()
    broken = list(FIRST)
    broken[1] = "Request 48213 failed on web-3"
    assert mask(broken, learned) != mask(FIRST, learned)


def test_a_rotating_block_at_the_start_of_the_page() -> None:
    before = ["Breaking: embassy closed today", "Visa rules", "Apply by appointment."]
    after = ["Breaking: new consul appointed", "Visa rules", "Apply by appointment."]
    learned = differing(before, after)
    assert learned.after == {("<start>", "Visa rules")}
    assert learned.known == {
        ("<start>", "Visa rules", "Breaking: embassy closed today"),
        ("<start>", "Visa rules", "Breaking: new consul appointed"),
    }
    assert mask(before, learned) == mask(after, learned) == ["Visa rules", "Apply by appointment."]


def test_equal_captures_teach_nothing() -> None:
    learned = differing(mask(FIRST), mask(FIRST))
    assert learned == NONE
    assert not learned


def test_merged_is_the_union() -> None:
    one = Volatility(
        frozenset({"Request #"}),
        frozenset({("Quote", "Body")}),
        frozenset({("Quote", "Body", "A")}),
    )
    two = Volatility(frozenset({"Token #"}), frozenset({("Related news", "<end>")}))
    assert one.merged(two) == Volatility(
        frozenset({"Request #", "Token #"}),
        frozenset({("Quote", "Body"), ("Related news", "<end>")}),
        frozenset({("Quote", "Body", "A")}),
    )
    assert NONE.merged(one) == one


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Request 48213 served in 12 ms", "Request # served in # ms"),
        ("Token: a81f0c2e", "Token: a#f#c#e"),
        ("No digits here", "No digits here"),
    ],
)
def test_signature(line: str, expected: str) -> None:
    assert signature(line) == expected


# Two captures a few seconds apart: what differs between them is, by definition, noise;
# once learned, the pair must compare equal and no stable line may be hidden.
PROBE_PAIRS = [
    pytest.param(
        ["Visa rules", "Quote of the day", "Quote A", "Apply by appointment."],
        ["Visa rules", "Quote of the day", "Quote B", "Apply by appointment."],
        id="one rotating line",
    ),
    pytest.param(
        ["Visa rules", "Related", "Item A", "Item B", "Footer"],
        ["Visa rules", "Related", "Item C", "Item D", "Footer"],
        id="a rotating block of two lines",
    ),
    pytest.param(
        ["Visa rules", "Served in 12 ms", "Footer"],
        ["Visa rules", "Served in 9 ms", "Footer"],
        id="a timing line",
    ),
    pytest.param(
        ["Visa rules", "Apply by appointment.", "Footer"],
        ["Visa rules", "Special offer: visit our museum", "Apply by appointment.", "Footer"],
        id="a banner shown on one visit only",
    ),
    pytest.param(
        ["Visa rules", "Special offer: visit our museum", "Apply by appointment.", "Footer"],
        ["Visa rules", "Apply by appointment.", "Footer"],
        id="a banner missing on the second visit",
    ),
    pytest.param(
        ["Related", "Item A", "Item B", "Footer"],
        ["Related", "Item C", "Item D", "Item E", "Footer"],
        id="a rotating block that grows",
    ),
]


@pytest.mark.parametrize(("first", "second"), PROBE_PAIRS)
def test_a_probe_pair_compares_equal_after_learning(first: list[str], second: list[str]) -> None:
    learned = differing(mask(first), mask(second))
    masked_first, masked_second = mask(first, learned), mask(second, learned)
    assert masked_first == masked_second
    # Lines present, unchanged, in both captures are still compared.
    stable = [line for line in first if line in second]
    for line in stable:
        assert line in masked_first, f"the stable line {line!r} is hidden"


# --- learning over captures: only what looks like noise (issue 17, item 1) -----------------


def _observe(captures: list[list[str]], volatile_after: int = 3) -> tuple[list[str], Volatility]:
    """Captures one after another, as the store sees them: what each one was, and what
    was learned in the end. An outcome is "changed", "changed+learned" or "unchanged"."""
    rules: dict[tuple[str, str], volatility.Rule] = {}
    learned = NONE
    outcomes = []
    previous = captures[0]
    for capture in captures[1:]:
        before, after = mask(previous, learned), mask(capture, learned)
        if before == after:
            rules = {key: rule for key, rule in rules.items() if rule.learned}
            outcomes.append("unchanged")
            continue
        learning = volatility.learn(before, after, rules, volatile_after)
        for key in learning.broken:
            rules.pop(key)
        rules.update((rule.key, rule) for rule in learning.rules)
        learned = learned.merged(learning.volatility)
        outcomes.append("changed+learned" if learning.learned or learning.extended else "changed")
        previous = capture
    return outcomes, learned


STATEMENT = ["Statement on the situation", "The embassy continues to work as usual."]


def test_genuine_edits_at_the_end_of_a_statement_are_never_learned() -> None:
    edits = [
        "Update: consular services resume on Monday.",
        "Update: flights are delayed by the weather.",
        "Update: citizens should register online.",
        "THE EMBASSY IS CLOSED until further notice.",
        "Evacuation advisory: leave the country by any means available.",
        "Update: consular services resume on Tuesday.",
    ]
    outcomes, learned = _observe(
        [[*STATEMENT, "Update: none yet."]] + [[*STATEMENT, e] for e in edits]
    )
    assert outcomes == ["changed"] * 6
    assert not learned


def test_a_counter_line_is_learned_after_three_captures() -> None:
    pages = [[*STATEMENT, f"Online now: {n}"] for n in (57, 63, 71, 80, 95, 102)]
    outcomes, learned = _observe(pages)
    assert outcomes == ["changed", "changed", "changed+learned", "unchanged", "unchanged"]
    assert learned.signatures == {"Online now: #"}


def test_numbers_in_a_sentence_are_never_learned() -> None:
    pages = [
        [*STATEMENT, f"So far {n} citizens have registered for the flights."]
        for n in (1200, 1350, 1420, 1600, 1710)
    ]
    outcomes, learned = _observe(pages)
    assert outcomes == ["changed"] * 4
    assert not learned


def test_a_block_rotating_among_three_values_is_learned_and_a_new_sentence_there_is_not() -> None:
    tips = [
        "Tip: keep copies of your passport.",
        "Tip: register your trip.",
        "Tip: check visa rules.",
    ]
    closed = "THE EMBASSY IS CLOSED until further notice."

    def page(tip: str) -> list[str]:
        return [*STATEMENT, "Did you know?", tip, "Contact us"]

    sequence = [*tips, tips[0], tips[1], tips[2], closed, tips[0], tips[1], closed, tips[2]]
    outcomes, learned = _observe([page(tip) for tip in sequence])
    assert outcomes == [
        "changed",  # tip 1 -> tip 2: new words
        "changed",  # tip 2 -> tip 3: new words
        "changed+learned",  # tip 3 -> tip 1: back to a value seen before, 3rd change in a row
        "unchanged",
        "unchanged",
        "changed",  # a new sentence in the learned block: compared, a change
        "changed",  # ... and gone again
        "unchanged",
        "changed+learned",  # shown a second time: now known to rotate there too
        "unchanged",
    ]
    assert ("Did you know?", "Contact us") in learned.after
    blocks = {line for _before, _after, line in learned.known}
    assert blocks == {*tips, closed}


def test_a_date_widget_is_learned() -> None:
    days = ["Friday 5 March", "Saturday 6 March", "Sunday 7 March", "Monday 8 March"]
    outcomes, learned = _observe([[*STATEMENT, day, "Contact us"] for day in days])
    assert outcomes == ["changed", "changed", "changed+learned"]
    assert learned.after == {(STATEMENT[-1], "Contact us")}


def test_a_growing_or_shrinking_block_is_never_learned() -> None:
    paragraphs = [f"Paragraph {word} of the notice." for word in ("one", "two", "three", "four")]
    growing = [[*STATEMENT, *paragraphs[:n]] for n in range(5)]
    assert _observe(growing)[0] == ["changed"] * 4
    assert _observe(list(reversed(growing)))[0] == ["changed"] * 4


def test_builtin_patterns_are_blind_to_case() -> None:
    """The patterns run on a line only when a case-sensitive probe of the lower-cased
    line finds them: upper-case and mixed-case lines are masked as lower-case ones."""
    for line, expected in [
        ("VIEWS: 1,204", "VIEWS: #"),
        ("Page Views 12 345", "Page Views #"),
        ("1,204 Views", "# Views"),
        ("Last Updated: 12 May 2024", "Last Updated: #"),
        ("UPDATED ON 03.04.2024 AT 10:15", "UPDATED ON #"),
        ("ПРОСМОТРОВ: 12", "ПРОСМОТРОВ: #"),
        ("(C) 2024 Embassy", "(C) # Embassy"),
        ("Walk-in visits are possible for 5 days", "Walk-in visits are possible for 5 days"),
    ]:
        assert volatility.apply_builtin(line) == expected
