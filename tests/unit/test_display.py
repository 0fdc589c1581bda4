"""One-line forms of headlines for `wirewatch headlines` and `wirewatch run`."""

from streams.display import dumps, format_headline

HEADLINE = {"id": "ab12", "feed": "caliber-latest", "source": "caliber.az",
            "title": "Azerbaijan continues clearing Karabakh of mines",
            "url": "https://caliber.az/post/1", "summary": "",
            "published": "2024-05-01T16:02:00Z", "fetched_at": "2024-05-01T16:02:30Z"}


def test_headline_line_has_time_feed_title_and_url():
    assert format_headline(HEADLINE) == (
        "2024-05-01 16:02  [caliber-latest] Azerbaijan continues clearing Karabakh of mines"
        "  <https://caliber.az/post/1>")


def test_unpublished_headline_shows_fetch_time():
    assert format_headline({**HEADLINE, "published": None}).startswith("2024-05-01 16:02  [")


def test_classified_headline_adds_best_topic_and_regions():
    classified = {**HEADLINE, "topics": [{"label": "conflict/war/peace"}, {"label": "politics"}],
                  "region_names": ["Western Asia", "South Caucasus"]}
    second = format_headline(classified).splitlines()[1]
    assert second.strip() == "topic: conflict/war/peace | regions: Western Asia, South Caucasus"
    bare = format_headline({**HEADLINE, "topics": [], "region_names": []}).splitlines()[1]
    assert bare.strip() == "topic: - | regions: -"


def test_dumps_keeps_unicode_readable():
    assert dumps({"title": "Azərbaycan"}) == '{"title": "Azərbaycan"}'
