"""Real labelled news corpora: training rows and evaluation sets, read from a directory outside
the repository (`WIREWATCH_CORPORA` or `--corpora`) as `data/corpora.yaml` describes them.

Training rows are (title, IPTC codes); evaluation rows are (title, coarse class). Training
titles that also occur in any evaluation set (compared by `title_key`) are dropped, so no
evaluated headline is ever trained on. Provenance: data/README.md, "Real corpora".
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.classify.errors import DataError, read_yaml_mapping

CORPORA_ENV = "WIREWATCH_CORPORA"
FORMATS = ("huffpost_json", "bbc_dirs", "masakhane_tsv", "ag_csv", "uci_tsv",
           "reuters_sgm")
ANY_CATEGORY = "*"  # a `topics` key: the codes of every category not listed
_KEY = re.compile(r"[^0-9a-z]+")
_MAX_LEDE = 300  # characters of a lede that train
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_AG_ENTITY = re.compile(r"(?:&amp;)?#(\d+);")  # AG's titles carry entities without their "&"


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    format: str
    path: str  # relative to the corpora directory
    train: dict[str, Any] | None  # which rows train (None: none)
    evaluate: dict[str, Any] | None  # which rows evaluate (None: none)
    topics: dict[str, list[str]]  # category -> IPTC codes, for training
    coarse: dict[str, list[str]]  # evaluation class -> IPTC codes that count as it
    coarse_of: dict[str, str]  # category -> evaluation class
    places: dict[str, Any] | None = None  # place evaluation: rows, feeds and URL sections


@dataclass(frozen=True, slots=True)
class Row:
    title: str
    category: str
    date: str  # "" when the corpus has none
    url: str = ""  # "" when the corpus has none
    lede: str = ""  # the article's first sentence or standfirst ("" when the corpus has none)
    split: str = ""  # the corpus's own split of the row ("" when the corpus has none)


def corpora_dir(given: Path | None = None) -> Path:
    """The corpora directory: `given`, else $WIREWATCH_CORPORA; DataError if neither exists."""
    path = given or (Path(os.environ[CORPORA_ENV]) if os.environ.get(CORPORA_ENV) else None)
    if path is None or not path.is_dir():
        raise DataError(f"no corpora directory: pass --corpora DIR or set {CORPORA_ENV} "
                        f"(got {path}); agents/classify/data/README.md says what goes in it")
    return path


def load_specs(path: Path) -> dict[str, Corpus]:
    """The corpora of corpora.yaml, checked."""
    doc = read_yaml_mapping(path, "a mapping with 'corpora'")
    entries = doc.get("corpora")
    if not isinstance(entries, dict) or not entries:
        raise DataError(f"{path}: 'corpora' must map corpus names to their description")
    specs = {}
    for name, entry in entries.items():
        where = f"{path}: corpus {name}"
        if not isinstance(entry, dict) or entry.get("format") not in FORMATS:
            raise DataError(f"{where}: format must be one of {', '.join(FORMATS)}")
        if not isinstance(entry.get("path"), str):
            raise DataError(f"{where}: path must name its file or folder")
        for key in ("topics", "coarse", "coarse_of"):
            if not isinstance(entry.get(key, {}), dict):
                raise DataError(f"{where}: {key} must be a mapping")
        unknown = set(entry.get("coarse_of", {}).values()) - set(entry.get("coarse", {}))
        if unknown:
            raise DataError(f"{where}: coarse_of names classes not in coarse: {sorted(unknown)}")
        places = entry.get("places")
        if places is not None and not (isinstance(places, dict)
                                       and isinstance(places.get("sections"), dict)):
            raise DataError(f"{where}: places must map 'sections' to country codes")
        specs[name] = Corpus(name, entry["format"], entry["path"], entry.get("train"),
                             entry.get("evaluate"), entry.get("topics", {}),
                             entry.get("coarse", {}), entry.get("coarse_of", {}), places)
    return specs


def title_key(title: str) -> str:
    """A title folded for de-duplication: lower case, letters and digits only."""
    return _KEY.sub(" ", title.lower()).strip()


def training_rows(root: Path, specs: dict[str, Corpus]) -> tuple[list[tuple[str, list[str]]],
                                                                dict[str, int]]:
    """(title, IPTC codes) of every corpus's training rows whose category maps to a topic, and
    of their ledes where the corpus's `train` has `ledes: true` (an article's first sentence is
    real, labelled news text too), without titles that any evaluation set holds and without
    repeats; and the count per corpus."""
    held_out = {title_key(title) for rows in evaluation_sets(root, specs).values()
                for title, _ in rows}
    seen: set[str] = set()
    rows: list[tuple[str, list[str]]] = []
    counts: dict[str, int] = {}
    for spec in specs.values():
        if not spec.train:
            continue
        counts[spec.name] = 0
        ledes = bool(spec.train.get("ledes"))
        for row in _select(root, spec, spec.train):
            codes = spec.topics.get(row.category) or spec.topics.get(ANY_CATEGORY)
            if not codes or title_key(row.title) in held_out:
                continue
            for text in (row.title, row.lede[:_MAX_LEDE] if ledes else ""):
                key = title_key(text)
                if key and key not in held_out and key not in seen:
                    seen.add(key)
                    rows.append((text, list(codes)))
                    counts[spec.name] += 1
    return rows, counts


def evaluation_sets(root: Path, specs: dict[str, Corpus]) -> dict[str, list[tuple[str, str]]]:
    """Corpus name -> (title, coarse class) of its evaluation rows whose category has a class."""
    sets = {}
    for spec in specs.values():
        if spec.evaluate:
            sets[spec.name] = [(row.title, spec.coarse_of[row.category])
                               for row in _select(root, spec, spec.evaluate)
                               if row.category in spec.coarse_of]
    return sets


@dataclass(frozen=True, slots=True)
class PlaceRow:
    title: str
    countries: frozenset[str]  # the countries its URL section names
    feed: str  # the section group, which stands for the feed it came from
    prior: str | None  # that feed's country, as a feed config would give it


def place_sets(root: Path, specs: dict[str, Corpus]) -> dict[str, list[PlaceRow]]:
    """Corpus name -> its evaluation rows whose place is known from outside the text: the
    URL's section (the longest `sections` prefix of the path after /news/) names the countries;
    its `feeds` entry (longest prefix) names the feed group and its country prior."""
    sets = {}
    for spec in specs.values():
        if not spec.places:
            continue
        sections = spec.places["sections"]
        feeds = spec.places.get("feeds", {})
        rows = []
        for row in _select(root, spec, spec.places.get("rows", spec.evaluate or {})):
            path = row.url.removeprefix("/news/")
            section = max((s for s in sections if path.startswith(s)), key=len, default=None)
            if section is None:
                continue
            feed = max((f for f in feeds if path.startswith(f)), key=len, default="")
            rows.append(PlaceRow(row.title, frozenset(sections[section]), feed or "other",
                                 feeds.get(feed)))
        sets[spec.name] = rows
    return sets


def _select(root: Path, spec: Corpus, which: dict[str, Any]) -> Iterator[Row]:
    """The rows of `spec` that `which` picks: all, one file of a folder, the corpus's own
    split, or by date."""
    path = root / spec.path
    if "file" in which:
        path = path / which["file"]
    rows = _READERS[spec.format](path)
    if "split" in which:
        return (r for r in rows if r.split == which["split"])
    if "before" in which:
        return (r for r in rows if r.date < which["before"])
    if "from" in which:
        return (r for r in rows if r.date >= which["from"])
    return rows


def _huffpost(path: Path) -> Iterator[Row]:
    for number, line in enumerate(_lines(path), 1):
        try:
            item = json.loads(line)
            yield Row(item["headline"].strip(), item["category"], item["date"],
                      item.get("link") or "", (item.get("short_description") or "").strip())
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{path}:{number}: not a News Category Dataset record ({exc})") \
                from exc


def _bbc(path: Path) -> Iterator[Row]:
    """The BBC folders: one per category, one article per file, its title on the first line."""
    if not path.is_dir():
        raise DataError(f"{path}: missing (the BBC corpus folder)")
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        for article in sorted(folder.glob("*.txt")):
            title, _, body = article.read_bytes().decode("latin-1").partition("\n")
            yield Row(title.strip(), folder.name, "", "", _first_sentence(body))


def _masakhane(path: Path) -> Iterator[Row]:
    for item in csv.DictReader(_lines(path, keep_newlines=True), delimiter="\t"):
        yield Row((item.get("headline") or "").strip(), item.get("category") or "", "",
                  item.get("url") or "", _first_sentence(item.get("text") or ""))


def _ag(path: Path) -> Iterator[Row]:
    reader = csv.reader(_lines(path, keep_newlines=True))
    for number, item in enumerate(reader, 1):
        if number == 1 and not item[0].isdigit():
            continue  # a header line
        title = html.unescape(_AG_ENTITY.sub(lambda m: chr(int(m.group(1))), item[1]))
        yield Row(" ".join(title.replace("\\", " ").split()), item[0], "")


def _uci(path: Path) -> Iterator[Row]:
    """UCI News Aggregator rows (ID, TITLE, URL, PUBLISHER, CATEGORY, STORY, HOSTNAME,
    TIMESTAMP in ms), tab-separated, no header; a cut title's trailing "..." is dropped."""
    for number, item in enumerate(csv.reader(_lines(path, keep_newlines=True),
                                             delimiter="\t"), 1):
        if len(item) != 8 or not item[7].isdigit():
            raise DataError(f"{path}:{number}: not a News Aggregator row (8 tab-separated "
                            f"fields ending in a timestamp)")
        title = " ".join(item[1].split()).removesuffix("...").strip()
        day = time.strftime("%Y-%m-%d", time.gmtime(int(item[7]) / 1000))
        yield Row(title, item[4], day, item[2])


