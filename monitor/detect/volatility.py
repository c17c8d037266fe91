"""Volatile text: what changes on every visit and is never news.

Two sources, applied line by line before content is compared:

* built-in patterns (:data:`BUILTIN`): opening hours, "today" date/time widgets, view and
  visitor counters, "last updated" stamps, copyright years;
* what was learned per page: what differed between two fetches a few seconds apart
  when the page was first added (``probe``), or what changed like noise over several
  captures in a row (``observed``, :func:`learn`): a counter or timestamp line, a date
  widget, a block rotating among lines it showed before; never a line of new words. A
  learned line is known by its *signature* (the line with digit runs masked); a block by
  the stable lines around it and the lines it was seen to show: only those are ignored,
  so a new sentence in a learned block is still compared.

The text stored in a version is never masked: it is what the page said. Only the hash
used to compare captures, and the diff shown in alerts, see masked text.

Why one module of this size: the built-in patterns (data) and the learning rules that
must agree with them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from monitor.records import SEPARATOR as SEPARATOR
from monitor.records import Rule as Rule
from monitor.records import Volatility as Volatility
from monitor.records import block_key as block_key
from monitor.records import block_pair as block_pair

logger = logging.getLogger(__name__)

_DIGITS = re.compile(r"\d+")
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|"
    r"сентябр[яь]|октябр[яь]|ноябр[яь]|декабр[яь])\.?"
)
_WEEKDAYS = (
    r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"\d{{1,2}}\s+{_MONTHS}\s*[/,]?\s*\d{{4}}|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}})"
)
_TIME = r"\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named built-in pattern: ``drop`` removes the whole line, ``mask`` the match.

    ``needs``: lower-case words one of which every match contains; a line without any
    of them is skipped without running the (slower) pattern.
    """

    name: str
    regex: re.Pattern[str]
    action: str  # "drop" or "mask"
    replacement: str = "#"
    needs: tuple[str, ...] = ()
    # ``needs`` as one pattern (searched in the lower-cased line), None when empty.
    needed: re.Pattern[str] | None = None
    # The pattern as written, case-sensitive, searched in the lower-cased line: whether
    # a ``mask`` pattern matches at all, several times faster than the case-blind
    # pattern (Python's ``re`` is slow at case-blind alternations), which then runs only
    # on the lines it changes.
    probe: re.Pattern[str] | None = None


def _p(
    name: str, pattern: str, action: str, replacement: str = "#", needs: tuple[str, ...] = ()
) -> Pattern:
    needed = re.compile("|".join(map(re.escape, needs))) if needs else None
    probe = re.compile(pattern) if action == "mask" else None
    return Pattern(
        name, re.compile(pattern, re.IGNORECASE), action, replacement, needs, needed, probe
    )


BUILTIN: tuple[Pattern, ...] = (
    _p(
        "opening-hours",
        # Only "today's"/"current" hours: a published weekly schedule is content.
        r"^\W*(?:today'?s|current|now)\s+(?:working|opening|office|business|reception|visiting)"
        r"\s+hours\b.*\d|^\W*(?:working|opening|office)\s+hours\s+today\b.*\d|"
        r"^\W*(?:режим|часы)\s+работы\s+сегодня\b.*\d|^\W*сегодня\s+работаем\b.*\d",
        "drop",
        needs=("hours", "работы", "работаем"),
    ),
    _p(
        "date-time-widget",
        # A line that is only a date with a weekday and/or a time: a "today" widget.
        # A bare date (a publication date) is kept: editing it is news.
        rf"^\W*(?:(?:{_WEEKDAYS})\W+{_DATE}(?:\W+{_TIME})?|{_DATE}\W+{_TIME}|{_TIME}|"
        rf"(?:{_WEEKDAYS})\W+{_TIME})\W*$",
        "drop",
    ),
    _p(
        "counter",
        r"\b(number of views|page views|views|visitors(?: today)?|visits|hits|downloads|comments|"
        r"просмотр\w*|посещени\w*|посетител\w*(?: сегодня)?)\b(\W{0,3})\d[\d\s.,]*",
        "mask",
        r"\1\2#",
        needs=(
            "views",
            "visit",
            "hits",
            "downloads",
            "comments",
            "просмотр",
            "посещени",
            "посетител",
        ),
    ),
    _p(
        "counter-after",
        r"\b\d[\d\s.,]*(\s+(?:views|visits|hits|просмотр\w*))\b",
        "mask",
        r"#\1",
        needs=("views", "visits", "hits", "просмотр"),
    ),
    _p(
        "updated-stamp",
        # Only the date or time right after the stamp word: the rest of a sentence is content.
        rf"\b(last (?:updated|modified|reviewed)|updated on|page generated|generated on|"
        rf"обновлено|дата обновления)(\W{{0,3}}(?:on\s+|at\s+)?)(?:{_DATE}|{_TIME})"
        rf"(?:\W{{0,3}}(?:at\s+)?{_TIME})?",
        "mask",
        r"\1\2#",
        needs=("last", "updated", "generated", "обновлено", "дата обновления"),
    ),
    _p(
        "copyright-years",
        r"(©|\(c\)|copyright)\s*\d{4}(?:\s*[-–]\s*\d{4})?",
        "mask",
        r"\1 #",
        needs=("©", "(c)", "copyright"),
    ),
)


