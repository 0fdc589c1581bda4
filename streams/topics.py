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

CLASSIFIED = settings.topic("classified")
ALERT_CANDIDATES = settings.topic("alert-candidates")
ALERTS = settings.topic("alerts")
ALERTS_DEAD = settings.topic("alerts.dead")
RULES = settings.topic("rules")

# Headlines with their classification; same key (headline id) as wirewatch.headlines.
classified_topic = app.topic(
    CLASSIFIED, key_type=str, value_serializer="json", partitions=settings.partitions,
    internal=True,
)

# Internal: classified headlines with their rule matches, on ONE partition so that
# story de-duplication, cooldowns and surge counts see every source at once.
alert_candidates_topic = app.topic(
    ALERT_CANDIDATES, key_type=str, value_serializer="json", partitions=1, internal=True,
)

# Alerts keyed by story id; failed webhook deliveries go to the dead-letter topic.
alerts_topic = app.topic(
    ALERTS, key_type=str, value_serializer="json", partitions=settings.partitions,
    internal=True,
)
alerts_dead_topic = app.topic(
    ALERTS_DEAD, key_type=str, value_serializer="json", partitions=settings.partitions,
    internal=True,
)

# Live watch-list rules: key = rule name, value = rule JSON, tombstone = delete.
rules_topic = app.topic(
    RULES, key_type=str, value_serializer="raw", partitions=1, compacting=True,
    internal=True,
)


@app.task
async def declare_topics() -> None:
    """Create every Wirewatch topic with its partitions and settings at worker start."""
    for topic in (headlines_topic, poll_ticks_topic, classified_topic, alert_candidates_topic,
                  alerts_topic, alerts_dead_topic, rules_topic):
        await topic.maybe_declare()
