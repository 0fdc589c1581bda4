"""The match stage: wirewatch.classified -> wirewatch.alert-candidates (same key).

It runs on every partition of ``wirewatch.classified`` and only matches rules (the costly
part of alerting, spread over the workers): each classified headline goes on to the
single partition of ``wirewatch.alert-candidates`` with the rules it matched (possibly
none: regions still count for surges), where the story desk (``agents.alerts.desk_stage``)
decides on alerts. A headline the matcher fails on goes on with no matches, its error
logged; one whose candidate breaks the contract is dead-lettered; neither stops the stage.

It is a ``BatchStage`` (its own aiokafka consumer in the group ``<namespace>.match``, off
Faust's per-event path; issue 11): each poll's records of a partition are checked against
their contract straight into the dicts the matcher reads (``as_dicts``), matched, and
produced without waiting on each.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import TopicPartition

from agents.alerts.rulebook import rulebook
from streams.batch_stage import Output, StageRecord
from streams.logs import log_event
from streams.records import AlertCandidate, ClassifiedHeadline, Match
from streams.stage_output import StageOutputs
from streams.topics import ALERT_CANDIDATES, CLASSIFIED, DEAD_LETTERS
from streams.worker_stage import worker_stage

log = logging.getLogger(__name__)

MATCH_BATCH = 1000  # headlines a poll hands over at most
MATCH_WAIT_MS = 20  # a poll waits at most this long for the first record

outputs = StageOutputs(ALERT_CANDIDATES, AlertCandidate, ClassifiedHeadline, DEAD_LETTERS)


async def match_records(tp: TopicPartition, records: list[StageRecord]) -> list[Output]:
    """The stage's handler: one partition's classified headlines -> their candidates."""
    return [outputs.output(tp, record, {"headline": record.value,
                                        "matches": matches(record, record.value)})
            for record in records]


def matches(record: StageRecord, headline: dict[str, Any]) -> list[Match]:
    """The rules ``headline`` (``record``'s fields) matches; none if the matcher fails."""
    try:
        return rulebook.matcher.match(headline)
    except Exception as exc:  # one odd headline must not stop the stream
        log_event(log, logging.ERROR, "match_failed", exc_info=True, id=record.key,
                  error=repr(exc))
        return []


# after the live rules are read: a headline matched before would miss rules
match_stage = worker_stage("match", CLASSIFIED, ClassifiedHeadline, match_records,
                           max_records=MATCH_BATCH, wait_ms=MATCH_WAIT_MS,
                           as_dicts=True,  # checked into the dicts the matcher reads, one pass
                           ready=[rulebook.ready])
