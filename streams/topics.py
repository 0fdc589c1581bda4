"""Every topic Wirewatch owns: its name, partitions, settings and record type (one place).

Each topic carries its contract (``streams.records``) through a ``ContractSchema``:
records the agents consume are checked against it, and those that break it go to
``wirewatch.dead``. ``wirewatch topics list`` prints this table; docker-compose's topic
creator reads it from ``deploy/compose/topics.txt``, which that command generates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from streams import metrics
from streams.app import app, settings
from streams.contract_topic import ContractSchema, ContractTopic
from streams.records import (
    DEAD_LETTER_REASONS,
    Alert,
    AlertCandidate,
    ClassifiedHeadline,
    Contract,
    DeadLetter,
    DeskStateEntry,
    FailedDelivery,
    Headline,
    LiveRule,
    PollTick,
)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How one topic is created. ``partitions`` None: ``WIREWATCH_PARTITIONS`` (data topics)."""

    suffix: str
    value_type: type[Contract]
    partitions: int | None = None
    compacted: bool = False

    def line(self, *, relative: bool = False) -> str:
        """``name partitions [cleanup.policy=compact]``; ``relative``: without the namespace,
        and ``data`` for data topics (the form ``deploy/compose/topics.txt`` holds)."""
        name = self.suffix if relative else settings.topic(self.suffix)
        count = self.partitions or ("data" if relative else settings.partitions)
        return f"{name} {count}" + (" cleanup.policy=compact" if self.compacted else "")


TOPICS: list[tuple[TopicSpec, ContractTopic]] = []  # in creation order
topics_declared = asyncio.Event()  # set once the worker has created them (clients wait)


def _declare(spec: TopicSpec, dead_letters: ContractTopic | None) -> ContractTopic:
    topic = ContractTopic(
        app, topics=[settings.topic(spec.suffix)],
        schema=ContractSchema(spec.value_type, dead_letters=dead_letters),
        partitions=spec.partitions or settings.partitions, compacting=spec.compacted or None,
        internal=True,  # declared by Wirewatch with its partition count, not auto-created
    )
    TOPICS.append((spec, topic))
    return topic


# Records that broke their topic's contract (see streams.contract_topic), keyed by topic.
dead_letters_topic = _declare(TopicSpec("dead", DeadLetter), None)
# Keyed by feed name: the worker that holds a feed's partition polls that feed, and
# the feed-state table (same partition count) lives beside it.
poll_ticks_topic = _declare(TopicSpec("poll-ticks", PollTick), dead_letters_topic)
headlines_topic = _declare(TopicSpec("headlines", Headline), dead_letters_topic)
# Headlines with their classification; same key (headline id) as wirewatch.headlines.
classified_topic = _declare(TopicSpec("classified", ClassifiedHeadline), dead_letters_topic)
# Internal: classified headlines with their rule matches, on ONE partition so that
# story de-duplication, cooldowns and surge counts see every source at once.
alert_candidates_topic = _declare(TopicSpec("alert-candidates", AlertCandidate, partitions=1),
                                  dead_letters_topic)
# The story desk's state (stories, alerted pairs, surge counts), written in the desk's
# transactions with its alerts and input offsets (agents.alerts.desk_stage).
desk_state_topic = _declare(TopicSpec("desk-state", DeskStateEntry, partitions=1,
                                      compacted=True), dead_letters_topic)
# Alerts keyed by story id; failed webhook deliveries go to wirewatch.alerts.dead.
alerts_topic = _declare(TopicSpec("alerts", Alert), dead_letters_topic)
alerts_dead_topic = _declare(TopicSpec("alerts.dead", FailedDelivery), dead_letters_topic)
# Live watch-list rules: key = rule name, value = rule JSON, tombstone = delete. Every
# worker reads it whole with its own consumer (agents.alerts.rulebook), like a global table.
rules_topic = _declare(TopicSpec("rules", LiveRule, partitions=1, compacted=True),
                       dead_letters_topic)

# Full names, for the clients that read topics outside Faust (CLI, rules follower).
HEADLINES = headlines_topic.get_topic_name()
CLASSIFIED = classified_topic.get_topic_name()
ALERTS = alerts_topic.get_topic_name()
ALERT_CANDIDATES = alert_candidates_topic.get_topic_name()
DESK_STATE = desk_state_topic.get_topic_name()
DEAD_LETTERS = dead_letters_topic.get_topic_name()
RULES = rules_topic.get_topic_name()


@app.task
async def declare_topics() -> None:
    """Create every Wirewatch topic with its partitions and settings at worker start, and
    export each topic's dead-letter series at zero so that ``increase()`` sees the first."""
    for _, topic in TOPICS:
        await topic.maybe_declare()
        if topic is not dead_letters_topic:
            for reason in DEAD_LETTER_REASONS:
                metrics.DEAD_LETTERS.labels(topic.get_topic_name(), reason)
    topics_declared.set()
