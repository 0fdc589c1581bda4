"""The compiled matcher: boundaries, wildcards, boolean logic, near, weights, Unicode, filters."""

import functools
from datetime import UTC, datetime

import pytest

from agents.alerts.folding import fold, words
from agents.alerts.matcher import Matcher, match_rule
from agents.alerts.records import build_alert
from agents.alerts.regex import compile_regex
from agents.alerts.rules import load_rules
from agents.alerts.stories import StoryAssignment


def rule(**fields):
    return load_rules([{"name": "r", **fields}], source="test")[0]


def headline(title: str, summary: str = "", **extra) -> dict:
    return {"id": "h1", "feed": "f1", "source": "Example", "title": title, "summary": summary,
            "url": "https://example.org/a", "published": None, **extra}  # fmt: skip


def hits(r, title: str, summary: str = "", **extra) -> bool:
    return match_rule(r, headline(title, summary, **extra)) is not None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Talks resume at COP29 in Baku", True),
        ("COP 29 opens", True),
        ("cop-29: day one", True),
        ("(COP29)", True),
        ("COP290 is not a thing", False),
        ("XCOP29 neither", False),
        ("COP2 nine", False),
    ],
)
def test_word_boundaries_and_phrase_spellings(title, expected):
    assert hits(rule(any=["COP29", "COP 29"]), title) is expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("UN peacekeepers arrive", True),
        ("Peacekeeping mission extended", True),
        ("A peacekeeper was hurt", True),
        ("Peace keepers", False),
        ("Nonpeacekeepers", False),
    ],
)
def test_prefix_wildcard(title, expected):
    assert hits(rule(any=["peacekeep*"]), title) is expected


def test_wildcard_on_last_word_of_a_phrase():
    r = rule(any=["troops withdr*"])
    assert hits(r, "Troops withdrawing from the border")
    assert not hits(r, "Troops will withdraw")
    assert not hits(r, "Troops")


def test_any_all_not():
    r = rule(all=["Karabakh"], any=["mines", "troops"], **{"not": ["football"]})
    assert hits(r, "Karabakh: troops on the move")
    assert not hits(r, "Karabakh talks continue")  # no `any` term
    assert not hits(r, "Troops on the move")  # no `all` term
    assert not hits(r, "Karabakh troops", "A football match")  # `not` anywhere excludes


def test_terms_may_be_split_between_title_and_summary():
    r = rule(all=["Karabakh", "ceasefire"])
    assert hits(r, "Karabakh update", "The ceasefire holds")


def test_near_counts_words_between_first_words():
    r = rule(all=["Karabakh"], any=["mine*"], near=3)
    assert hits(r, "Karabakh: new mines found")  # 2 apart
    assert hits(r, "Karabakh: three new mines")  # 3 apart
    assert not hits(r, "Karabakh: three more new mines")  # 4 apart
    assert hits(r, "Mines cleared near Karabakh")  # either order
    assert not hits(r, "Karabakh talks", "mines found")  # different fields never count as near


def test_near_finds_the_close_pair_among_many_occurrences():
    r = rule(all=["Karabakh", "Armenia"], near=2)
    title = "Karabakh, far away words here then Armenia and Karabakh again"
    assert hits(r, title)  # "Armenia and Karabakh" is the close pair
    assert not hits(r, "Karabakh far far away words here Armenia")


def test_weighted_threshold_counts_distinct_terms_once():
    r = rule(weighted={"pipeline": 2, "gas": 1, "LNG": 2, "Shah Deniz": 3}, threshold=3)
    assert not hits(r, "Gas prices rise", "gas gas gas")  # 1, however often it occurs
    assert hits(r, "Gas pipeline opens")  # 2 + 1
    assert hits(r, "Shah Deniz expansion")  # 3
    m = match_rule(r, headline("LNG and gas via the pipeline"))
    assert m is not None
    assert m.score == 5


def test_negative_weights_pull_below_threshold():
    r = rule(weighted={"gas": 2, "pipeline": 2, "football": -3}, threshold=3)
    assert hits(r, "Gas pipeline")
    assert not hits(r, "Gas pipeline football")


