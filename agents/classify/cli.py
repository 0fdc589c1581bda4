"""I/O of `wirewatch classify`: headlines in (text or JSON lines), one JSON line out each."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO

from agents.classify.classifier import Classifier


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
