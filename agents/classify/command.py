"""``wirewatch classify``: classify headlines from stdin, one JSON line out each."""

from __future__ import annotations

import sys

from agents.classify.cli import classify_stream
from agents.classify.errors import DataError
from streams.app import app
from streams.commands import PlainCommand
from streams.feedtools.probe import register_classifier
from streams.records import ClassifiedHeadline, Headline


@app.command(base=PlainCommand)
async def classify(self: PlainCommand) -> int:
    """Classify headlines read from stdin (text lines or JSON lines with "title")."""
    from agents.classify.agent import shared_classifier

    try:
        classifier = shared_classifier()
    except DataError as exc:
        print(f"classifier data error: {exc}", file=sys.stderr)
        return 1
    classify_stream(sys.stdin, sys.stdout, classifier)
    return 0


@register_classifier
def classify_probed(headlines: list[Headline]) -> list[ClassifiedHeadline]:
    """``wirewatch feeds probe`` shows headlines classified as the pipeline would."""
    from agents.classify.agent import classify_headlines_batch, shared_classifier

    return classify_headlines_batch(shared_classifier(), headlines)
