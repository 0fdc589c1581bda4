"""Poll scheduling through Kafka partitions, and the polling agent.

The leader's timer emits one ``PollTick`` per feed and interval onto
``wirewatch.poll-ticks``, keyed by feed name. Whichever worker holds that
partition polls the feed, using the feed's state from the ``feed-state`` table
(changelogged to Kafka, co-partitioned with the ticks). When a worker joins or
dies, feeds move with their partitions: none is polled twice, none forgotten.
A tick only *allows* a poll: the holder skips it while the feed is backing off
or was polled less than an interval ago, so a new leader's eager first ticks
cause no extra polls.

The table holds each feed's state split into a small core record and seen-id
segments (``streams.feeds.state``); only the records that changed are written, so a
304 writes nothing. The times of polls that changed nothing else are kept in this
worker's memory (``schedule.last_polled``); after a rebalance the new holder may therefore poll
such a feed once early, a cheap conditional GET.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import cache

from streams import metrics
from streams.app import app, settings
from streams.feeds.poller import POLL_ERROR_REASONS, POLL_OUTCOMES, Poller, PollOutcome
from streams.feeds.state import load_state, state_writes
from streams.logs import log_event
from streams.poll_schedule import PollSchedule
from streams.records import PollTick
from streams.redact import redact_text
from streams.runtime import current_config
from streams.topics import headlines_topic, poll_ticks_topic

log = logging.getLogger(__name__)

feed_states = app.Table(
    "feed-state", default=None, partitions=settings.partitions,
    help="Per-feed validators, back-off and seen headline ids.",
)

schedule = PollSchedule()


@cache
def _shared_poller() -> Poller:
    """The worker's one poller, so per-host limits hold across concurrent polls."""
    return Poller(current_config().polling)


@app.task
async def start_parsing_processes() -> None:
    """At worker start, so that the first polls do not wait for the parsing processes."""
    if current_config().feeds:
        await _shared_poller().parse_pool.start()


@app.on_before_shutdown.connect
async def close_poller(sender: object, **_: object) -> None:
    """At worker stop: close the HTTP connection pool and stop the parsing processes."""
    if _shared_poller.cache_info().currsize:
        poller = _shared_poller()
        await poller.close()
        poller.parse_pool.close()


@app.timer(1.0, on_leader=True)
async def emit_poll_ticks() -> None:
    """Leader only: a tick per feed whenever its interval (with jitter) has passed."""
    config = current_config()
    now = time.time()
    for feed in schedule.due(config.feeds, now):
        await poll_ticks_topic.send(key=feed.name, value=PollTick(feed=feed.name, sent_at=now))
        schedule.ticked(feed, now, config.polling.jitter)


@app.task
async def register_feed_metrics() -> None:
    """Export every configured feed's series from the start, at zero, so that rates and
    ``increase()`` see the first poll and error, and dashboards list idle feeds too."""
    for feed in current_config().feeds:
        metrics.FEED_INTERVAL.labels(feed.name).set(feed.interval)
        for outcome in POLL_OUTCOMES:
            metrics.FEED_POLLS.labels(feed.name, outcome)
        for reason in POLL_ERROR_REASONS:
            metrics.FEED_POLL_ERRORS.labels(feed.name, reason)
        metrics.FEED_ITEMS.labels(feed.name)
        metrics.HEADLINES_NEW.labels(feed.name)


def _record(feed_name: str, outcome: PollOutcome, seconds: float) -> None:
    metrics.FEED_POLLS.labels(feed_name, outcome.outcome).inc()
    metrics.FEED_POLL_DURATION.labels(feed_name).observe(seconds)
    if outcome.outcome == "error":
        metrics.FEED_POLL_ERRORS.labels(feed_name, outcome.error_reason).inc()
        return
    if outcome.repaired_from:
        metrics.FEED_ENCODING_REPAIRS.labels(feed_name).inc()
    metrics.FEED_LAST_SUCCESS.labels(feed_name).set(outcome.state.last_success or 0)
    metrics.FEED_ITEMS.labels(feed_name).inc(outcome.items)
    metrics.HEADLINES_NEW.labels(feed_name).inc(len(outcome.new))
    log_event(log, logging.INFO, "feed_polled", feed=feed_name, outcome=outcome.outcome,
              items=outcome.items, new=len(outcome.new), seconds=f"{seconds:.3f}")


# Polls mostly wait on the network (slow sites included); per-host limits keep this polite.
POLL_CONCURRENCY = 64


@app.agent(poll_ticks_topic, concurrency=POLL_CONCURRENCY)
async def poll_feeds(ticks) -> None:  # noqa: ANN001 -- a Faust stream
    """Poll each ticked feed that is due; publish its new headlines, then save its state."""
    async for tick in ticks:
        if not schedule.claim(tick.feed):
            continue
        try:
            await _poll_if_due(tick)
        except Exception as exc:  # a bug on one feed must not stop the others
            log_event(log, logging.ERROR, "feed_poll_crashed", feed=tick.feed,
                      error=redact_text(repr(exc)), exc_info=log.isEnabledFor(logging.DEBUG))
        finally:
            schedule.release(tick.feed)


async def _poll_if_due(tick: PollTick) -> None:
    config = current_config()
    feed = config.feed(tick.feed)
    if feed is None:
        log_event(log, logging.WARNING, "tick_for_unknown_feed", feed=tick.feed)
        return
    stored = load_state(feed_states.get, feed.name)
    state = stored.state
    if schedule.last_polled(feed.name) > state.last_attempt:
        state = replace(state, last_attempt=schedule.last_polled(feed.name))
    if not state.is_due(feed, time.time(), config.polling.jitter):
        return
    started = time.perf_counter()
    outcome = await _shared_poller().poll(feed, state)
    # Publish before saving state: a crash in between re-emits, never loses.
    for headline in outcome.new:
        await headlines_topic.send(key=headline.id, value=headline)
    for key, value in state_writes(feed.name, stored, outcome.state).items():
        if value is None:
            del feed_states[key]  # state_writes deletes only stored segments
        else:
            feed_states[key] = value
    schedule.polled(feed.name, outcome.state.last_attempt)
    _record(feed.name, outcome, time.perf_counter() - started)