def test_case_accent_and_unicode_insensitive():
    assert hits(rule(any=["Nagorno-Karabakh"]), "NAGÓRNO KARABAKH latest")
    assert hits(rule(any=["Škoda"]), "skoda recalls cars")
    assert hits(rule(any=["Sao Paulo"]), "São Paulo floods")
    assert hits(rule(any=["Straße"]), "STRASSE closed")
    assert hits(rule(any=["Киев*"]), "Киевский вокзал")
    assert hits(rule(any=["cafe"]), "cafe\u0301 bombing")  # decomposed accent
    assert hits(rule(any=["ΑΘΗΝΑ"]), "Αθήνα σήμερα")
    assert not hits(rule(any=["Киев"]), "Киевский вокзал")


def test_spans_point_into_the_original_text():
    title = "Ça va: l'Élysée and NAGÓRNO-Karabakh peacekeepers"
    m = match_rule(rule(any=["nagorno karabakh", "peacekeep*", "elysee"]), headline(title))
    assert m is not None
    texts = [(t.term, t.field, title[t.start : t.end], t.text) for t in m.matched]
    assert texts == [
        ("elysee", "title", "Élysée", "Élysée"),
        ("nagorno karabakh", "title", "NAGÓRNO-Karabakh", "NAGÓRNO-Karabakh"),
        ("peacekeep*", "title", "peacekeepers", "peacekeepers"),
    ]


def test_spans_survive_characters_that_fold_to_several_or_none():
    title = "Straße ﬁre: cafe\u0301 peacekeepers in Nagorno"
    m = match_rule(rule(any=["peacekeepers", "cafe", "fire", "Nagorno"]), headline(title))
    assert m is not None
    assert [title[t.start : t.end] for t in m.matched] == [
        "ﬁre",
        "cafe\u0301",
        "peacekeepers",
        "Nagorno",
    ]


def test_regex_is_case_insensitive_and_reports_spans():
    r = rule(regex=r"\bcop\s?\d{2}\b")
    m = match_rule(r, headline("Day two of Cop 29", "no match here"))
    assert m is not None
    assert [(t.field, t.text) for t in m.matched] == [("title", "Cop 29")]
    assert not hits(r, "COP290")


def test_regex_combined_with_terms_must_both_hold():
    r = rule(any=["Baku"], regex=r"\d{4}")
    assert hits(r, "Baku 2024")
    assert not hits(r, "Baku today")
    assert not hits(r, "Paris 2024")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"regions": ["south caucasus"]}, True),
        ({"regions": ["Central Asia"]}, False),
        ({"topics": ["conflict/war/peace"]}, True),
        ({"topics": ["MEDTOP:16000000"]}, True),
        ({"topics": ["sport"]}, False),
        ({"countries": ["az"]}, True),
        ({"countries": ["Azerbaijan"]}, True),
        ({"countries": ["FR"]}, False),
        ({"feeds": ["F1"]}, True),
        ({"feeds": ["other"]}, False),
        ({"feeds": ["f1"], "regions": ["Central Asia"]}, False),
    ],
)
def test_classification_filters(filters, expected):
    h = headline(
        "Baku talks",
        topics=[{"code": "medtop:16000000", "label": "conflict/war/peace", "score": 1}],
        countries=[{"code": "AZ", "name": "Azerbaijan"}],
        regions=[{"name": "South Caucasus", "kind": "un", "countries": ["AZ"]}],
    )
    assert (match_rule(rule(any=["Baku"], **filters), h) is not None) is expected


def test_many_rules_share_terms_and_keep_rule_order():
    rules = load_rules(
        [
            {"name": "a", "any": ["gas"]},
            {"name": "b", "any": ["gas*"], "severity": "high"},
            {"name": "c", "any": ["oil"]},
            {"name": "d", "all": ["gas", "Baku"]},
        ],
        source="test",
    )
    matcher = Matcher(rules)
    assert len(matcher) == 4
    found = matcher.match(headline("Gas from Baku", "gasoline too"))
    assert [(m.rule, m.severity) for m in found] == [
        ("a", "medium"),
        ("b", "high"),
        ("d", "medium"),
    ]
    b = found[1]
    assert [t.text for t in b.matched] == ["Gas", "gasoline"]


