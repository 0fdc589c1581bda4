"""Matching speed: classified headlines per second against a few hundred watch-list rules.

    .venv/bin/python bench/match_bench.py [--rules 200] [--headlines 3000] [--runs 5]

Headlines and rules are generated from fixed word pools with a fixed seed (realistic
lengths: ~10-word titles, ~35-word summaries, accented words; about 15% of words come from
the pools the rules watch, the rest is filler and random noise words), so runs are comparable.
Prints the median of ``--runs`` timed passes (after one warm-up pass) for the matcher, the
time to compile the rule set, and story assignment throughput.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from agents.alerts.matcher import Matcher
from agents.alerts.rules import Rule, load_rules
from agents.alerts.stories import StoryIndex

PLACES = [
    "Karabakh",
    "Baku",
    "Yerevan",
    "Tbilisi",
    "Stepanakert",
    "Nakhchivan",
    "Gyumri",
    "Sukhumi",
    "Ganja",
    "Lachin",
    "Ankara",
    "Tehran",
    "Moscow",
    "Kyiv",
    "Brussels",
    "Washington",
    "Geneva",
    "Gaza",
    "Beirut",
    "Damascus",
    "Aleppo",
    "Mosul",
    "Kabul",
    "São-Paulo",
    "Zürich",
    "Kraków",
    "Reykjavík",
    "Brasília",
    "Bogotá",
    "Côte-d'Ivoire",
    "Nouméa",
    "Montréal",
]
ACTORS = [
    "peacekeepers",
    "troops",
    "ministers",
    "president",
    "parliament",
    "rebels",
    "protesters",
    "diplomats",
    "inspectors",
    "refugees",
    "farmers",
    "workers",
    "judges",
    "police",
    "drones",
    "negotiators",
    "envoys",
    "observers",
]
VERBS = [
    "withdraw",
    "arrive",
    "clash",
    "meet",
    "sign",
    "reject",
    "approve",
    "condemn",
    "warn",
    "announce",
    "suspend",
    "resume",
    "launch",
    "block",
    "demand",
    "deny",
    "confirm",
    "investigate",
    "evacuate",
    "deploy",
]
THINGS = [
    "ceasefire",
    "pipeline",
    "sanctions",
    "election",
    "referendum",
    "treaty",
    "corridor",
    "border",
    "mines",
    "gas",
    "LNG",
    "summit",
    "budget",
    "tariffs",
    "strike",
    "talks",
    "agreement",
    "airport",
    "railway",
    "dam",
    "vaccine",
]
FILLER = [
    "the",
    "a",
    "of",
    "in",
    "on",
    "at",
    "to",
    "from",
    "after",
    "before",
    "amid",
    "over",
    "with",
    "new",
    "latest",
    "says",
    "report",
    "officials",
    "sources",
    "week",
    "day",
    "year",
    "more",
    "than",
]
WORDS = PLACES + ACTORS + VERBS + THINGS
COMMON_SHARE = 0.15  # share of headline words drawn from the watched pools, the rest is noise


def noise_word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghiklmnoprstuvyzéöç", k=rng.randint(3, 9)))


def sentence(rng: random.Random, n: int) -> str:
    pools = (PLACES, ACTORS, VERBS, THINGS)
    picks = [
        rng.choice(rng.choice(pools)) if rng.random() < COMMON_SHARE else
        rng.choice(FILLER) if rng.random() < 0.3 else noise_word(rng)
        for _ in range(n)
    ]  # fmt: skip
    return " ".join(picks).capitalize()


def make_headlines(rng: random.Random, n: int) -> list[dict]:
    return [
        {
            "id": f"h{i}",
            "feed": f"feed-{i % 40}",
            "source": f"Source {i % 40}",
            "title": sentence(rng, rng.randint(7, 13)),
            "summary": sentence(rng, rng.randint(20, 50)) + ".",
            "url": f"https://news{i % 40}.example/{i}",
            "published": None,
            "topics": [{"code": "medtop:16000000", "label": "conflict/war/peace", "score": 0.8}],
            "countries": [{"code": "AZ", "name": "Azerbaijan", "score": 0.9}],
            "regions": [{"name": "South Caucasus", "kind": "un", "countries": ["AZ", "AM"]}],
        }
        for i in range(n)
    ]


def make_rules(rng: random.Random, n: int) -> list[Rule]:
    raw = []
    for i in range(n):
        kind = i % 6
        rule: dict = {"name": f"rule-{i}"}
        if kind == 0:
            rule["any"] = [*rng.sample(WORDS, 3), rng.choice(WORDS)[:4] + "*"]
        elif kind == 1:
            rule["all"] = rng.sample(PLACES, 1)
            rule["any"] = rng.sample(THINGS, 3)
            rule["not"] = rng.sample(FILLER, 1)
        elif kind == 2:
            rule["all"] = [rng.choice(PLACES), rng.choice(ACTORS)]
            rule["near"] = 6
        elif kind == 3:
            terms = rng.sample(WORDS, 5)
            rule["weighted"] = {t: rng.choice([1, 2, 3]) for t in terms}
            rule["threshold"] = 4
        elif kind == 4:
            rule["any"] = [f"{rng.choice(ACTORS)} {rng.choice(VERBS)}", rng.choice(THINGS)]
            rule["regions"] = ["South Caucasus"]
        else:
            rule["any"] = rng.sample(PLACES, 2)
            rule["topics"] = ["conflict/war/peace"]
            if i % 30 == 5:  # a few regex rules, searched on every headline
                rule = {"name": f"rule-{i}", "regex": rf"\b{rng.choice(THINGS)}s?\b"}
        raw.append(rule)
    return load_rules(raw, source="bench")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--headlines", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(42)
    headlines = make_headlines(rng, args.headlines)
    rules = make_rules(rng, args.rules)

    compile_s = statistics.median(timed(lambda: Matcher(rules)) for _ in range(args.runs))
    matcher = Matcher(rules)
    matches = sum(len(matcher.match(h)) for h in headlines)  # warm-up, and a sanity count
    match_s = statistics.median(
        timed(lambda: [matcher.match(h) for h in headlines]) for _ in range(args.runs)
    )

    def assign_all() -> None:
        index = StoryIndex({}, timedelta(hours=48))
        t0 = datetime(2024, 11, 11, tzinfo=UTC)
        for i, h in enumerate(headlines):
            index.assign(h, t0 + timedelta(seconds=i))

    story_s = statistics.median(timed(assign_all) for _ in range(args.runs))
    n = len(headlines)
    print(f"rules: {len(rules)}  headlines: {n}  runs: {args.runs} (median)")
    print(f"compile rule set: {compile_s * 1000:.1f} ms")
    print(f"matching: {n / match_s:,.0f} headlines/s ({match_s / n * 1e6:.0f} us/headline),"
          f" {matches / n:.2f} matches/headline")  # fmt: skip
    print(f"story assignment: {n / story_s:,.0f} headlines/s ({story_s / n * 1e6:.0f} us/headline)")


if __name__ == "__main__":
    main()