# Month and weekday names (English, Russian, French, Spanish, German, with Russian case
# endings): they say "a date", not "a statement", when prose is told from a counter.
_DATE_WORDS = frozenset(
    word
    for line in (
        "january february march april may june july august september october november december",
        "jan feb mar apr jun jul aug sep sept oct nov dec",
        "monday tuesday wednesday thursday friday saturday sunday",
        "mon tue tues wed thu thur thurs fri sat sun",
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "janv févr avr juil déc lundi mardi mercredi jeudi vendredi samedi dimanche",
        "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre",
        "noviembre diciembre lunes martes miércoles jueves viernes sábado domingo",
        "januar jänner februar märz juni juli oktober dezember",
        "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag",
    )
    for word in line.split()
)
_RUSSIAN_DATE_WORD = re.compile(
    r"(?:январ|феврал|апрел|июн|июл|сентябр|октябр|ноябр|декабр)[ьяе]|"
    r"ма[йяе]|марта?|марте|августа?|августе|понедельник\w?|вторник\w?|"
    r"сред[аеуы]|четверг\w?|пятниц[аеуы]|суббот[аеуы]|воскресень[еяю]"
)
_PROSE_WORD = re.compile(r"[^\W\d_]{2,}")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A line with at least this many words (month and weekday names not counted) is prose.
STATEMENT_WORDS = 3


def prose_words(line: str) -> int:
    """Words of prose in a line: letters only, two or more, not a month or weekday name.

    Chinese and Japanese count one word per two characters.

    >>> prose_words("Visitors online: 57"), prose_words("Buses leave at 08:00 on 5 March.")
    (2, 4)
    """
    count = 0
    for word in _PROSE_WORD.findall(line):
        cjk = len(_CJK_CHAR.findall(word))
        if cjk:
            count += (cjk + 1) // 2 + (1 if len(word) > cjk else 0)
        elif not _is_date_word(word.casefold()):
            count += 1
    return count


def _is_date_word(word: str) -> bool:
    return word in _DATE_WORDS or bool(_RUSSIAN_DATE_WORD.fullmatch(word))


def is_statement(line: str) -> bool:
    """Whether a line is prose (a sentence: its numbers are facts), not a counter or a stamp.

    >>> is_statement("The 2024 trade agreement remains in force."), is_statement("Views: 1,204")
    (True, False)
    """
    return prose_words(line) >= STATEMENT_WORDS


def signature(line: str) -> str:
    """A line with its digit runs masked: how a counter or token line is recognised."""
    return _DIGITS.sub("#", line)


NONE = Volatility()


_HAS_DIGIT = re.compile(r"\d")


def apply_builtin(line: str) -> str | None:
    """The line with built-in volatile parts masked, or None when the whole line is noise."""
    if not _HAS_DIGIT.search(line):
        return line  # every built-in pattern needs a digit: most lines end here, cheaply
    lowered = line.lower()
    for pattern in BUILTIN:
        if pattern.needed is not None and pattern.needed.search(lowered) is None:
            continue
        if pattern.action == "drop":
            if pattern.regex.search(line):
                return None
        elif pattern.probe is None or pattern.probe.search(lowered) is not None:
            line = pattern.regex.sub(pattern.replacement, line)
            lowered = line.lower()
    return line


def mask(lines: Iterable[str], learned: Volatility = NONE) -> list[str]:
    """Lines as compared: built-in and learned volatile parts masked or dropped.

    In a learned block only the lines it is known to rotate among are dropped; a line it
    never showed before stays, so a new sentence there is still a change.
    """
    kept = [masked for masked in map(apply_builtin, lines) if masked is not None]
    if not learned:
        return kept
    shown = kept
    if learned.signatures:
        shown = [
            masked if (masked := signature(line)) in learned.signatures else line for line in kept
        ]
    blocks: dict[str, dict[str, set[str]]] = {}
    for before, after in learned.after:
        blocks.setdefault(before, {}).setdefault(after, set())
    for before, after, line in learned.known:
        blocks.setdefault(before, {}).setdefault(after, set()).add(line)
    result: list[str] = []
    index = 0
    context = "<start>"
    raw_context = "<start>"
    while index < len(kept):
        ends = blocks.get(context) or blocks.get(raw_context)
        if ends:
            # Lines between this stable context and the next one rotate: drop the known
            # ones, but only when that next context is really there (else the page
            # changed: keep everything).
            found = _find_end(kept, shown, index, ends)
            if found is not None:
                stop, end = found
                known = ends[end]
                result += [shown[i] for i in range(index, stop) if signature(kept[i]) not in known]
                index = stop
                if index >= len(kept):
                    break
        result.append(shown[index])
        context, raw_context = shown[index], kept[index]
        index += 1
    return result


