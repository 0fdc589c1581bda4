"""Human-readable one-line forms of Wirewatch's messages, for the command line.

``--json`` output prints the records themselves (``dumps``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from streams.records import ClassifiedHeadline, Contract, Headline


def format_headline(h: Headline) -> str:
    """One line: time, feed, title, url; with topic and regions once classified."""
    when = (h.published or h.fetched_at)[:16].replace("T", " ")
    line = f"{when:16}  [{h.feed}] {h.title}  <{h.url}>"
    if isinstance(h, ClassifiedHeadline):
        topic = h.topics[0].label if h.topics else "-"
        regions = ", ".join(h.region_names) or "-"
        line += f"\n{'':16}  topic: {topic} | regions: {regions}"
    return line


def dumps(record: Contract | Mapping[str, Any]) -> str:
    """The record as one JSON line, as it is on the wire (Unicode kept readable)."""
    value = record.model_dump(mode="json") if isinstance(record, Contract) else record
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _clock(iso: object) -> str:
    return str(iso or "")[:19].replace("T", " ")


def format_alert(alert: Mapping[str, Any]) -> str:
    """``detected_at SEVERITY rule  title  (source, N sources) [matched] url`` on one line."""
    head = f"{_clock(alert.get('detected_at'))}  {str(alert.get('severity', '')).upper():<8} "
    head += str(alert.get("rule", ""))
    surge = alert.get("surge")
    if alert.get("kind") == "surge" and isinstance(surge, Mapping):
        return (
            f"{head}  SURGE {surge.get('window_count')} mentions"
            f" {_clock(surge.get('window_start'))[11:16]}-{_clock(surge.get('window_end'))[11:16]}"
            f" (baseline {surge.get('baseline_counts')}, threshold {surge.get('threshold')})"
        )
    where = alert.get("source") or alert.get("feed") or "?"
    count = alert.get("sources_count") or 1
    if count > 1:
        where += f", {count} sources"
    terms = list(dict.fromkeys(m.get("text", "") for m in alert.get("matched") or ()))
    line = f"{head}  {'UPDATE ' if alert.get('update') else ''}{alert.get('title') or ''}"
    line += f"  ({where})"
    if terms:
        line += f" [{', '.join(terms)}]"
    if alert.get("url"):
        line += f" {alert['url']}"
    return " ".join(line.splitlines())
