"""Errors raised for bad classifier data files, and the one reader of its YAML files."""

from pathlib import Path

import yaml


class DataError(ValueError):
    """A data file (lexicon, gazetteer supplement, regions...) is missing or malformed.

    The message names the file and, where there is one, the line, entry or rule.
    """


def read_yaml_mapping(path: Path, what: str = "a mapping at the top level") -> dict:
    """The YAML mapping in ``path``; a ``DataError`` naming the file if it is not one."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected {what}")
    return doc