MAX_ROTATING_LINES = 30


def _find_end(
    lines: list[str], shown: list[str], start: int, ends: dict[str, set[str]]
) -> tuple[int, str] | None:
    """Index and name of the first stable line in ``ends`` at or after ``start``."""
    for index in range(start, min(len(lines), start + MAX_ROTATING_LINES + 1)):
        for line in (shown[index], lines[index]):
            if line in ends:
                return index, line
    if "<end>" in ends and len(lines) - start <= MAX_ROTATING_LINES:
        return len(lines), "<end>"
    return None


@dataclass(frozen=True, slots=True)
class BlockChange:
    """A run of changed lines between two stable lines (or the page's start or end)."""

    before: str
    after: str
    removed: tuple[str, ...]
    added: tuple[str, ...]

    @property
    def digits_only(self) -> bool:
        """Line for line, only digits differ (a counter, a timer, a token)."""
        return len(self.removed) == len(self.added) and all(
            signature(old) == signature(new) and _DIGITS.search(old)
            for old, new in zip(self.removed, self.added, strict=True)
        )


def block_changes(before: Sequence[str], after: Sequence[str]) -> list[BlockChange]:
    """The changed runs between two captures' compared lines, with their stable contexts."""
    from monitor.detect.differ import line_ops

    changes: list[BlockChange] = []
    context = "<start>"
    ops = line_ops("\n".join(before), "\n".join(after))
    index = 0
    while index < len(ops):
        op = ops[index]
        if op.op == " ":
            context = op.lines[-1]
            index += 1
            continue
        removed: tuple[str, ...] = ()
        added: tuple[str, ...] = ()
        while index < len(ops) and ops[index].op != " ":
            if ops[index].op == "-":
                removed += ops[index].lines
            else:
                added += ops[index].lines
            index += 1
        end = ops[index].lines[0] if index < len(ops) else "<end>"
        changes.append(BlockChange(context, end, removed, added))
    return changes


def differing(before: Sequence[str], after: Sequence[str]) -> Volatility:
    """What differs between two fetches of one page a few seconds apart, as volatility.

    Replaced lines whose digit signatures agree become signatures; other changed runs
    become blocks, knowing the lines seen in them on either side.
    """
    signatures: set[str] = set()
    contexts: set[tuple[str, str]] = set()
    known: set[tuple[str, str, str]] = set()
    for change in block_changes(before, after):
        if change.digits_only:
            signatures.update(signature(old) for old in change.removed)
        else:
            contexts.add((change.before, change.after))
            known.update(
                (change.before, change.after, signature(line))
                for line in (*change.removed, *change.added)
            )
    return Volatility(frozenset(signatures), frozenset(contexts), frozenset(known))


# --------------------------------------------------------------------------------------
# Learning over captures: only what looks like noise


# A block that shows more distinct lines than this is not rotating among a few values.
MAX_BLOCK_LINES = 40


@dataclass(slots=True)
class Learning:
    """What one new capture taught: rows to write and what became known."""

    rules: list[Rule] = field(default_factory=list)  # every rule touched, as it is now
    learned: list[Rule] = field(default_factory=list)  # graduated in this capture
    extended: list[tuple[Rule, tuple[str, ...]]] = field(default_factory=list)  # lines now known
    broken: list[tuple[str, str]] = field(default_factory=list)  # candidates whose streak ended

    @property
    def volatility(self) -> Volatility:
        """What is learned now, from this capture only (merge it with what was before)."""
        result = NONE
        for rule in [*self.learned, *(rule for rule, _lines in self.extended)]:
            result = result.merged(rule.volatility())
        return result


def is_date_line(line: str) -> bool:
    """A line that is only a date or a time, with no words of prose (a date widget)."""
    return prose_words(line) == 0 and bool(_HAS_DIGIT.search(line) or _PROSE_WORD.search(line))