def _reuters(path: Path) -> Iterator[Row]:
    """Reuters-21578 (reut2-*.sgm in a folder): documents with at least one TOPICS category,
    the first as the row's category, their LEWISSPLIT as the split; the body's first sentence
    (after the dateline) is the lede."""
    if not path.is_dir():
        raise DataError(f"{path}: missing (the Reuters-21578 folder of reut2-*.sgm files)")
    for sgm in sorted(path.glob("reut2-*.sgm")):
        for number, doc in enumerate(_REUTERS_DOC.findall(sgm.read_bytes().decode("latin-1")), 1):
            split = _REUTERS_SPLIT.search(doc)
            topics = _REUTERS_TOPIC.findall(doc.partition("</TOPICS>")[0])
            title = _REUTERS_TITLE.search(doc)
            if split is None:
                raise DataError(f"{sgm}: document #{number} has no LEWISSPLIT")
            if not topics or title is None:
                continue
            body = _REUTERS_BODY.search(doc)
            lede = html.unescape(body.group(1)) if body else ""
            title_text = _REUTERS_TICKER.sub("", html.unescape(title.group(1)))
            yield Row(" ".join(title_text.split()), topics[0], "", "",
                      _first_sentence(" ".join(lede.split())), split.group(1))


_REUTERS_DOC = re.compile(r"<REUTERS (.*?)</REUTERS>", re.S)
_REUTERS_SPLIT = re.compile(r'LEWISSPLIT="([A-Z-]+)"')
_REUTERS_TOPIC = re.compile(r"<D>([^<]+)</D>")
_REUTERS_TITLE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S)
_REUTERS_TICKER = re.compile(r"\s*<[^>]*>")  # "CHAMPION PRODUCTS <CH> APPROVES ..."
_REUTERS_BODY = re.compile(r"<BODY>(.*?)(?:</BODY>|$)", re.S)


def _first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip() if text.strip() else ""


def _lines(path: Path, keep_newlines: bool = False) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read the corpus file ({exc.strerror})") from exc
    return text.splitlines(keepends=keep_newlines)


_READERS = {"huffpost_json": _huffpost, "bbc_dirs": _bbc, "masakhane_tsv": _masakhane,
            "ag_csv": _ag, "uci_tsv": _uci,
            "reuters_sgm": _reuters}
