"""How the gazetteer spells and screens names: case, accents, inflected forms, word frequency.

Used while the gazetteer is built (``gazetteer_build.py``), never at lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import wordfreq
from wordfreq import zipf_frequency

from agents.classify.gazetteer import CASE_ANY, CASE_INITIAL, CASE_UPPER
from agents.classify.matcher import phrase_key

# Scripts written without spaces between words cannot be matched on word boundaries.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u0f00-\u0fff\u3040-\u30ff"
                       "\u3400-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile("^[\u0400-\u04ff]+$")
_ARABIC = re.compile("^[\u0600-\u06ff]+$")
# "Ludwigshafen am Rhein" -> "Ludwigshafen", "Henan Sheng" -> "Henan", "Halle (Saale)" -> "Halle"
_QUALIFIER = re.compile(r" (?:am|an der|im|in der|upon|on|ob der) \S.*$| ?[(\[,;].*$"
                        r"| (?:Sheng|Shi|Zizhiqu|Huizu Zizhiqu|Weiwu'er Zizhiqu|Zhuangzu Zizhiqu)$")
def case_of(name: str) -> int:
    letters = [c for c in name if c.isalpha()]
    if not letters or not any(c.isupper() or c.islower() for c in letters):
        return CASE_ANY  # an uncased script (Arabic, Georgian...)
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return CASE_UPPER
    return CASE_INITIAL if letters[0].isupper() else CASE_ANY


def strip_accents(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def is_latin(name: str) -> bool:
    return all(ord(c) < 0x250 for c in name if c.isalpha())


def _russian_forms(word: str) -> list[str]:
    """Case forms of a one-word Russian place name (Россия -> России, Москва -> Москве...)."""
    if word.endswith("ия"):
        return [word[:-1] + e for e in ("и", "ю", "ей")]
    if word.endswith("а"):
        return [word[:-1] + e for e in ("ы", "е", "у", "ой", "и")]
    if word.endswith(("й", "ь")):
        return [word[:-1] + e for e in ("я", "ю", "е", "ем")]
    if word[-1] in "бвгджзклмнпрстфхцчшщ":
        return [word + e for e in ("а", "у", "е", "ом")]
    return []


def variants(name: str, kind: str) -> list[str]:
    """Spellings of `name` to match: itself, without accents, inflected, with clitics."""
    forms = [name]
    plain = strip_accents(name)
    if plain != name and is_latin(name):
        forms.append(plain)
    if kind == "demonym" and not name.endswith(("s", "sh", "ch", "x", "z", "ese")):
        forms.append(name + "s")
    if _CYRILLIC.match(name):
        forms.extend(_russian_forms(name))
    elif _ARABIC.match(name):
        forms.extend(prefix + name for prefix in ("و", "ب", "ل", "لل"))
    return forms


def minor_names(places: list[tuple[str, str, str, int, bool]], max_frequency: dict[str, float],
                 prior_frequency: float, generic: frozenset[str]
                 ) -> Iterator[tuple[str, list[str], str, int, bool]]:
    """The names of towns and provinces that are safe to match: (name, the codes of the
    countries that have a place so named, most populous first, kind, population, whether it
    needs a feed prior). A name is skipped if it is made of `generic` words only ("Eastern
    Province", "North West") or its Zipf frequency in wordfreq reaches `prior_frequency`. It
    needs a prior (the feed's country among its codes) if several countries have it, if its
    frequency reaches `max_frequency` of its kind (a common English word or person's name, or a
    well-known place: Exeter, Cambridge), or if it is a second-level subdivision (Shropshire);
    the last element of each place says so."""
    named: dict[str, list[tuple[str, str, str, int, bool]]] = {}
    for place in places:
        for form in {place[0], _QUALIFIER.sub("", place[0])}:
            named.setdefault(phrase_key(form), []).append((form, *place[1:]))
    for key, holders in named.items():
        if not key or set(key.split()) <= generic:
            continue
        frequency = word_frequency(holders[0][0])
        if frequency >= prior_frequency:
            continue
        holders.sort(key=lambda h: -h[3])
        codes = list(dict.fromkeys(h[1] for h in holders))
        prior_only = (len(codes) > 1 or all(h[4] for h in holders)
                      or frequency >= max(max_frequency[h[2]] for h in holders))
        yield holders[0][0], codes, holders[0][2], holders[0][3], prior_only


def release_word_frequencies() -> None:
    """wordfreq keeps its word list and a lookup cache for the life of the process; they are
    only needed while the gazetteer is built."""
    wordfreq.get_frequency_dict.cache_clear()
    wordfreq.get_frequency_list.cache_clear()
    cache = getattr(wordfreq, "_wf_cache", None)  # the lookup cache has no public way to empty
    if isinstance(cache, dict):
        cache.clear()


def word_frequency(name: str) -> float:
    """English word frequency (wordfreq Zipf) of a Latin-script name, or of its spelling without
    accents if that is higher ("Comé" is also matched as "Come"); 0 for other scripts."""
    if not is_latin(name):
        return 0.0
    return max(zipf_frequency(phrase_key(form).strip(), "en", "small")
               for form in {name, strip_accents(name)})


def usable_alternate(name: str, min_length: int) -> bool:
    """Drop GeoNames codes, romanisation noise and names in unspaced scripts."""
    if any(c.isdigit() for c in name) or _UNSPACED.search(name):
        return False
    if is_latin(name):
        letters = [c for c in name if c.isalpha()]
        return (len(name) >= min_length and name[0].isupper()
                and not all(c.isupper() for c in letters))
    return len(name) >= 3
