"""The text and link differs: word edits, moves, every view, large heavily edited pages."""

from __future__ import annotations

import doctest
import json
import logging
import random
import string
from html.parser import HTMLParser

import pytest

import monitor.detect.differ as differ
from monitor.detect.differ import (
    ImageDiff,
    LinkDiff,
    Segment,
    TextDiff,
    diff_images,
    diff_links,
    diff_text,
    line_ops,
)

HOURS = "Consular section\nOpen Monday to Friday, 9:00 to 17:00.\nClosed on public holidays."
STATEMENT = "Press release\nThe ministry denies the report.\nContact the press office."

# (name, before line, after line, expected segments of the changed line)
WORD_CASES = [
    (
        "one word replaced",
        "The ministry denies the report.",
        "The ministry confirms the report.",
        [("equal", "The ministry "), ("delete", "denies"), ("insert", "confirms"),
         ("equal", " the report.")],
    ),
    (
        "number inside a time",
        "Open Monday to Friday, 9:00 to 17:00.",
        "Open Monday to Friday, 9:00 to 16:00.",
        [("equal", "Open Monday to Friday, 9:00 to "), ("delete", "17"), ("insert", "16"),
         ("equal", ":00.")],
    ),
    (
        "words inserted",
        "Visa applications are accepted at the embassy.",
        "Visa applications are no longer accepted at the embassy.",
        [("equal", "Visa applications are "), ("insert", "no longer "),
         ("equal", "accepted at the embassy.")],
    ),
    (
        "word deleted",
        "Appointments are strictly required for all services.",
        "Appointments are required for all services.",
        [("equal", "Appointments are "), ("delete", "strictly "),
         ("equal", "required for all services.")],
    ),
    (
        "cyrillic word",
        "Посольство закрыто в понедельник.",
        "Посольство открыто в понедельник.",
        [("equal", "Посольство "), ("delete", "закрыто"), ("insert", "открыто"),
         ("equal", " в понедельник.")],
    ),
    (
        "one CJK character",
        "大使馆周一关闭。",
        "大使馆周二关闭。",
        [("equal", "大使馆周"), ("delete", "一"), ("insert", "二"), ("equal", "关闭。")],
    ),
]  # fmt: skip


def _wrap(line: str) -> str:
    return f"Heading of the page\n{line}\nA closing paragraph that does not change."


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [case[1:] for case in WORD_CASES],
    ids=[case[0] for case in WORD_CASES],
)
def test_word_level_edit(before: str, after: str, expected: list[tuple[str, str]]) -> None:
    diff = diff_text(_wrap(before), _wrap(after))
    changed = [line for line in diff.lines if line.op != "equal"]
    assert [line.op for line in changed] == ["change"]
    assert [(s.op, s.text) for s in changed[0].segments] == expected
    assert changed[0].old_text == before
    assert changed[0].new_text == after
    assert diff.stats.hunks == 1
    assert diff.stats.lines_added == diff.stats.lines_removed == 1


def test_one_word_edit_counts_one_word() -> None:
    diff = diff_text(STATEMENT, STATEMENT.replace("denies", "confirms"))
    assert diff.stats.words_added == 1
    assert diff.stats.words_removed == 1
    assert diff.stats.chars_added == len("confirms")
    assert diff.stats.chars_removed == len("denies")
    assert diff.added_text == "confirms"
    assert diff.removed_text == "denies"
    assert diff.stats.longest_change_chars == len("confirms")
    assert 0 < diff.stats.ratio_changed < 0.3


@pytest.mark.parametrize(
    ("before", "after", "ops"),
    [
        ("a\nb\nc", "a\nb\nnew line\nc", ["equal", "equal", "insert", "equal"]),
        ("a\nb\nc", "a\nc", ["equal", "delete", "equal"]),
        ("", "first\nsecond", ["insert", "insert"]),
        ("first\nsecond", "", ["delete", "delete"]),
        ("a\nb\n", "a\nb", ["equal", "equal"]),
    ],
    ids=["line added", "line removed", "from empty", "to empty", "trailing newline"],
)
def test_line_ops(before: str, after: str, ops: list[str]) -> None:
    assert [line.op for line in diff_text(before, after).lines] == ops


