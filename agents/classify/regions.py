"""Regions (UN M49 and geopolitical) read from the editable regions.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agents.classify.errors import DataError, read_yaml_mapping

KINDS = ("m49", "geopolitical")


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    kind: str  # "m49" | "geopolitical"
    countries: frozenset[str]
    aliases: tuple[str, ...]  # phrases that name the region itself in a headline


def load_regions(path: Path) -> tuple[Region, ...]:
    """Read and check regions.yaml; errors name the file and the region entry."""
    entries = read_yaml_mapping(path, "a mapping with a 'regions' list").get("regions")
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a top-level 'regions' list")
    regions: list[Region] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        where = f"{path}: region #{number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise DataError(f"{where}: needs a 'name'")
        name = entry["name"]
        where = f"{path}: region {name!r}"
        if name in seen:
            raise DataError(f"{where}: defined twice")
        seen.add(name)
        if entry.get("kind") not in KINDS:
            raise DataError(f"{where}: kind must be one of {', '.join(KINDS)}")
        codes = entry.get("countries") or []
        bad = [c for c in codes if not (isinstance(c, str) and len(c) == 2 and c.isupper())]
        if bad or not codes:
            raise DataError(f"{where}: countries must be ISO 3166-1 alpha-2 codes, got {bad}")
        aliases = [str(a) for a in entry.get("aliases") or []]
        if entry.get("match_name", True):
            aliases.insert(0, name)
        regions.append(Region(name, entry["kind"], frozenset(codes), tuple(aliases)))
    return tuple(regions)
