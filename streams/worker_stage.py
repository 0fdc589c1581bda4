"""A batch stage (``streams.batch_stage``) as part of the worker: in the consumer group
``<namespace>.<name>``, dead letters to ``wirewatch.dead``, started with the worker once its
topics exist (a consumer subscribed earlier would have the broker auto-create them with one
partition) and once whatever else it needs is ready. A partition the stage's group never
committed starts where the worker's Faust group (``<namespace>``, whose agent did this work
before) committed, else at the beginning. Producers are idempotent unless
``WIREWATCH_KAFKA_TRANSACTIONS=off`` (a broker without them, as ``run --demo``'s). On
shutdown (SIGTERM) the task is cancelled, which aborts an open transaction and closes the
clients (bounded by ``batch_stage.CLOSE_TIMEOUT``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from streams.app import app, settings
from streams.batch_stage import BatchStage, Handler
from streams.records import Contract
from streams.topics import DEAD_LETTERS, topics_declared


def worker_stage(name: str, topic: str, value_type: type[Contract], handler: Handler, *,
                 ready: Sequence[asyncio.Event] = (), **options: Any) -> BatchStage:
    """The stage, registered as a task of the worker; ``options`` go to ``BatchStage``."""
    options.setdefault("idempotent", settings.kafka_transactions)
    stage = BatchStage(name, topic, value_type, handler, app_id=settings.namespace,
                       client_options=settings.kafka_client_options, dead_letters=DEAD_LETTERS,
                       # an upgrade goes on where the Faust agent it replaces stopped
                       start_from_group=settings.namespace, **options)

    async def run_stage() -> None:
        await topics_declared.wait()
        for event in ready:
            await event.wait()
        await stage.run()

    run_stage.__qualname__ = f"stage.{name}"  # how Faust names the task in its logs
    app.task(run_stage)
    return stage