def test_missing_title_or_summary_is_empty_text():
    r = rule(any=["Baku"])
    assert match_rule(r, {"title": None, "summary": "In Baku"}) is not None
    assert match_rule(r, {}) is None


def test_fold_and_words():
    assert fold("Ǆemal ﬁnds Straße") == "dzemal finds strasse"
    assert words("COP_29, l'Élysée; 日本語!") == ["cop", "29", "l", "elysee", "日本語"]


def test_build_alert_record():
    r = rule(any=["peacekeep*"], severity="high")
    h = headline(
        "Peacekeepers leave",
        topics=[{"code": "medtop:16000000", "label": "conflict/war/peace"}],
        countries=[{"code": "AZ", "name": "Azerbaijan"}],
        regions=[{"name": "South Caucasus"}],
    )
    m = match_rule(r, h)
    assert m is not None
    now = datetime(2024, 11, 11, 9, 30, tzinfo=UTC)
    story = StoryAssignment("s1", True, 1, True, None, now)
    alert = build_alert(m, h, story, detected_at=now)
    assert alert["rule"] == "r"
    assert alert["severity"] == "high"
    assert alert["kind"] == "match"
    assert alert["matched"] == [
        {"term": "peacekeep*", "field": "title", "start": 0, "end": 12, "text": "Peacekeepers"}
    ]
    assert alert["topics"] == ["conflict/war/peace"]
    assert alert["regions"] == ["South Caucasus"]
    assert alert["countries"] == ["AZ"]
    assert alert["detected_at"] == "2024-11-11T09:30:00+00:00"
    assert alert["update"] is False
    assert alert["schema_version"] == 1
    again = build_alert(m, h, story, detected_at=now.replace(minute=31))
    assert again["alert_id"] == alert["alert_id"]  # deterministic: replays keep the id
    later = StoryAssignment("s1", False, 2, True, "url", now)
    update = build_alert(m, h, later, detected_at=now, update=True)
    assert update["update"] is True
    assert update["sources_count"] == 2
    assert update["alert_id"] != alert["alert_id"]


def test_many_regex_rules_share_one_search_and_keep_rule_order():
    # more regex-only rules than one RE2 set holds, mixed with term rules
    from agents.alerts.regex import SET_CHUNK

    raw = [{"name": f"re{i}", "regex": rf"\bcode{i}\b"} for i in range(SET_CHUNK + 50)]
    raw.insert(70, {"name": "terms", "any": ["code7"], "regex": r"\d"})
    matcher = Matcher(load_rules(raw, source="test"))
    last = f"code{SET_CHUNK + 49}"
    found = matcher.match(headline(f"CODE7 and {last} today", "also code70, not code1500"))
    assert [m.rule for m in found] == ["re7", "terms", "re70", f"re{SET_CHUNK + 49}"]
    assert [(t.field, t.text) for t in found[2].matched] == [("summary", "code70")]
    assert matcher.match(headline("code1500 only")) == []


def test_regex_letters_of_every_script_with_unicode_classes():
    r = rule(regex=r"\bnagorno\W+\pL+")
    m = match_rule(r, headline("NAGORNO-KARABAKH: Ğəncə"))
    assert m is not None and m.matched[0].text == "NAGORNO-KARABAKH"
    assert hits(rule(regex=r"\pL+\s\d{4}"), "Баку 2024")


# --- the matcher against a naive reference on many generated rules and headlines ---

VOCAB = ["gas", "gaza", "baku", "cop", "29", "peace", "peacekeepers", "troops", "mines",
         "Škoda", "São", "Paulo", "straße", "киев", "киевский", "talks", "ceasefire"]


@functools.cache
def _compiled(regex: str):
    return compile_regex(regex)


