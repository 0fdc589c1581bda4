"""Stage 1 of alerting: classified headlines -> rule matches -> alert candidates.

``match_headlines`` runs on every partition of ``wirewatch.classified`` and only matches
rules (the costly part, spread over the workers). It forwards each headline with its
matches to ``wirewatch.alert-candidates``, a single partition, where stage 2, the story
desk (``desk_stage.py``), sees every source at once.
"""

from __future__ import annotations

import logging

from agents.alerts.rulebook import rulebook
from streams.app import app
from streams.logs import log_event
from streams.records import AlertCandidate, ClassifiedHeadline
from streams.topics import alert_candidates_topic, classified_topic

log = logging.getLogger(__name__)

MATCH_BATCH = 256  # headlines matched per wakeup of the agent
MATCH_WAIT = 0.02  # seconds a lone headline waits for company


@app.agent(classified_topic)
async def match_headlines(classified) -> None:  # noqa: ANN001 -- a Faust stream
    """In batches, like the classify agent: Faust's per-event overhead (one wakeup, one
    acknowledgement each) cost more than matching itself (issue 11)."""
    await rulebook.ready.wait()
    async for events in classified.take_events(MATCH_BATCH, within=MATCH_WAIT):
        for event in events:
            await alert_candidates_topic.send(key=event.key, value=_candidate(event.key,
                                                                              event.value))


def _candidate(key: object, record: ClassifiedHeadline) -> AlertCandidate:
    """The record with its rule matches; a headline the matcher fails on has none."""
    try:
        matches = rulebook.matcher.match(record.model_dump())
    except Exception as exc:  # one odd headline must not stop the stream
        log_event(log, logging.ERROR, "match_failed", exc_info=True, id=key, error=repr(exc))
        matches = []
    return AlertCandidate(headline=record, matches=matches)
