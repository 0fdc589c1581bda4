"""Rule regexes under RE2: time linear in the text, whatever the pattern.

Python's ``re`` backtracks, so a rule such as ``(a+)+$`` or ``^(\\w+\\s?)*$`` can run for
hours on one headline, on the event loop of every worker. RE2 (``google-re2``) never
backtracks: it refuses what it cannot run in linear time (backreferences, lookaround,
possessive quantifiers, atomic groups) and accepts the rest with a bounded memory budget.

Rule regexes are case-insensitive and use RE2's syntax: ``\\w``, ``\\d``, ``\\s`` and ``\\b``
are ASCII there; ``\\pL`` (any letter) and ``\\p{N}`` (any digit) cover every script.

``RegexSet`` searches many regex-only rules in one pass per field (``RE2::Set``), so a
headline costs a few DFA scans, not one search per rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import re2

MAX_REGEX_LENGTH = 1000
REGEX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled rule regex
SET_CHUNK = 512  # patterns per RE2::Set: keeps each set's DFA small
SET_MEMORY = 64 << 20

Regex = re2._Regexp

# RE2's error text (its start) -> what the rule author needs to know.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "lookahead (?=...)"),
    ("invalid perl operator: (?!", "negative lookahead (?!...)"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...)"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...)"),
    ("invalid perl operator: (?P=", "backreferences (?P=name)"),
    ("invalid perl operator: (?P", "backreferences (?P=name)"),
    ("invalid perl operator: (?>", "atomic groups (?>...)"),
    ("invalid perl operator: (?#", "comments (?#...)"),
    ("bad repetition operator: ++", "possessive quantifiers"),
    ("bad repetition operator: *+", "possessive quantifiers"),
    ("bad repetition operator: ?+", "possessive quantifiers"),
    ("invalid escape sequence: \\k", "backreferences \\k<name>"),
    ("invalid escape sequence: \\Z", "\\Z (write \\z)"),
)


def _options(max_mem: int) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = max_mem
    return options


def _explain(detail: str) -> str:
    if detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        what = f"backreferences ({detail.removeprefix('invalid escape sequence: ')})"
    else:
        what = next((w for prefix, w in _UNSUPPORTED if detail.startswith(prefix)), None)
    if what is None:
        return f"invalid regular expression: {detail}"
    return (f"{what} not supported: rule regexes run on RE2, which guarantees linear time "
            "(no backreferences or lookaround)")


def compile_regex(pattern: str) -> Regex:
    """``pattern`` compiled case-insensitively under RE2; ValueError saying what is wrong."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(f"longer than {MAX_REGEX_LENGTH} characters")
    try:
        return re2.compile(pattern, _options(REGEX_MEMORY))
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "unknown error"
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(_explain(str(detail))) from None


class RegexSet:
    """Which of many patterns occur in a text, in one RE2 pass per chunk of patterns."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self._sets: list[tuple[int, re2.Set]] = []  # (index of the chunk's first pattern, set)
        self._single: list[tuple[int, Regex]] = []  # chunks RE2 could not build as a set
        for base in range(0, len(patterns), SET_CHUNK):
            chunk = patterns[base : base + SET_CHUNK]
            search_set = re2.Set.SearchSet(_options(SET_MEMORY))
            try:
                for pattern in chunk:
                    search_set.Add(pattern)
                search_set.Compile()
            except re2.error:
                self._single.extend((base + i, compile_regex(p)) for i, p in enumerate(chunk))
            else:
                self._sets.append((base, search_set))

    def search(self, texts: Iterable[str]) -> set[int]:
        """Indices (into the patterns) of every pattern found in at least one of ``texts``."""
        found: set[int] = set()
        for text in texts:
            if not text:
                continue
            encoded = text.encode()  # once for every set, not once per set
            for base, search_set in self._sets:
                found.update(base + i for i in search_set.Match(encoded) or ())
            found.update(i for i, regex in self._single if regex.search(text))
        return found