def test_line_added_and_removed_stats() -> None:
    before = "Embassy news\nThe visa section reopens on Monday.\nContact us"
    after = "Embassy news\nContact us\nNew opening hours apply from June.\nCall ahead."
    diff = diff_text(before, after)
    assert [(line.op, line.old_no, line.new_no) for line in diff.lines] == [
        ("equal", 1, 1),
        ("delete", 2, None),
        ("equal", 3, 2),
        ("insert", None, 3),
        ("insert", None, 4),
    ]
    stats = diff.stats
    assert (stats.lines_added, stats.lines_removed, stats.hunks) == (2, 1, 2)
    assert stats.words_removed == 6
    assert stats.words_added == 8
    assert diff.added_text == "New opening hours apply from June.\nCall ahead."
    assert stats.longest_change_chars == len("New opening hours apply from June.Call ahead.")


def test_dissimilar_lines_are_not_paired() -> None:
    before = "Intro\nThe embassy is closed on 1 May for Labour Day.\nOld notice to remove\nEnd"
    after = "Intro\nThe embassy is closed on 2 May for Labour Day.\nCompletely other words\nEnd"
    ops = [line.op for line in diff_text(before, after).lines]
    assert ops == ["equal", "change", "delete", "insert", "equal"]


def test_line_ops_keeps_its_contract() -> None:
    ops = line_ops("a\nb\nc", "a\nB\nc")
    assert [(op.op, op.lines) for op in ops] == [
        (" ", ("a",)),
        ("-", ("b",)),
        ("+", ("B",)),
        (" ", ("c",)),
    ]


# --- moves -------------------------------------------------------------------------

PARAGRAPHS = [
    "Consular services",
    "Passports are issued within ten working days of a complete application.",
    "Visa applications must be lodged in person at the consular section.",
    "Legalisation of documents takes three working days.",
    "Citizens travelling abroad should register with the consulate.",
    "Contact",
]


def test_moved_paragraph_is_a_move() -> None:
    after = [PARAGRAPHS[0], PARAGRAPHS[2], PARAGRAPHS[3], PARAGRAPHS[4], PARAGRAPHS[1]]
    after.append(PARAGRAPHS[5])
    diff = diff_text("\n".join(PARAGRAPHS), "\n".join(after))
    ops = [(line.op, line.old_no, line.new_no, line.counterpart) for line in diff.lines]
    assert ("moved_out", 2, None, 5) in ops
    assert ("moved_in", None, 5, 2) in ops
    assert [(m.old_start, m.new_start, m.length) for m in diff.moves] == [(2, 5, 1)]
    stats = diff.stats
    assert (stats.words_added, stats.words_removed, stats.chars_added, stats.chars_removed) == (
        0,
        0,
        0,
        0,
    )
    assert (stats.lines_added, stats.lines_removed, stats.moved_lines) == (0, 0, 1)
    assert stats.ratio_changed == 0
    assert diff.added_text == diff.removed_text == ""
    inline = diff.inline_html()
    assert 'class="line moved moved-out" data-old="2" data-moved-to="5"' in inline
    assert 'class="line moved moved-in" data-new="5" data-moved-from="2"' in inline
    assert "<ins>" not in inline and "<del>" not in inline
    assert 'class="old moved"' in diff.side_by_side_html()
    assert 'class="new moved"' in diff.side_by_side_html()


def test_moved_run_of_lines_is_one_move_and_edits_still_count() -> None:
    before = [*PARAGRAPHS, *(f"Section {n}: long enough to count as a move." for n in "AB")]
    after = [*before[:1], *before[6:], *before[1:6]]
    after[0] = "Consular services and visas"
    diff = diff_text("\n".join(before), "\n".join(after))
    assert len(diff.moves) == 1
    assert diff.stats.moved_lines == diff.moves[0].length == 2
    assert diff.stats.words_added == 2  # "and visas": the move itself adds nothing
    assert diff.stats.words_removed == 0


