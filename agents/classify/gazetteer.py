"""Place-name gazetteer: finds the countries and named regions a headline is about.

The lookup half: ``Gazetteer.find`` over an automaton of names. ``gazetteer_build.py`` makes
the names from package data and the supplement files (``load_gazetteer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.classify.matcher import Hit, PhraseIndex

CASE_ANY, CASE_INITIAL, CASE_UPPER = range(3)  # how a name's matched text must be capitalised

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’-]*)")
_PREVIOUS_WORD = re.compile(r"([^\W\d_][\w'’-]*)[ \t]+$")
# "Japan's " / "Japan’s " right before a name; group 1 ends where the country name ends.
_POSSESSIVE = re.compile(r"([^\W\d_][\w-]*)['’]s[ \t]+$")
# Kinds of names that give way to a person reading ("Haruki Murakami").
_GUARDED_KINDS = frozenset({"town", "province"})


@dataclass(frozen=True, slots=True)
class PlaceEntry:
    """What a gazetteer name means."""

    code: str | None  # ISO 3166-1 alpha-2, or None for a region mention / a not-place phrase
    kind: str
    weight: float
    case: int  # CASE_*: how the matched text must be capitalised
    region: str | None = None  # set for region mentions
    rule: str | None = None  # key of an ambiguity rule
    elsewhere: frozenset[str] = frozenset()  # every country with a place of this name, when
    # several have one: a feed prior among them picks it ("Exeter" in a US feed)
    prior_only: bool = False  # a town name several countries share: matched only with a prior


@dataclass(slots=True)  # not frozen: made per match, and frozen init is 3x slower
class PlaceHit:
    code: str
    kind: str
    weight: float
    start: int
    end: int


@dataclass(slots=True)  # not frozen: made per match, and frozen init is 3x slower
class RegionHit:
    name: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Reading:
    code: str | None
    cues: frozenset[str]  # single folded words
    phrases: tuple[str, ...]  # padded folded multi-word cues
    with_countries: frozenset[str]


@dataclass(frozen=True, slots=True)
class AmbiguityRule:
    default: str | None
    readings: tuple[Reading, ...]
    first_name: bool
    prior: frozenset[str] = frozenset()  # a feed in one of these countries reads it as there


class Gazetteer:
    """Finds place names in a headline and resolves them to countries and regions."""

    def __init__(self, entries: list[tuple[str, PlaceEntry]], rules: dict[str, AmbiguityRule],
                 country_names: dict[str, str]) -> None:
        self._index: PhraseIndex[PlaceEntry] = PhraseIndex(entries)
        self._rules = rules
        self.country_names = country_names
        self.size = self._index.size

    def find(self, text: str, padded: str,
             prior: str | None = None) -> tuple[list[PlaceHit], list[RegionHit]]:
        """Countries and region mentions in `text` (`padded` is `matcher.pad(text)`). `prior`,
        the feed's country, only resolves ambiguous names (ambiguous.yaml `prior`)."""
        hits = self._index.find(padded)
        if not hits:
            return [], []
        all_caps = not any(c.islower() for c in text)
        places: list[PlaceHit] = []
        regions: list[RegionHit] = []
        ambiguous: list[tuple[Hit[PlaceEntry], PlaceEntry]] = []
        starts = {h.start for h in hits}
        for hit in hits:
            entry = hit.values[0]
            if entry.case and not all_caps and not _case_ok(text, hit, entry.case):
                continue
            if entry.region is not None:
                regions.append(RegionHit(entry.region, hit.start, hit.end))
            elif entry.code is None:
                continue  # a not-place phrase ("Washington Post") swallowed the names in it
            elif entry.rule is not None:
                ambiguous.append((hit, entry))
            elif entry.elsewhere and prior in entry.elsewhere:  # the feed's country has it
                places.append(PlaceHit(prior, entry.kind, entry.weight, hit.start, hit.end))
            elif entry.prior_only or (entry.kind in _GUARDED_KINDS and not all_caps
                                      and _beside_name(text, hit, starts)):
                continue  # "Haruki Murakami", "Bloomington Smith": a person, not the town
            else:
                places.append(PlaceHit(entry.code, entry.kind, entry.weight, hit.start, hit.end))
        if any(p.kind in _GUARDED_KINDS for p in places):
            places = _drop_foreign_minor(text, places)
        if ambiguous:
            found = {p.code for p in places}
            for hit, entry in ambiguous:
                code = self._resolve(self._rules[entry.rule], text, padded, hit, found, starts,
                                     prior)
                if code is not None:
                    places.append(PlaceHit(code, entry.kind, entry.weight, hit.start, hit.end))
        return places, regions

    def _resolve(self, rule: AmbiguityRule, text: str, padded: str, hit: Hit[PlaceEntry],
                 found: set[str], starts: set[int], prior: str | None) -> str | None:
        words: set[str] | None = None
        for reading in rule.readings:
            if reading.with_countries & found:
                return reading.code
            if words is None:
                words = set(padded.split())
            if reading.cues & words or any(p in padded for p in reading.phrases):
                return reading.code
        if rule.first_name and _followed_by_name(text, hit.end, starts):
            return None
        if prior in rule.prior:
            return prior
        return rule.default


def _case_ok(text: str, hit: Hit[PlaceEntry], case: int) -> bool:
    if case == CASE_UPPER:
        return not any(c.islower() for c in text[hit.start:hit.end])
    return text[hit.start].isupper()


def _is_title_case(text: str) -> bool:
    words = [w for w in _WORD.findall(text)[1:] if len(w) > 3]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _beside_name(text: str, hit: Hit[PlaceEntry], starts: set[int]) -> bool:
    """Whether a capitalised non-place word (not the first word) sits right before the name,
    or one follows it, in a sentence-case headline."""
    before = _PREVIOUS_WORD.search(text, 0, hit.start)
    if (before is not None and before.start(1) > 0 and before.group(1)[0].isupper()
            and before.start(1) not in starts and not _is_title_case(text)):
        return True
    return _followed_by_name(text, hit.end, starts)


def _drop_foreign_minor(text: str, places: list[PlaceHit]) -> list[PlaceHit]:
    """Drop a town or province right after another country's possessive ("Japan's Noto" is
    not Noto in Italy): the headline places it in that country."""
    code_ending = {p.end: p.code for p in places}
    kept = []
    for place in places:
        if place.kind in _GUARDED_KINDS:
            owner = _POSSESSIVE.search(text, 0, place.start)
            if owner is not None and code_ending.get(owner.end(1), place.code) != place.code:
                continue
        kept.append(place)
    return kept


def _followed_by_name(text: str, end: int, starts: set[int]) -> bool:
    """Whether a capitalised non-place word follows, in a sentence-case headline."""
    match = _NEXT_WORD.match(text, end)
    if match is None or not match.group(1)[0].isupper() or match.start(1) in starts:
        return False
    return not _is_title_case(text)
