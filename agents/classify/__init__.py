"""Headline classification: topics, countries, regions and language (pure logic + data)."""

from agents.classify.classifier import (
    Classification,
    Classifier,
    CountryMatch,
    RegionMatch,
    TopicScore,
)
from agents.classify.errors import DataError

__all__ = ["Classification", "Classifier", "CountryMatch", "DataError", "RegionMatch",
           "TopicScore"]
