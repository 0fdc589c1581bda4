"""Offline headline language identification: writing system, then function words and letters.

Deliberately small and fast (no model to load); see data/languages.yaml for what it knows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from agents.classify.errors import DataError, read_yaml_mapping

UNKNOWN = "und"

# Unicode block ranges -> script names used in languages.yaml.
_SCRIPT_RANGES = (
    (0x0041, 0x024F, "Latin"), (0x0370, 0x03FF, "Greek"), (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"), (0x0590, 0x05FF, "Hebrew"), (0x0600, 0x06FF, "Arabic"),
    (0x0750, 0x077F, "Arabic"), (0x0900, 0x097F, "Devanagari"), (0x0980, 0x09FF, "Bengali"),
    (0x0E00, 0x0E7F, "Thai"), (0x10A0, 0x10FF, "Georgian"), (0x1E00, 0x1EFF, "Latin"),
    (0x3040, 0x30FF, "Kana"), (0x3400, 0x9FFF, "Han"), (0xAC00, 0xD7AF, "Hangul"),
    (0xFB50, 0xFDFF, "Arabic"), (0xFE70, 0xFEFF, "Arabic"),
)


def _script(ch: str) -> str | None:
    code = ord(ch)
    for low, high, name in _SCRIPT_RANGES:
        if low <= code <= high:
            return name
    return None


@dataclass(frozen=True, slots=True)
class _Script:
    language: str
    split: tuple[tuple[str, frozenset[str]], ...]  # (language, letters that select it)


@dataclass(frozen=True, slots=True)
class _Latin:
    language: str
    words: frozenset[str]
    letters: frozenset[str]


class LanguageDetector:
    def __init__(self, scripts: dict[str, _Script], latin: tuple[_Latin, ...]) -> None:
        self._scripts = scripts
        self._latin = latin
        self._script_cache: dict[str, str | None] = {}
        # function word -> the positions (in `latin`) of the languages that use it
        self._word_languages: dict[str, tuple[int, ...]] = {}
        for position, language in enumerate(latin):
            for word in language.words:
                self._word_languages[word] = (*self._word_languages.get(word, ()), position)
        self.function_words = frozenset(w for x in latin for w in x.words)
        self.languages = tuple(sorted({s.language for s in scripts.values()}
                                      | {lang for s in scripts.values() for lang, _ in s.split}
                                      | {x.language for x in latin}))

    @classmethod
    def load(cls, path: Path) -> LanguageDetector:
        doc = read_yaml_mapping(path, "a mapping with 'scripts' and 'latin'")
        scripts: dict[str, _Script] = {}
        for name, spec in (doc.get("scripts") or {}).items():
            if not isinstance(spec, dict) or not isinstance(spec.get("language"), str):
                raise DataError(f"{path}: script {name!r} needs a 'language'")
            split = tuple((lang, frozenset(letters))
                          for lang, letters in (spec.get("split") or {}).items())
            scripts[name] = _Script(spec["language"], split)
        latin = []
        for lang, spec in (doc.get("latin") or {}).items():
            if not isinstance(spec, dict) or not isinstance(spec.get("words"), list):
                raise DataError(f"{path}: latin language {lang!r} needs a 'words' list")
            latin.append(_Latin(str(lang), frozenset(str(w).lower() for w in spec["words"]),
                                frozenset(str(spec.get("letters") or ""))))
        return cls(scripts, tuple(latin))

    def detect(self, text: str, folded: str, english_evidence: bool = False) -> str:
        """ISO 639-1 code of `text` (`folded` is its matcher.fold_keeping_offsets form), or "und".

        `english_evidence` says the English topic lexicon matched something: it decides
        Latin-script headlines that hold no function word.
        """
        if text.isascii():
            return self._latin_language(folded, "", english_evidence)
        counts: dict[str, int] = {}
        cache = self._script_cache
        for ch in text:
            if ch.isalpha():
                script = cache.get(ch, "")
                if script == "":
                    script = cache[ch] = _script(ch)
                if script is not None:
                    counts[script] = counts.get(script, 0) + 1
        if not counts:
            return UNKNOWN
        script = max(counts, key=counts.__getitem__)
        if script == "Latin":
            return self._latin_language(folded, text, english_evidence)
        spec = self._scripts.get(script)
        if spec is None:
            return UNKNOWN
        letters = set(text.lower())
        for language, marks in spec.split:
            if marks & letters:
                return language
        return spec.language

    def _latin_language(self, folded: str, text: str, english_evidence: bool) -> str:
        """The Latin-script language with the most function words (a distinct letter counts
        half); ties go to the language listed first in languages.yaml."""
        scores = [0.0] * len(self._latin)
        for word in set(folded.split()):
            for position in self._word_languages.get(word, ()):
                scores[position] += 1.0
        letters = {c for c in unicodedata.normalize("NFC", text.lower()) if ord(c) > 127}
        if letters:
            for position, language in enumerate(self._latin):
                scores[position] += 0.5 * len(letters & language.letters)
        best_score = max(scores, default=0.0)
        if best_score > 0:
            return self._latin[scores.index(best_score)].language
        if english_evidence and not letters:
            return "en"
        return UNKNOWN
