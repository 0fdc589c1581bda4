"""Structured log lines in logfmt (``event key=value ...``), easy to grep and to ship."""

from __future__ import annotations

import logging
from typing import Any


def _quote(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


def log_event(logger: logging.Logger, level: int, event: str, *, exc_info: bool = False,
              **fields: Any) -> None:
    """Log ``event`` with ``fields`` as logfmt pairs; ``None`` values are left out.

    ``exc_info=True`` (inside an ``except``) adds the traceback on the lines after the event.
    """
    if not logger.isEnabledFor(level):
        return
    pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items() if v is not None)
    logger.log(level, "%s %s", event, pairs, exc_info=exc_info)
