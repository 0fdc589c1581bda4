"""Whole-word, multi-word, Unicode-aware phrase matching on an Aho-Corasick automaton.

Text is *folded* first: lower-cased with every non-word character replaced by a space, one
character for one character, so offsets in the folded text are offsets in the original. A phrase
"New York" becomes the key " new york "; the folded text is padded with a space on each side, so
every key match starts and ends on a word boundary. A phrase ending in "*" is a prefix: its key has
no trailing space and the match extends to the end of the word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import ahocorasick

T = TypeVar("T")

# Word characters plus combining marks (Indic vowel signs, Arabic harakat, accents), which
# str.isalnum() and therefore \w leave out.
_NON_WORD = re.compile(
    "[^\\w\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
    "\u06d6-\u06ed\u0900-\u0dff\u0e31-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff"
    "\ufe20-\ufe2f]|_"
)


def fold_keeping_offsets(text: str) -> str:
    """Lower-case `text` and blank out non-word characters, keeping every offset."""
    low = text.lower()
    if len(low) != len(text):  # e.g. "İ".lower() is two characters
        low = "".join(ch.lower()[0] for ch in text)
    return _NON_WORD.sub(" ", low)


def pad(text: str) -> str:
    """The folded form of `text` that `PhraseIndex.find` searches."""
    return f" {fold_keeping_offsets(text)} "


def phrase_key(phrase: str) -> str:
    """The automaton key of a phrase ("" when it has no word characters)."""
    prefix = phrase.endswith("*")
    words = fold_keeping_offsets(phrase.rstrip("*")).split()
    if not words:
        return ""
    return " " + " ".join(words) + ("" if prefix else " ")


@dataclass(slots=True)  # not frozen: made per match, and frozen init is 3x slower
class Hit(Generic[T]):
    """A phrase found in a text: [start, end) are offsets in the original (unpadded) text."""

    start: int
    end: int
    values: tuple[T, ...]


class PhraseIndex(Generic[T]):
    """Maps phrases to values; `find` returns the longest non-overlapping phrases in a text."""

    def __init__(self, phrases: Iterable[tuple[str, T]]) -> None:
        by_key: dict[str, list[T]] = {}
        for phrase, value in phrases:
            key = phrase_key(phrase)
            if key:
                by_key.setdefault(key, []).append(value)
        self._automaton = ahocorasick.Automaton()
        for key, values in by_key.items():
            self._automaton.add_word(key, (len(key), key[-1] != " ", tuple(values)))
        self._automaton.make_automaton()
        self.size = len(by_key)

    def find(self, padded: str) -> list[Hit[T]]:
        """Phrases in `padded` (the output of `pad`), leftmost-longest, without overlaps."""
        found: list[tuple[int, int, tuple[T, ...]]] = []
        for last, (length, prefix, values) in self._automaton.iter(padded):
            start = last - length + 1  # the padding space before the first word
            end = padded.find(" ", last) if prefix else last
            found.append((start, end, values))
        if len(found) > 1:
            found.sort(key=lambda h: (h[0], h[0] - h[1]))
        hits: list[Hit[T]] = []
        taken = -1
        for start, end, values in found:
            if start >= taken:  # spans share at most the separating space
                hits.append(Hit(start, end - 1, values))  # padded offsets -> original offsets
                taken = end
        return hits
