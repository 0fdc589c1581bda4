"""Message formats on Wirewatch's topics (plain JSON, no Faust metadata).

Subscribers in any language read these values as ordinary JSON objects.
"""

from __future__ import annotations

from typing import Optional

import faust


class Headline(faust.Record, serializer="json", include_metadata=False):
    """A new headline on ``wirewatch.headlines``; the message key is ``id``.

    ``id``: stable id (hash of the entry's guid, else of its canonical URL);
    ``feed``: config name of the feed; ``source``: site host; ``published``
    and ``fetched_at``: UTC ISO 8601 (``published`` may be null).
    """

    id: str
    feed: str
    source: str
    title: str
    url: str
    summary: str
    published: Optional[str]  # noqa: UP045 -- Faust's field introspection needs typing.Optional
    fetched_at: str


class PollTick(faust.Record, serializer="json", include_metadata=False):
    """An internal "poll this feed now if it is due" message, keyed by feed name."""

    feed: str
    sent_at: float