def _naive_places(term: str, tokens: list[str]) -> list[int]:
    """Word indices where ``term`` starts in ``tokens``, by brute force."""
    prefix = term.rstrip().endswith("*")
    want = list(words(term.rstrip().removesuffix("*")))
    places = []
    for i in range(len(tokens) - len(want) + 1):
        window = tokens[i : i + len(want)]
        if window[:-1] == want[:-1] and (window[-1].startswith(want[-1]) if prefix
                                         else window[-1] == want[-1]):
            places.append(i)
    return places


def _naive_match(r, h) -> bool:
    if r.feeds and h["feed"].casefold() not in {f.casefold() for f in r.feeds}:
        return False
    fields = [words(h.get(name) or "") for name in ("title", "summary")]
    places = {t: [(f, i) for f, toks in enumerate(fields) for i in _naive_places(t, toks)]
              for t in (*r.any_terms, *r.all_terms, *r.not_terms, *r.weighted)}
    occurs = {t: bool(p) for t, p in places.items()}
    if any(occurs[t] for t in r.not_terms) or not all(occurs[t] for t in r.all_terms):
        return False
    if r.any_terms and not any(occurs[t] for t in r.any_terms):
        return False
    if r.weighted:
        by_tokens = {}
        for t, w in r.weighted.items():  # same words twice: the last spelling's weight counts
            by_tokens[(tuple(words(t.rstrip("*"))), t.rstrip().endswith("*"))] = (t, w)
        if sum(w for t, w in by_tokens.values() if occurs[t]) < r.threshold:
            return False
    if r.regex and not any(_compiled(r.regex).search(h.get(n) or "")
                           for n in ("title", "summary")):
        return False
    if r.near is not None:
        groups = [places[t] for t in r.all_terms]
        if r.any_terms:
            groups.append([p for t in r.any_terms for p in places[t]])
        starts = [p for g in groups for p in g]  # a window [i0, i0 + near] in one field
        return any(all(any(f == f0 and i0 <= i <= i0 + r.near for f, i in g) for g in groups)
                   for f0, i0 in starts)
    return True


def _random_rule(rng, i):
    def term():
        t = " ".join(rng.sample(VOCAB, rng.choice([1, 1, 1, 2])))
        return t[:3] + "*" if rng.random() < 0.2 and len(t) > 3 and " " not in t[:3] else t

    kind = rng.randrange(5)
    raw = {"name": f"r{i}"}
    if kind in (0, 1):
        raw["any"] = [term() for _ in range(rng.randint(1, 3))]
    if kind in (1, 2):
        raw["all"] = [term() for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.4 and len(raw["all"]) + ("any" in raw) >= 2:
            raw["near"] = rng.randint(1, 4)
    if kind == 3:
        raw["weighted"] = {term(): rng.choice([1, 2, 3, -2]) for _ in range(4)}
        raw["threshold"] = rng.choice([2, 3, 4])
    if kind == 4 or rng.random() < 0.1:
        raw["regex"] = rng.choice([r"\d+", r"gaza|baku", r"(a+)+$", r"peace\w*\s+talks"])
    if rng.random() < 0.3:
        raw["not"] = [term()]
    if rng.random() < 0.2:
        raw["feeds"] = [rng.choice(["f1", "f2"])]
    return raw


def test_matches_exactly_what_a_naive_reference_finds():
    import random

    rng = random.Random(7)
    rules = load_rules([_random_rule(rng, i) for i in range(200)], source="generated")
    matcher = Matcher(rules)
    total = 0
    for n in range(200):
        h = headline(" ".join(rng.choices([*VOCAB, "x", "COP-29", "aaaa"], k=rng.randint(1, 9))),
                     " ".join(rng.choices(VOCAB, k=rng.randint(0, 12))),
                     feed=rng.choice(["f1", "f2"]))
        h["id"] = f"h{n}"
        expected = [r.name for r in rules if _naive_match(r, h)]
        assert [m.rule for m in matcher.match(h)] == expected, h
        total += len(expected)
    assert total > 500  # the generated cases do match, often
