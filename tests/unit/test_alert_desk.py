"""AlertDesk: one alert per (rule, story), updates for new sources, cooldowns, pruning."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from agents.alerts.desk import STORY_WINDOW, AlertDesk, next_milestone
from agents.alerts.matcher import Matcher
from agents.alerts.rules import load_rules
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def desk_with(rules_raw, update_interval=timedelta(seconds=60)):
    rules = {r.name: r for r in load_rules(rules_raw, source="test")}
    alerted: dict = {}
    desk = AlertDesk(StoryIndex({}, STORY_WINDOW), alerted, SurgeDetector({}), rules,
                     update_interval=update_interval)
    return desk, Matcher(rules.values()), alerted


def headline(title, feed="a", url=None, regions=()):
    slug = "-".join(title.lower().split())
    return {"id": f"{feed}-{slug}", "feed": feed, "source": f"{feed}.example",
            "title": title, "url": url or f"https://{feed}.example/{slug}", "summary": "",
            "published": None, "fetched_at": T0.isoformat(), "topics": [], "countries": [],
            "regions": [], "region_names": list(regions)}


def run(desk, matcher, item, now=T0):
    return desk.decide(item, matcher.match(item), now)


def test_one_alert_then_one_update_per_new_source():
    desk, matcher, _ = desk_with([{"name": "cop29", "any": ["COP29"]}])
    title = "ICESCO Director-General invited to COP29 in Baku"
    [first] = run(desk, matcher, headline(title, "a"))
    assert first["update"] is False and first["sources_count"] == 1
    [update] = run(desk, matcher, headline(title, "b"), T0 + timedelta(seconds=5))
    assert update["update"] is True and update["sources_count"] == 2
    assert update["story_id"] == first["story_id"] and update["alert_id"] != first["alert_id"]
    # The same feed again, or a lightly edited title: same story, nothing new to say.
    assert run(desk, matcher, headline(title, "a"), T0 + timedelta(seconds=9)) == []
    edited = "ICESCO Director-General is invited to COP29 in Baku"
    assert run(desk, matcher, headline(edited, "b"), T0 + timedelta(seconds=12)) == []


def test_unmatched_headline_raises_nothing_and_other_stories_alert_separately():
    desk, matcher, alerted = desk_with([{"name": "cop29", "any": ["COP29"]}])
    assert run(desk, matcher, headline("Bitcoin price dips below $58,000 again")) == []
    a = run(desk, matcher, headline("Official COP29 website appears online today"))
    b = run(desk, matcher, headline("COP29 participants to have easier entry to Azerbaijan"))
    assert len(a) == len(b) == 1 and a[0]["story_id"] != b[0]["story_id"]
    assert not [k for k in alerted if k.startswith("last:")]  # no cooldown: nothing to track


def test_cooldown_suppresses_new_stories_and_their_copies():
    desk, matcher, alerted = desk_with([{"name": "gas", "any": ["pipeline"], "cooldown": "10m"}])
    assert len(run(desk, matcher, headline("New gas pipeline opens in the Caspian region"))) == 1
    later = T0 + timedelta(minutes=5)
    quiet = headline("Pipeline explosion halts exports from the northern field", "a")
    assert run(desk, matcher, quiet, later) == []
    assert run(desk, matcher, headline(quiet["title"], "b"), later) == []  # no update either
    assert {v["state"] for k, v in alerted.items() if k.startswith("pair:")} == {
        "alerted", "suppressed"}
    after = T0 + timedelta(minutes=11)
    assert len(run(desk, matcher, headline("Pipeline tariffs rise for the winter season"),
                   after)) == 1


def test_old_pairs_are_pruned_after_the_story_window():
    desk, matcher, alerted = desk_with([{"name": "cop29", "any": ["COP29"]}])
    run(desk, matcher, headline("Official COP29 website appears online today"))
    assert any(k.startswith("pair:") for k in alerted)
    run(desk, matcher, headline("Nothing to see in this headline at all"),
        T0 + STORY_WINDOW + timedelta(hours=2))
    assert not any(k.startswith("pair:") for k in alerted)


def test_region_surge_alert_after_a_quiet_baseline():
    desk, matcher, _ = desk_with([{"name": "cop29", "any": ["COP29"]}])
    now = T0
    for minute in range(80):  # one mention a minute: the baseline
        now = T0 + timedelta(minutes=minute)
        assert run(desk, matcher, headline(f"Quiet news {minute} from the Sahel today",
                                           regions=["Sahel"]), now) == []
    surges = []
    for i in range(30):  # then a burst
        surges += run(desk, matcher, headline(f"Sahel burst {i} of many stories now",
                                              regions=["Sahel"]), now + timedelta(seconds=i))
    assert [s["kind"] for s in surges] == ["surge"]
    surge = surges[0]["surge"]
    assert surges[0]["rule"] == "region:Sahel"
    assert surge["window_count"] >= surge["threshold"] > max(surge["baseline_counts"])


def test_alert_latency_times_without_an_offset_are_read_as_utc():
    from agents.alerts.records import parse_time as _parse_time

    assert _parse_time("2024-05-01T12:00:00") == T0
    assert _parse_time("2024-05-01T12:00:00Z") == T0
    assert _parse_time("2024-05-01T14:00:00+02:00") == T0
    assert _parse_time("yesterday") is None
    assert _parse_time(None) is None


FLOOD_TITLE = "ICESCO Director-General invited to COP29 in Baku"


def flood_copy(i, feeds):
    return headline(FLOOD_TITLE, f"feed{i % feeds}", url=f"https://s{i}.example/cop29-{i}")


def test_milestones():
    assert [next_milestone(n) for n in (0, 1, 2, 3, 4, 5, 9, 10, 19, 20, 49, 50, 99, 100, 999)] \
        == [2, 2, 3, 5, 5, 10, 10, 20, 20, 50, 50, 100, 100, 200, 1000]


def test_without_an_interval_updates_come_at_milestones_only():
    desk, matcher, _ = desk_with([{"name": "cop29", "any": ["COP29"]}], timedelta(0))
    out = [a for i in range(3000) for a in run(desk, matcher, flood_copy(i, 1200),
                                                 T0 + timedelta(milliseconds=i))]
    assert [a["update"] for a in out].count(False) == 1
    assert [a["sources_count"] for a in out if a["update"]] == [2, 3, 5, 10, 20, 50, 100, 200,
                                                                 500, 1000]


def test_an_interval_holds_milestones_and_the_next_update_has_the_latest_count():
    desk, matcher, _ = desk_with([{"name": "cop29", "any": ["COP29"]}])
    out = []
    for i in range(600):  # 600 feeds in 10 minutes, one a second
        out += run(desk, matcher, flood_copy(i, 600), T0 + timedelta(seconds=i))
        out += desk.due_updates(T0 + timedelta(seconds=i))
    updates = [a for a in out if a["update"]]
    assert [a["update"] for a in out].count(False) == 1
    # 2 at once; 3 is passed a second later, held, and sent a minute later as 62; 100 is
    # passed at 99 s, held, sent at 121 s as 122; 200 and 500 come more than a minute later.
    assert [u["sources_count"] for u in updates] == [2, 62, 122, 200, 500]
    times = [datetime.fromisoformat(u["detected_at"]) for u in updates]
    assert all(b - a >= timedelta(seconds=60) for a, b in pairwise(times[1:]))
    assert desk.due_updates(T0 + timedelta(hours=1)) == []  # 600: no milestone passed


def test_a_held_update_goes_out_when_its_interval_ends_even_if_the_flood_stopped():
    desk, matcher, alerted = desk_with([{"name": "cop29", "any": ["COP29"]}])
    out = [a for i in range(110) for a in run(desk, matcher, flood_copy(i, 110),
                                               T0 + timedelta(seconds=i))]
    assert [a["sources_count"] for a in out if a["update"]] == [2, 62]  # 100 is held
    assert desk.due_updates(T0 + timedelta(seconds=120)) == []
    [last] = desk.due_updates(T0 + timedelta(seconds=121))
    assert last["sources_count"] == 110 and last["update"]
    assert last["detected_at"] == (T0 + timedelta(seconds=121)).isoformat()
    assert desk.due_updates(T0 + timedelta(seconds=900)) == []
    assert alerted[f"pair:cop29:{last['story_id']}"]["count"] == 110


def test_held_updates_survive_a_new_desk_over_the_same_state():
    desk, matcher, alerted = desk_with([{"name": "cop29", "any": ["COP29"]}])
    for i in range(50):  # 2 goes out at once, 3 and later wait for the minute to end
        run(desk, matcher, flood_copy(i, 50), T0 + timedelta(seconds=i))
    rules = desk.rules
    restarted = AlertDesk(desk.stories, alerted, SurgeDetector({}), rules)
    [held] = restarted.due_updates(T0 + timedelta(minutes=5))
    assert held["sources_count"] == 50


@pytest.mark.parametrize("delay", [timedelta(0), timedelta(hours=5)])
def test_alert_and_story_ids_survive_a_replay_after_lost_state(delay):
    rules = [{"name": "cop29", "any": ["COP29"]}, {"name": "baku", "any": ["Baku"]}]
    desk, matcher, _ = desk_with(rules, timedelta(0))
    first = [a for i in range(12) for a in run(desk, matcher, flood_copy(i, 12),
                                               T0 + timedelta(seconds=i))]
    replayed, matcher, _ = desk_with(rules, timedelta(0))  # state lost, the topic re-read
    again = [a for i in range(12) for a in run(replayed, matcher, flood_copy(i, 12),
                                               T0 + delay + timedelta(seconds=i))]
    assert len(first) == 2 * 5  # each rule: the alert, and updates at 2, 3, 5, 10 sources
    assert [a["alert_id"] for a in again] == [a["alert_id"] for a in first]
    assert [a["story_id"] for a in again] == [a["story_id"] for a in first]
    assert len({a["alert_id"] for a in first}) == len(first)
