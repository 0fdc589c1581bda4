"""Surge detection: a window far above the key's own baseline, once per surge, deterministic."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from agents.alerts.records import build_surge_alert
from agents.alerts.surge import SurgeDetector

T0 = datetime(2024, 11, 11, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def steady(detector: SurgeDetector, key: str, minutes: int, every: int = 5) -> datetime:
    """One mention every ``every`` minutes for ``minutes``; returns the time after the last."""
    for m in range(0, minutes, every):
        assert detector.observe(key, T0 + m * MIN) is None
    return T0 + minutes * MIN


def burst(detector: SurgeDetector, key: str, start: datetime, n: int):
    """``n`` mentions in the minute at ``start``; the surges reported along the way."""
    return [s for i in range(n) if (s := detector.observe(key, start + i * timedelta(seconds=1)))]


@pytest.fixture
def detector() -> SurgeDetector:
    return SurgeDetector({})  # 1-minute buckets, 10-minute window, 6 baseline windows


def test_burst_over_steady_baseline_is_one_surge_with_counts(detector):
    now = steady(detector, "rule:cop29", 70)  # 2 per 10-minute window
    surges = burst(detector, "rule:cop29", now, 12)
    assert len(surges) == 1
    s = surges[0]
    assert s.key == "rule:cop29"
    assert s.baseline_counts == [2, 2, 2, 2, 2, 2]
    assert s.baseline_mean == 2 and s.baseline_std == 0
    assert s.threshold == pytest.approx(2 + 3 * 2**0.5, abs=1e-3)
    assert s.window_count >= s.threshold
    assert s.window_count == sum(s.bucket_counts)
    assert len(s.bucket_counts) == 10
    assert s.window_end == (now + MIN).isoformat()
    assert s.window_start == (now - 9 * MIN).isoformat()


def test_the_surge_fires_exactly_when_the_threshold_is_reached(detector):
    now = steady(detector, "k", 70)
    # the window already holds 1 mention (minute 65); threshold 6.243 -> the 7th mention fires
    results = [detector.observe("k", now + i * timedelta(seconds=1)) for i in range(8)]
    assert [r is not None for r in results] == [False] * 5 + [True] + [False] * 2


def test_min_count_guards_quiet_keys():
    detector = SurgeDetector({}, min_count=5)
    steady(detector, "warmup", 70)
    now = T0 + 70 * MIN
    assert burst(detector, "rare", now, 4) == []
    assert len(burst(detector, "rare", now + 2 * MIN, 1)) == 1  # 5th mention in the window


def test_no_surge_while_warming_up(detector):
    assert burst(detector, "k", T0 + 5 * MIN, 50) == []


def test_no_second_report_until_a_window_without_surge(detector):
    now = steady(detector, "k", 70)
    assert len(burst(detector, "k", now, 20)) == 1
    assert burst(detector, "k", now + 3 * MIN, 20) == []  # same surge continues
    quiet = now + 25 * MIN  # a full window later, then a new burst
    assert detector.observe("k", quiet) is None
    # the first burst is now part of the baseline, so the second must be bigger to count
    assert len(burst(detector, "k", quiet + 11 * MIN, 100)) == 1


def test_keys_are_independent(detector):
    now = steady(detector, "a", 70)
    steady(detector, "b", 70)
    assert len(burst(detector, "a", now, 15)) == 1
    assert detector.observe("b", now) is None


def test_noisy_baseline_needs_a_bigger_burst():
    detector = SurgeDetector({})
    for w in range(7):  # windows alternate 2 and 12 mentions
        for i in range(12 if w % 2 else 2):
            detector.observe("k", T0 + w * 10 * MIN + i * timedelta(seconds=30))
    start = T0 + 70 * MIN
    surges = burst(detector, "k", start, 30)
    assert len(surges) == 1
    assert surges[0].baseline_std == 5
    assert surges[0].window_count == 22  # mean 7 + 3 * 5


def test_late_mentions_older_than_the_judged_span_are_ignored(detector):
    now = steady(detector, "k", 70)
    assert detector.observe("k", now - 80 * MIN) is None
    buckets = detector.store["key:k"]["buckets"]
    assert min(map(int, buckets)) > (now - 71 * MIN).timestamp() // 60


def test_state_is_bounded_and_json(detector):
    for m in range(500):
        detector.observe("k", T0 + m * MIN)
    state = json.loads(json.dumps(detector.store))
    assert len(state["key:k"]["buckets"]) == 70


def test_deterministic_given_timestamps():
    def run() -> list:
        d = SurgeDetector({})
        steady(d, "k", 70)
        return [s.to_dict() for s in burst(d, "k", T0 + 70 * MIN, 15)]

    assert run() == run() != []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window": timedelta(seconds=90)},
        {"bucket": timedelta(0)},
        {"baseline_windows": 0},
        {"k": 0},
        {"min_count": 0},
    ],
)
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        SurgeDetector({}, **kwargs)


def test_surge_alert_record(detector):
    now = steady(detector, "region:South Caucasus", 70)
    (surge,) = burst(detector, "region:South Caucasus", now, 12)
    alert = build_surge_alert(surge, rule="South Caucasus", severity="high", detected_at=now)
    assert alert["kind"] == "surge"
    assert alert["story_id"] == "surge:region:South Caucasus"
    assert alert["surge"]["window_count"] == surge.window_count
    assert alert["surge"]["baseline_counts"] == [2] * 6
    assert f"{surge.window_count} mentions" in alert["title"]
    assert alert["schema_version"] == 1