def test_short_repeated_line_is_not_a_move() -> None:
    before = "Share\nFirst paragraph of the article text.\nSecond paragraph of it."
    after = "First paragraph of the article text.\nSecond paragraph of it.\nShare"
    diff = diff_text(before, after)
    assert diff.moves == ()
    assert {line.op for line in diff.lines} == {"equal", "delete", "insert"}


# --- HTML --------------------------------------------------------------------------

HOSTILE_BEFORE = "\n".join(
    [
        "Title <script>alert(1)</script>",
        '<img src=x onerror="alert(1)"> caption stays',
        "Link: <a href='javascript:alert(1)'>click</a> & more",
        "A line removed <b>bold</b> entirely",
    ]
)
HOSTILE_AFTER = "\n".join(
    [
        "Title <script>alert(2)</script>",
        '<img src=y onerror="alert(1)"> caption stays',
        "Link: <a href='javascript:alert(2)'>click</a> & more",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT> inserted",
    ]
)
ALLOWED_TAGS = {"div", "ins", "del", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"class", "title", "colspan", "data-old", "data-new"}
ALLOWED_ATTRIBUTES |= {"data-moved-to", "data-moved-from"}
LINE_ELEMENTS = {"div", "td", "th"}


class _DiffHTMLChecker(HTMLParser):
    """Records tags, attributes and whether every ins/del sits inside one line element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _value in attrs)
        if tag in ("ins", "del"):
            if not self.stack or self.stack[-1] not in LINE_ELEMENTS:
                self.problems.append(f"<{tag}> directly inside {self.stack[-1:]}")
        elif any(open_tag in ("ins", "del") for open_tag in self.stack):
            self.problems.append(f"<{tag}> inside an open highlight: {self.stack}")
        if tag != "col":  # a void element: no end tag
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_html(markup: str) -> _DiffHTMLChecker:
    checker = _DiffHTMLChecker()
    checker.feed(markup)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []
    assert checker.tags <= ALLOWED_TAGS
    assert checker.attributes <= ALLOWED_ATTRIBUTES
    return checker


@pytest.mark.parametrize("view", ["inline", "side_by_side", "inline_context", "sbs_context"])
def test_html_escapes_page_text(view: str) -> None:
    diff = diff_text(HOSTILE_BEFORE, HOSTILE_AFTER)
    markup = {
        "inline": diff.inline_html,
        "side_by_side": diff.side_by_side_html,
        "inline_context": lambda: diff.inline_html(context=0),
        "sbs_context": lambda: diff.side_by_side_html(context=0),
    }[view]()
    assert "<script" not in markup.lower()
    assert "<img" not in markup.lower() and "<a " not in markup.lower()
    assert "&lt;script&gt;" in markup
    checker = _check_html(markup)
    # The hostile strings survive as visible text only.
    text = "".join(checker.text)
    assert "onerror=" in text and "javascript:" in text and "<script>" in text


def test_side_by_side_labels_are_escaped() -> None:
    markup = diff_text("a", "b").side_by_side_html(labels=("<b>v1</b>", "v2 & more"))
    assert "&lt;b&gt;v1&lt;/b&gt;" in markup and "v2 &amp; more" in markup
    _check_html(markup)


def test_highlights_never_cross_a_line() -> None:
    before = "\n".join(f"Paragraph {n} says the office opens at nine every day." for n in range(8))
    lines = before.split("\n")
    lines[1] = lines[1].replace("nine", "ten")
    lines[3:5] = ["Two new lines", "of inserted text, back to back"]
    lines[6] = lines[6].replace("opens at nine every", "is shut every")
    after = "\n".join(lines)
    diff = diff_text(before, after)
    for markup in (diff.inline_html(), diff.side_by_side_html(), diff.inline_html(context=1)):
        _check_html(markup)
    inline = diff.inline_html()
    assert inline.count('<div class="line') == len(diff.lines)
    assert "<ins>Two new lines</ins></div>" in inline


def test_inline_html_text_rebuilds_both_versions() -> None:
    diff = diff_text(HOURS, HOURS.replace("17:00", "16:30").replace("public", "national"))
    assert "\n".join(line.old_text for line in diff.lines if line.old_no) == HOURS
    new_text = "\n".join(line.new_text for line in diff.lines if line.new_no)
    assert new_text == HOURS.replace("17:00", "16:30").replace("public", "national")
    assert diff.inline_html().startswith('<div class="diff">')
    assert diff.side_by_side_html().startswith('<table class="diff-sbs">')


def test_context_collapses_unchanged_lines() -> None:
    before = "\n".join(f"Line number {n} of the page." for n in range(20))
    after = before.replace("Line number 10 of", "Line number ten of")
    diff = diff_text(before, after)
    inline = diff.inline_html(context=2)
    assert inline.count('<div class="line') == 5
    assert '<div class="skip">8 unchanged lines</div>' in inline
    assert '<div class="skip">7 unchanged lines</div>' in inline
    assert '<tr class="skip"><td colspan="4">8 unchanged lines</td></tr>' in (
        diff.side_by_side_html(context=2)
    )


# --- unified and JSON --------------------------------------------------------------


def test_unified_format() -> None:
    before = "\n".join(f"line {n}" for n in range(1, 11))
    after = before.replace("line 2", "line two").replace("line 9\n", "") + "\nline 11"
    expected = """\