def learn(
    before: Sequence[str],
    after: Sequence[str],
    rules: dict[tuple[str, str], Rule],
    volatile_after: int,
    is_prose: Callable[[str], bool] = is_statement,
) -> Learning:
    """Advance the streaks of one page from a new capture; learn only what looks like noise.

    ``before``/``after``: the previous version's and this capture's compared lines.
    Learned: a line whose digits alone changed in ``volatile_after`` captures in a row,
    when it is not prose (``is_prose``: a counter, a stamp, a timer); a block that changed
    as often and now shows only lines it showed before (rotating among a few values), or
    only dates and times (a date widget). Never a line of new words: a real edit made
    again and again stays a change. A learned block that shows a line it never showed is
    compared (a change, alerted); when that line comes back a second time, it is known.
    """
    result = Learning()
    touched: set[tuple[str, str]] = set()
    for change in block_changes(before, after):
        if change.digits_only:
            for old, new in zip(change.removed, change.added, strict=True):
                rule = rules.get(("signature", signature(old)), Rule("signature", signature(old)))
                if rule.learned or rule.key in touched:
                    continue
                touched.add(rule.key)
                streak = rule.streak + 1
                noise = not (is_prose(old) or is_prose(new))
                graduate = noise and streak >= volatile_after
                updated = Rule(rule.kind, rule.value, streak, graduate)
                result.rules.append(updated)
                if graduate:
                    result.learned.append(updated)
            continue
        value = block_key(change.before, change.after)
        rule = rules.get(("after", value), Rule("after", value))
        if rule.key in touched:
            continue
        touched.add(rule.key)
        removed = {signature(line) for line in change.removed}
        added = {signature(line) for line in change.added}
        if rule.learned:
            fresh = added - rule.known
            back = fresh & rule.seen
            seen = frozenset(list((rule.seen | fresh) - back)[:MAX_BLOCK_LINES])
            known = rule.known | back
            updated = Rule(rule.kind, rule.value, rule.streak, True, seen, known)
            result.rules.append(updated)
            if back:
                result.extended.append((updated, tuple(sorted(back))))
            continue
        earlier = rule.seen | removed
        streak = rule.streak + 1
        seen = earlier | added
        rotating = bool(added) and added <= earlier
        widget = all(is_date_line(line) for line in (*change.removed, *change.added))
        graduate = (
            streak >= volatile_after and (rotating or widget) and len(seen) <= MAX_BLOCK_LINES
        )
        updated = Rule(
            rule.kind,
            rule.value,
            streak,
            graduate,
            frozenset() if graduate else frozenset(list(seen)[: MAX_BLOCK_LINES + 1]),
            frozenset(seen) if graduate else frozenset(),
        )
        result.rules.append(updated)
        if graduate:
            result.learned.append(updated)
    result.broken = [
        key
        for key, rule in rules.items()
        if not rule.learned and rule.streak and key not in touched
    ]
    return result


def _quote(line: str, limit: int = 60) -> str:
    if line == "<start>":
        return "the start of the text"
    if line == "<end>":
        return "the end of the text"
    return "“" + (line if len(line) <= limit else line[: limit - 1] + "…") + "”"


def rule_json(rule: Rule, lines: Sequence[str] | None = None) -> dict[str, object]:
    """A rule as a learning note stores it: kind, value, and the lines of a block."""
    if rule.kind == "signature":
        return {"kind": "signature", "value": rule.value}
    before, after = block_pair(rule.value)
    return {
        "kind": "after",
        "before": before,
        "after": after,
        "lines": sorted(lines if lines is not None else rule.known),
    }


def describe_rule(rule: Rule, lines: Sequence[str] | None = None) -> str:
    """One rule in words, as shown on a page's timeline and by `monitor volatility`.

    >>> describe_rule(Rule("signature", "Online now: #"))
    'the digits of “Online now: #”'
    >>> describe_rule(Rule("after", block_key("Did you know?", "<end>"), known=frozenset("ab")))
    'the block between “Did you know?” and the end of the text, rotating among 2 lines'
    """
    if rule.kind == "signature":
        return f"the digits of {_quote(rule.value)}"
    before, after = block_pair(rule.value)
    where = f"the block between {_quote(before)} and {_quote(after)}"
    if lines is not None:
        return f"{len(lines)} line(s) shown again in {where}"
    if not rule.known:
        return f"{where} (learned by an earlier version: any text there)"
    return f"{where}, rotating among {len(rule.known)} line{'s' if len(rule.known) != 1 else ''}"


def describe(
    action: str,
    source: str,
    rules: Sequence[Rule],
    lines: dict[tuple[str, str], tuple[str, ...]] | None = None,
) -> str:
    """The summary of a learning note."""
    what = "; ".join(describe_rule(rule, (lines or {}).get(rule.key)) for rule in rules)
    if action == "forgotten":
        return f"Forgot what was learned as noise (reset): {what}"
    how = {
        "probe": "two fetches a few seconds apart differed",
        "observed": "changed in several captures in a row, like noise",
    }.get(source, source)
    return f"Learned as noise ({how}): {what}. Changes there are no longer events."
