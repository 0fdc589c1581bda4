"""Errors raised for bad classifier data files."""


class DataError(ValueError):
    """A data file (lexicon, gazetteer supplement, regions...) is missing or malformed.

    The message names the file and, where there is one, the line, entry or rule.
    """