--- v1
+++ v2
@@ -1,3 +1,3 @@
 line 1
-line 2
+line two
 line 3
@@ -8,3 +8,3 @@
 line 8
-line 9
 line 10
+line 11
"""
    assert diff_text(before, after).unified(context=1, labels=("v1", "v2")) == expected


def test_unified_groups_removed_before_added_and_numbers_insertions() -> None:
    before = "keep\nold one\nold two\nend"
    after = "keep\nold one!\nold two!\nend"
    assert diff_text(before, after).unified(context=0).splitlines()[2:] == [
        "@@ -2,2 +2,2 @@",
        "-old one",
        "-old two",
        "+old one!",
        "+old two!",
    ]
    assert diff_text("", "new").unified(context=0).splitlines()[2] == "@@ -0,0 +1,1 @@"
    assert diff_text("a\nb", "a\nb\nc").unified(context=0).splitlines()[2] == "@@ -2,0 +3,1 @@"


def test_json_round_trip() -> None:
    before = "\n".join(PARAGRAPHS)
    after = "\n".join([*PARAGRAPHS[2:], PARAGRAPHS[1]]).replace("three", "five") + "\n<new>"
    diff = diff_text(before, after)
    data = json.loads(json.dumps(diff.to_json()))
    assert data == diff.to_json()
    assert TextDiff.from_json(data) == diff
    assert data["stats"]["moved_lines"] == 1
    assert data["degenerate"] is False
    kinds = {item["op"] for item in data["lines"]}
    assert kinds == {"moved_out", "moved_in", "change", "equal", "delete", "insert"}


# --- empty and identical -----------------------------------------------------------


def test_both_empty() -> None:
    diff = diff_text("", "")
    assert diff.lines == () and not diff.changed
    assert diff.unified() == ""
    assert diff.stats.ratio_changed == 0 and diff.stats.hunks == 0
    _check_html(diff.inline_html())
    _check_html(diff.side_by_side_html())


def test_from_empty_is_all_added() -> None:
    diff = diff_text("", "New page\nwith two lines")
    assert diff.stats.ratio_changed == 1.0
    assert diff.stats.lines_added == 2 and diff.stats.words_added == 5
    assert diff.added_text == "New page\nwith two lines"


@pytest.mark.parametrize("text", [HOURS, "one line", "x\n\ny", "\n"])
def test_identical_texts(text: str) -> None:
    diff = diff_text(text, text)
    assert not diff.changed
    assert all(line.op == "equal" for line in diff.lines)
    assert diff.unified() == ""
    stats = diff.stats
    assert (stats.chars_added, stats.chars_removed, stats.hunks, stats.moved_lines) == (0, 0, 0, 0)
    assert "<ins>" not in diff.inline_html() and "<del>" not in diff.side_by_side_html()


# --- large pages and the degenerate result ------------------------------------------


def _edited_page(size: int, edits: int, seed: int) -> tuple[str, str, int]:
    """A page of sentence lines and the same page with ``edits`` words replaced."""
    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 10))) for _ in range(3000)
    ]
    lines: list[list[str]] = []
    total = 0
    while total < size:
        lines.append(rng.choices(vocabulary, k=rng.randint(15, 45)))
        total += len(" ".join(lines[-1])) + 1
    places = [(i, k) for i, words in enumerate(lines) for k in range(len(words))]
    edited = [list(words) for words in lines]
    changed = 0
    for i, k in rng.sample(places, edits):
        word = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 9)))
        changed += len(edited[i][k]) + len(word)
        edited[i][k] = word
    before = "\n".join(" ".join(words) for words in lines)
    return before, "\n".join(" ".join(words) for words in edited), changed


def test_heavily_edited_megabyte_page_is_not_delete_all() -> None:
    before, after, true_chars = _edited_page(1_000_000, 3000, seed=7)
    diff = diff_text(before, after)
    found = diff.stats.chars_added + diff.stats.chars_removed
    assert not diff.degenerate
    # Semantic cleanup may merge two edits a word apart, never more than a little.
    assert true_chars <= found <= 1.3 * true_chars
    assert diff.stats.ratio_changed < 0.05
    assert diff.stats.longest_change_chars < 200


def test_lightly_edited_page_is_exact() -> None:
    before, after, true_chars = _edited_page(100_000, 20, seed=3)
    diff = diff_text(before, after)
    assert diff.stats.chars_added + diff.stats.chars_removed == true_chars
    assert diff.stats.words_added == diff.stats.words_removed == 20


def _repetitive_pages() -> tuple[str, str]:
    # No line occurs once, so nothing anchors the diff and diff-match-patch does it all.
    rng = random.Random(11)
    vocabulary = [f"Repeated row {n} of a table." for n in range(6)]
    before = [rng.choice(vocabulary) for _ in range(600)]
    after = list(before)
    for index in sorted(rng.sample(range(600), 40), reverse=True):
        after[index] = rng.choice(vocabulary)
    return "\n".join(before), "\n".join(after)


def test_degenerate_answer_is_detected_and_redone(caplog: pytest.LogCaptureFixture) -> None:
    before, after = _repetitive_pages()
    # A deadline already past: diff-match-patch answers "delete all, insert all".
    with caplog.at_level(logging.DEBUG, logger="monitor.detect.differ"):
        diff = diff_text(before, after, timeout=1e-9)
    assert "redoing it exactly" in caplog.text
    assert not diff.degenerate
    exact = diff_text(before, after, timeout=0)
    assert diff.stats.lines_removed == exact.stats.lines_removed < 80


def test_degenerate_fallback_for_large_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    before, after = _repetitive_pages()
    monkeypatch.setattr(differ, "_EXACT_RETRY_LIMIT", 100)
    diff = diff_text(before, after, timeout=1e-9)
    assert not diff.degenerate
    assert diff.stats.lines_removed < 120


def test_delete_all_insert_all_is_recognised() -> None:
    a, b = "ABCD", "ABXD"
    assert differ._shares_symbols([(differ.DELETE, a), (differ.INSERT, b)])
    assert not differ._shares_symbols(
        [(differ.EQUAL, "AB"), (differ.DELETE, "C"), (differ.INSERT, "X"), (differ.EQUAL, "D")]
    )


# --- links -------------------------------------------------------------------------


def test_link_set_diff() -> None:
    before = [
        ("https://mfa.example/visa", "Visas"),
        ("https://mfa.example/news", "News"),
        ("https://mfa.example/news", "News"),
        ("https://mfa.example/contact", "Contact"),
    ]
    after = [
        ("https://mfa.example/visa", "Visas and permits"),
        ("https://mfa.example/contact", " Contact "),
        ("https://mfa.example/travel", "Travel advice"),
        ("https://mfa.example/travel", ""),
    ]
    diff = diff_links(before, after)
    assert diff.added == (("https://mfa.example/travel", "Travel advice"),)
    assert diff.removed == (("https://mfa.example/news", "News"),)
    assert diff.text_changed == (("https://mfa.example/visa", "Visas", "Visas and permits"),)
    assert diff.changed
    assert diff.to_text().splitlines() == [
        "+ Travel advice <https://mfa.example/travel>",
        "- News <https://mfa.example/news>",
        "~ Visas -> Visas and permits <https://mfa.example/visa>",
    ]
    assert json.loads(json.dumps(diff.to_json()))["added"] == [
        ["https://mfa.example/travel", "Travel advice"]
    ]


def test_link_diff_unchanged_and_empty() -> None:
    links = [("/a", "A"), ("/b", "B")]
    assert diff_links(links, reversed(links)) == LinkDiff((), (), ())
    assert not diff_links([], []).changed


def test_link_html_is_escaped_and_only_http_is_clickable() -> None:
    diff = diff_links(
        [],
        [
            ("javascript:alert(1)", "<script>alert(1)</script>"),
            ('https://mfa.example/?q="><script>', "ok"),
        ],
    )
    markup = diff.to_html()
    assert "<script" not in markup.lower()
    assert 'href="javascript' not in markup
    assert '<code class="url">javascript:alert(1)</code>' in markup
    assert 'href="https://mfa.example/?q=&quot;&gt;&lt;script&gt;"' in markup


# --- images ------------------------------------------------------------------------


def test_images_are_compared_by_address_without_query_string() -> None:
    before = [
        ("https://mfa.example/img/minister.jpg?itok=a1", "The minister"),
        ("https://mfa.example/img/map.png?v=1", "Evacuation map"),
    ]
    after = [
        ("https://mfa.example/img/minister.jpg?itok=b2", "The minister"),  # cache-buster only
        ("https://mfa.example/img/signed.png", "Signed declaration"),
    ]
    diff = diff_images(before, after)
    assert isinstance(diff, ImageDiff) and diff.changed
    assert diff.removed == (("https://mfa.example/img/map.png?v=1", "Evacuation map"),)
    assert diff.added == (("https://mfa.example/img/signed.png", "Signed declaration"),)
    assert diff.text_changed == ()
    assert diff.to_text().splitlines() == [
        "+ [Signed declaration] <https://mfa.example/img/signed.png>",
        "- [Evacuation map] <https://mfa.example/img/map.png?v=1>",
    ]
    assert diff.to_json()["removed"] == [["https://mfa.example/img/map.png?v=1", "Evacuation map"]]


def test_an_image_whose_alt_text_changed_is_reported_as_such() -> None:
    image = "https://x.gov/a.jpg"
    diff = diff_images([(image, "Ambassador Ivanova")], [(image, "")])
    assert diff.text_changed == ((image, "Ambassador Ivanova", ""),)
    assert not diff_images([(image, "A")], [(f"{image}?w=2", "A")]).changed


def test_the_image_diff_html_escapes_text_and_never_loads_an_image() -> None:
    markup = diff_images([], [("javascript:alert(1)", "<script>x</script>")]).to_html()
    assert 'class="images-diff"' in markup
    assert "<img" not in markup and "<script" not in markup.lower()


def test_doctests() -> None:
    result = doctest.testmod(differ)
    assert result.attempted >= 5
    assert result.failed == 0


def test_segments_are_frozen() -> None:
    segment = Segment("equal", "x")
    with pytest.raises(AttributeError):
        segment.text = "y"  # type: ignore[misc]
