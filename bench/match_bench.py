"""Matching speed: classified headlines per second against 1,000 or 10,000 watch-list rules.

    .venv/bin/python bench/match_bench.py [--rules 1000] [--headlines 3000] [--runs 5]
        [--before REV] [--stories]

Headlines and rules are generated with a fixed seed, so runs are comparable. Headlines have
realistic lengths (~10-word titles, ~35-word summaries) and accented words; 15% of their words
come from small pools of common news words (places, actors, verbs, things), about 9% are
names drawn from 50,000 made-up names, the rest filler and noise words. Rules are of six
kinds (any with a prefix, all+any+not, near, weighted, phrase with a region filter, any with a
topic filter, and one regex-only rule in 30); each watches names, so as with real watch-lists
a headline matches a handful of rules whatever their number.

Prints the median of ``--runs`` timed passes (after one warm-up pass; CPU time of this
process, since the machine is shared: wall time would count other jobs) and the time to compile
the rule set. ``--before REV`` times the matcher of git revision ``REV`` on the same data in
the same run, checks both find exactly the same matches, and prints the ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import types
from dataclasses import astuple
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
COMMON_SHARE = 0.15  # share of headline words drawn from the common pools above
NAME_SHARE = 0.1  # of the rest: share of names (some of them watched), then filler and noise
NAMES = 50_000  # distinct names in the news; rules watch some of them


def noise_word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghiklmnoprstuvyzéöç", k=rng.randint(3, 9)))


def sentence(rng: random.Random, n: int, names: list[str]) -> str:
    pools = (PLACES, ACTORS, VERBS, THINGS)
    picks = [
        rng.choice(rng.choice(pools)) if rng.random() < COMMON_SHARE else
        rng.choice(names) if rng.random() < NAME_SHARE else
        rng.choice(FILLER) if rng.random() < 0.3 else noise_word(rng)
        for _ in range(n)
    ]  # fmt: skip
    return " ".join(picks).capitalize()


def make_headlines(rng: random.Random, n: int, names: list[str]) -> list[dict]:
    return [
        {
            "id": f"h{i}",
            "feed": f"feed-{i % 40}",
            "source": f"Source {i % 40}",
            "title": sentence(rng, rng.randint(7, 13), names),
            "summary": sentence(rng, rng.randint(20, 50), names) + ".",
            "url": f"https://news{i % 40}.example/{i}",
            "published": None,
            "topics": [{"code": "medtop:16000000", "label": "conflict/war/peace", "score": 0.8}],
            "countries": [{"code": "AZ", "name": "Azerbaijan", "score": 0.9}],
            "regions": [{"name": "South Caucasus", "kind": "un", "countries": ["AZ", "AM"]}],
        }
        for i in range(n)
    ]


def make_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct made-up proper names: the entities, places and people rules watch."""
    names: set[str] = set()
    while len(names) < n:
        names.add(noise_word(rng).capitalize() + rng.choice(["", "ov", "ia", "stan", "er"]))
    return sorted(names)


def make_rules(rng: random.Random, n: int, names: list[str]) -> list[Rule]:
    """Six kinds of rule in turn; each watches at least one name, as real watch-lists do."""
    raw = []
    for i in range(n):
        kind = i % 6
        rule: dict = {"name": f"rule-{i}"}
        if kind == 0:
            rule["any"] = [*rng.sample(names, 3), rng.choice(names)[:5] + "*"]
        elif kind == 1:
            rule["all"] = [rng.choice(names)]
            rule["any"] = rng.sample(THINGS, 3)
            rule["not"] = rng.sample(FILLER, 1)
        elif kind == 2:
            rule["all"] = [rng.choice(names), rng.choice(ACTORS)]
            rule["near"] = 6
        elif kind == 3:
            rule["weighted"] = {**{t: 1 for t in rng.sample(WORDS, 3)},
                                **{t: 3 for t in rng.sample(names, 2)}}
            rule["threshold"] = 4
        elif kind == 4:
            rule["any"] = [f"{rng.choice(ACTORS)} {rng.choice(names)}", rng.choice(names)]
            rule["regions"] = ["South Caucasus"]
        elif i % 30 == 5:  # regex-only rules, 1 in 30
            rule["regex"] = rf"\b{rng.choice(names)}s?\b"
        else:
            rule["any"] = rng.sample(names, 2)
            rule["topics"] = ["conflict/war/peace"]
        raw.append(rule)
    return load_rules(raw, source="bench")


def timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def load_matcher(revision: str) -> type:
    """The ``Matcher`` class of ``agents/alerts/matcher.py`` as it was at git ``revision``."""
    source = subprocess.run(["git", "show", f"{revision}:agents/alerts/matcher.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"matcher_at_{revision}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:agents/alerts/matcher.py", "exec"), module.__dict__)
    return module.Matcher


def comparable(results: list[list]) -> list[list[tuple]]:
    """Matches as plain tuples: the two versions' dataclasses never compare equal."""
    return [[(m.rule, [astuple(t) for t in m.matched], m.score) for m in r] for r in results]


def measure(matcher_class: type, rules: list[Rule], headlines: list[dict], runs: int) -> dict:
    compile_s = statistics.median(timed(lambda: matcher_class(rules)) for _ in range(runs))
    matcher = matcher_class(rules)
    results = [matcher.match(h) for h in headlines]  # warm-up, and the results compared
    match_s = statistics.median(
        timed(lambda: [matcher.match(h) for h in headlines]) for _ in range(runs))
    return {"compile_s": compile_s, "match_s": match_s, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--headlines", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", metavar="REV",
                        help="also time the matcher of this git revision, in the same run")
    parser.add_argument("--stories", action="store_true", help="also time story assignment")
    args = parser.parse_args()
    rng = random.Random(42)
    names = make_names(rng, NAMES)
    headlines = make_headlines(rng, args.headlines, names)
    rules = make_rules(rng, args.rules, names)
    n = len(headlines)
    print(f"rules: {len(rules)}  headlines: {n}  runs: {args.runs} (median)")
    now = measure(Matcher, rules, headlines, args.runs)
    versions = [("now", now)]
    if args.before:
        before = measure(load_matcher(args.before), rules, headlines, args.runs)
        regex_rules = {r.name for r in rules if r.regex}
        differ = [name for a, b in zip(comparable(before["results"]),
                                       comparable(now["results"]), strict=True)
                  for name in {x[0] for x in a} ^ {x[0] for x in b} | {
                      x[0] for x in a if x not in b}]
        versions.insert(0, (f"before ({args.before})", before))
        print(f"matches that differ from before: {len(differ)}, all of regex rules: "
              f"{set(differ) <= regex_rules} (RE2's \\b and \\w are ASCII: see README)")
    for label, result in versions:
        matches = sum(map(len, result["results"]))
        print(f"{label}: {n / result['match_s']:,.0f} headlines/s "
              f"({result['match_s'] / n * 1e6:.1f} us/headline), {matches / n:.2f} "
              f"matches/headline, compile {result['compile_s'] * 1000:.0f} ms")
    if args.before:
        print(f"speed-up (same run): {versions[0][1]['match_s'] / now['match_s']:.1f}x")
    if args.stories:
        def assign_all() -> None:
            index = StoryIndex({}, timedelta(hours=48))
            t0 = datetime(2024, 11, 11, tzinfo=UTC)
            for i, h in enumerate(headlines):
                index.assign(h, t0 + timedelta(seconds=i))

        story_s = statistics.median(timed(assign_all) for _ in range(args.runs))
        print(f"story assignment: {n / story_s:,.0f} headlines/s "
              f"({story_s / n * 1e6:.0f} us/headline)")


if __name__ == "__main__":
    main()
