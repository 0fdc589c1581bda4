"""Topic declarations: names and partitioning of every topic Wirewatch owns."""

from __future__ import annotations

from streams.app import app, settings
from streams.records import Headline, PollTick

HEADLINES = settings.topic("headlines")
POLL_TICKS = settings.topic("poll-ticks")

headlines_topic = app.topic(
    HEADLINES, key_type=str, value_type=Headline, partitions=settings.partitions,
    internal=True,  # declared by Wirewatch with its partition count, not auto-created
)

# Keyed by feed name: the worker that holds a feed's partition polls that feed, and
# the feed-state table (same partition count) lives beside it.
poll_ticks_topic = app.topic(
    POLL_TICKS, key_type=str, value_type=PollTick, partitions=settings.partitions,
    internal=True,
)
