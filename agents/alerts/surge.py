"""Surge detection ("breaking news"): mentions of a key far above its own recent baseline.

A key is a rule name or a region (the caller picks, e.g. ``rule:cop29``). Mentions are
counted in fixed ``bucket``s (default 1 minute) by the caller's timestamps. On every
mention the detector compares the *window* - the last ``window`` (default 10 minutes) of
buckets up to the newest one seen for the key - with the ``baseline_windows`` (default 6)
windows right before it:

    surge  <=>  count >= min_count  and  count >= mean + k * max(std, sqrt(mean), 1)

(population std; the ``sqrt(mean)`` floor is the Poisson noise of a steady key, the ``1``
keeps a silent key from surging on a couple of mentions; defaults ``k = 3``,
``min_count = 5``). A surge is reported once when it starts and again only after a full
window without one. Nothing is judged until the detector itself has seen a full baseline
span (window x (baseline_windows + 1)) since its first mention of any key, so a fresh
deployment does not report everything as breaking.

State lives in a ``MutableMapping`` (a Faust table in the worker): ``key:<key>`` holds the
key's bucket counts (older buckets than the baseline span are dropped on each update) and
``meta:started`` the first bucket ever seen. Deterministic for given timestamps.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.records import Surge

__all__ = ["Surge", "SurgeDetector"]


class SurgeDetector:
    """Per-key sliding-window counts compared to the key's own baseline."""

    def __init__(
        self,
        store: MutableMapping[str, Any],
        *,
        bucket: timedelta = timedelta(minutes=1),
        window: timedelta = timedelta(minutes=10),
        baseline_windows: int = 6,
        k: float = 3.0,
        min_count: int = 5,
    ) -> None:
        if bucket <= timedelta(0) or window < bucket or window % bucket:
            raise ValueError("window must be a positive whole number of buckets")
        if baseline_windows < 1 or k <= 0 or min_count < 1:
            raise ValueError("baseline_windows, k and min_count must be positive")
        self.store = store
        self.bucket_seconds = bucket.total_seconds()
        self.per_window = window // bucket
        self.baseline_windows = baseline_windows
        self.k = k
        self.min_count = min_count
        self.span = self.per_window * (baseline_windows + 1)  # buckets kept and judged

    def _iso(self, bucket: int) -> str:
        return datetime.fromtimestamp(bucket * self.bucket_seconds, UTC).isoformat()

    def observe(self, key: str, at: datetime, count: int = 1) -> Surge | None:
        """Count ``count`` mentions of ``key`` at ``at`` (aware); a Surge when one starts."""
        bucket = math.floor(at.timestamp() / self.bucket_seconds)
        started = self.store.get("meta:started")
        if started is None or bucket < started:
            self.store["meta:started"] = started = bucket
        state = self.store.get(f"key:{key}") or {"buckets": {}, "surging_at": None}
        counts = {int(b): n for b, n in state["buckets"].items()}
        newest = max([bucket, *counts])
        if bucket <= newest - self.span:
            return None  # too late to matter: older than everything still judged
        counts[bucket] = counts.get(bucket, 0) + count
        counts = {b: n for b, n in counts.items() if b > newest - self.span}
        surge = self._judge(key, counts, newest, started)
        surging_at = state["surging_at"]
        fresh = surge is not None and (surging_at is None or newest - surging_at >= self.per_window)
        self.store[f"key:{key}"] = {
            "buckets": {str(b): n for b, n in sorted(counts.items())},
            "surging_at": newest if surge else surging_at,
        }
        return surge if fresh else None

    def _judge(self, key: str, counts: dict[int, int], newest: int, started: int) -> Surge | None:
        if newest - self.span + 1 < started:
            return None  # still warming up
        window = [counts.get(b, 0) for b in range(newest - self.per_window + 1, newest + 1)]
        baseline = [
            sum(counts.get(newest - j * self.per_window - i, 0) for i in range(self.per_window))
            for j in range(self.baseline_windows, 0, -1)
        ]
        mean = statistics.fmean(baseline)
        std = statistics.pstdev(baseline)
        threshold = mean + self.k * max(std, math.sqrt(mean), 1.0)
        total = sum(window)
        if total < self.min_count or total < threshold:
            return None
        return Surge(
            key=key,
            window_start=self._iso(newest - self.per_window + 1),
            window_end=self._iso(newest + 1),
            window_count=total,
            bucket_counts=window,
            baseline_counts=baseline,
            baseline_mean=round(mean, 3),
            baseline_std=round(std, 3),
            threshold=round(threshold, 3),
        )
