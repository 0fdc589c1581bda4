"""``wirewatch classify``: headlines in from stdin (text or JSON lines), one JSON line out each."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO

from agents.classify.classifier import Classifier
from agents.classify.errors import DataError
from streams.app import app
from streams.commands import PlainCommand
from streams.feedtools.probe import register_classifier
from streams.records import ClassifiedHeadline, Headline


def classify_stream(lines: Iterable[str], out: TextIO, classifier: Classifier,
                    err: TextIO | None = None) -> int:
    """Classify each input line and write one JSON object per headline to `out`.

    A line starting with "{" is a JSON object with a "title" (and optional "summary"); its
    fields are copied to the output, followed by the classification fields. Any other non-blank
    line is a plain headline. A bad JSON line is reported on `err` (default stderr) with its line
    number and skipped. Returns the number of headlines written.
    """
    err = err if err is not None else sys.stderr
    written = 0
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})", file=err)
                continue
            title = record.get("title") if isinstance(record, dict) else None
            if not isinstance(title, str):
                print(f"line {number}: JSON object needs a string 'title' field", file=err)
                continue
            summary = record.get("summary")
            result = classifier.classify(title, summary if isinstance(summary, str) else "")
            output = {**record, **result.to_dict()}
        else:
            output = {"title": line, **classifier.classify(line).to_dict()}
        out.write(json.dumps(output, ensure_ascii=False) + "\n")
        written += 1
    return written


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
