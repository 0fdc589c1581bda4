"""Text folding for rule terms: case, accents and compatibility forms read the same.

Unicode NFKD, combining marks dropped, casefolded (``Nagórno``, ``NAGORNO`` -> ``nagorno``;
``ﬁ`` -> ``fi``, ``ß`` -> ``ss``); words are runs of Unicode letters and digits.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")


class _FoldTable(dict[int, str]):
    """``str.translate`` table folding one character: NFKD, marks dropped, casefolded."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
        self[code] = folded
        return folded


class _OddTable(dict[int, int | None]):
    """``str.translate`` table deleting characters that fold to exactly one character."""

    def __missing__(self, code: int) -> int | None:
        value = None if len(FOLD[code]) == 1 else code
        self[code] = value
        return value


FOLD = _FoldTable()
_ODD = _OddTable()


def fold(text: str) -> str:
    """``text`` without case or accents (NFKD, combining marks removed, casefolded)."""
    return text.lower() if text.isascii() else text.translate(FOLD)


def char_offsets(text: str) -> list[int] | None:
    """The index in ``text`` of every character of ``fold(text)``; None when they are the
    same (every character folded to exactly one)."""
    if text.isascii() or not text.translate(_ODD):
        return None
    offsets: list[int] = []
    for index, ch in enumerate(text):
        offsets.extend([index] * len(FOLD[ord(ch)]))
    return offsets


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return WORD.findall(fold(text))


def term_tokens(term: str) -> tuple[str, ...]:
    """The folded words of a rule term (a trailing ``*`` is not part of them)."""
    return tuple(words(term.rstrip().removesuffix("*")))
