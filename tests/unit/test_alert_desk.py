"""AlertDesk: one alert per (rule, story), updates for new sources, cooldowns, pruning."""

from datetime import UTC, datetime, timedelta

from agents.alerts.desk import STORY_WINDOW, AlertDesk
from agents.alerts.matcher import Matcher
from agents.alerts.rules import load_rules
from agents.alerts.stories import StoryIndex
from agents.alerts.surge import SurgeDetector

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def desk_with(rules_raw):
    rules = {r.name: r for r in load_rules(rules_raw, source="test")}
    alerted: dict = {}
    desk = AlertDesk(StoryIndex({}, STORY_WINDOW), alerted, SurgeDetector({}), rules)
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
    desk, matcher, _ = desk_with([{"name": "cop29", "any": ["COP29"]}])
    assert run(desk, matcher, headline("Bitcoin price dips below $58,000 again")) == []
    a = run(desk, matcher, headline("Official COP29 website appears online today"))
    b = run(desk, matcher, headline("COP29 participants to have easier entry to Azerbaijan"))
    assert len(a) == len(b) == 1 and a[0]["story_id"] != b[0]["story_id"]


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
    from agents.alerts.agent import _parse_time

    assert _parse_time("2024-05-01T12:00:00") == T0
    assert _parse_time("2024-05-01T12:00:00Z") == T0
    assert _parse_time("2024-05-01T14:00:00+02:00") == T0
    assert _parse_time("yesterday") is None
    assert _parse_time(None) is None
