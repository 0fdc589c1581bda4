"""``wirewatch classify``: classify headlines from stdin, one JSON line out each."""

from __future__ import annotations

import sys

from agents.classify.cli import classify_stream
from agents.classify.errors import DataError
from streams.app import app
from streams.commands import PlainCommand


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
