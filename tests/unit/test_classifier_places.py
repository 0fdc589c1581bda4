"""Places that real headlines name: the feed's `country:` prior, institutions and
office-holders as metonyms, and second-level subdivisions and shared town names that only a
prior resolves. The prior travels from the feed config through the classify agent."""

import pytest

from agents.classify import Classifier
from agents.classify.agent import classify_headlines_batch
from streams.config import FeedConfig
from streams.records import Headline


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def countries(clf: Classifier, title: str, prior: str | None = None) -> list[tuple[str, list]]:
    return [(c.code, c.evidence) for c in clf.classify(title, "", prior).countries]


def test_prior_resolves_a_county_or_town_only_its_country_has(clf):
    assert countries(clf, "Shropshire farm fire spreads to woodland") == []
    assert countries(clf, "Shropshire farm fire spreads to woodland", "GB") == \
        [("GB", ["Shropshire"])]
    assert countries(clf, "Exeter council approves 300 new homes", "GB") == [("GB", ["Exeter"])]
    assert countries(clf, "Exeter council approves 300 new homes", "US") == []


def test_prior_picks_among_countries_that_share_a_name(clf):
    assert countries(clf, "Norfolk police appeal after crash") == [("NF", ["Norfolk"])]
    assert countries(clf, "Norfolk police appeal after crash", "GB") == [("GB", ["Norfolk"])]


def test_prior_alone_never_tags_a_headline(clf):
    for prior in ("GB", "US", "FR", None):
        assert countries(clf, "Newly qualified nurse 'scared for her future'", prior) == []


def test_prior_does_not_override_a_named_country(clf):
    assert countries(clf, "Azerbaijan continues clearing Karabakh of mines", "GB") == \
        [("AZ", ["Azerbaijan", "Karabakh"])]


def test_institutions_and_parties_are_metonyms_with_evidence(clf):
    assert countries(clf, "Met Police officer charged with misconduct") == \
        [("GB", ["Met Police"])]
    assert countries(clf, "DUP refuses to return to Stormont") == \
        [("GB", ["DUP", "Stormont"])]
    assert countries(clf, "Supreme Court overturns Roe v Wade") == \
        [("US", ["Roe v Wade", "Supreme Court"])]
    assert countries(clf, "Senate Republicans block border bill") == \
        [("US", ["Senate", "Republicans"])]


def test_institutions_that_many_countries_have_need_a_cue_or_a_prior(clf):
    assert countries(clf, "MPs vote on assisted dying bill") == []
    assert countries(clf, "MPs vote on assisted dying bill", "GB") == [("GB", ["MPs"])]
    assert countries(clf, "Supreme Court rules on pension case") == []
    assert countries(clf, "Supreme Court rules on pension case", "IN") == \
        [("IN", ["Supreme Court"])]
    assert countries(clf, "Sweden Democrats gain seats") == [("SE", ["Sweden"])]


def test_office_holders_name_their_country(clf):
    assert countries(clf, "Rishi Sunak promises cost of living help") == \
        [("GB", ["Rishi Sunak"])]


def test_feed_config_takes_an_iso_country():
    feed = FeedConfig(name="bbc-uk", url="https://example.org/rss", country="GB")
    assert feed.country == "GB"
    assert FeedConfig(name="x", url="https://example.org/rss").country is None
    for bad in ("UK", "gb", "GBR", "ZZ"):
        with pytest.raises(ValueError, match="ISO 3166-1 alpha-2"):
            FeedConfig(name="x", url="https://example.org/rss", country=bad)


def test_agent_passes_each_feeds_country_to_the_classifier(clf):
    def headline(feed: str) -> Headline:
        return Headline(id=f"id-{feed}", feed=feed, source="example.org",
                        title="Exeter council approves 300 new homes",
                        url=f"https://example.org/{feed}", summary="", published=None,
                        fetched_at="2026-12-04T22:00:00Z")

    records = [r.model_dump() for r in classify_headlines_batch(
        clf, [headline("uk-local"), headline("world")], {"uk-local": "GB"})]
    assert [r["countries"][0]["code"] for r in records[:1]] == ["GB"]
    assert records[0]["countries"][0]["evidence"] == ["Exeter"]
    assert records[1]["countries"] == []
    assert records[0]["feed"] == "uk-local" and records[0]["classifier_version"]
