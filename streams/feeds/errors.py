"""Errors raised while turning fetched bytes into entries.

Every error names the feed it came from, so an operator reading a log line or a
dead-letter record knows which configuration entry to look at.
"""


class FeedParseError(Exception):
    """The body of ``feed`` could not be turned into entries; ``reason`` says why."""

    def __init__(self, feed: str, reason: str) -> None:
        super().__init__(f"feed {feed!r}: {reason}")
        self.feed = feed
        self.reason = reason

    def __reduce__(self) -> tuple:
        """Pickle by (feed, reason): the error crosses from a parse worker process."""
        return type(self), (self.feed, self.reason)


class SelectorMatchedNothing(FeedParseError):
    """An HTML-list selector found nothing usable: the page or the config changed."""
