"""One-line forms of headlines for `wirewatch headlines` and `wirewatch run`."""

from streams.display import dumps, format_headline
from streams.records import ClassifiedHeadline, Headline, TopicLabel

HEADLINE = Headline(id="ab12", feed="caliber-latest", source="caliber.az",
                    title="Azerbaijan continues clearing Karabakh of mines",
                    url="https://caliber.az/post/1", summary="",
                    published="2024-05-01T16:02:00Z", fetched_at="2024-05-01T16:02:30Z")


def classified(topics: list[str], region_names: list[str]) -> ClassifiedHeadline:
    labels = [TopicLabel(code="medtop:0", label=label, score=0.5, evidence=[]) for label in topics]
    return ClassifiedHeadline(**HEADLINE.model_dump(), topics=labels, countries=[], regions=[],
                              region_names=region_names, language="en", classifier_version="1")


def test_headline_line_has_time_feed_title_and_url():
    assert format_headline(HEADLINE) == (
        "2024-05-01 16:02  [caliber-latest] Azerbaijan continues clearing Karabakh of mines"
        "  <https://caliber.az/post/1>")


def test_unpublished_headline_shows_fetch_time():
    unpublished = HEADLINE.model_copy(update={"published": None})
    assert format_headline(unpublished).startswith("2024-05-01 16:02  [")


def test_classified_headline_adds_best_topic_and_regions():
    full = classified(["conflict/war/peace", "politics"], ["Western Asia", "South Caucasus"])
    second = format_headline(full).splitlines()[1]
    assert second.strip() == "topic: conflict/war/peace | regions: Western Asia, South Caucasus"
    bare = format_headline(classified([], [])).splitlines()[1]
    assert bare.strip() == "topic: - | regions: -"


def test_dumps_keeps_unicode_readable():
    assert dumps({"title": "Azərbaycan"}) == '{"title": "Azərbaycan"}'


def test_dumps_prints_a_record_with_its_fields_in_wire_order():
    line = dumps(HEADLINE.model_copy(update={"title": "Azərbaycan"}))
    assert line.startswith('{"id": "ab12", "feed": "caliber-latest", "source": "caliber.az", '
                           '"title": "Azərbaycan", ')
