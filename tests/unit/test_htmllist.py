"""HtmlSelectors validation and parse_html_list on list pages (the caliber.az seed)."""

import json
import logging
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.feeds.entries import headline_id
from streams.feeds.errors import FeedParseError, SelectorMatchedNothing
from streams.feeds.htmllist import HtmlSelectors, parse_html_list

DATA = Path(__file__).parent.parent / "data" / "feeds"
BASE = "https://caliber.az/en/post/some-article-230001/"
CALIBER = HtmlSelectors(
    item=".latest-news .news-item",
    title=".news-title",
    summary=".news-subtitle",
    published=".news-date",
    timezone="Asia/Baku",
)


def seed() -> list[dict]:
    text = resources.files("streams.demo").joinpath("seed_headlines.json").read_text("utf-8")
    return json.loads(text)


def test_caliber_latest_news_matches_the_seed_list():
    body = (DATA / "caliber-latest.html").read_bytes()
    entries = parse_html_list(body, base_url=BASE, select=CALIBER, feed="caliber")
    expected = seed()
    assert len(expected) == 40
    assert [e.title for e in entries] == [h["title"] for h in expected]
    assert [e.summary for e in entries] == [h["subline"] or "" for h in expected]
    assert [e.published for e in entries] == [
        datetime.fromisoformat(h["time"]).astimezone(UTC) for h in expected
    ]
    first = entries[0]
    assert (
        first.url
        == "https://caliber.az/en/post/europeans-have-more-time-americans-more-money-230500/"
    )
    assert first.published == datetime(2024, 5, 1, 19, 1, tzinfo=UTC)
    assert all(e.id == headline_id(e.url) for e in entries)
    assert len({e.url for e in entries}) == 40
    assert entries[4].title == "Why is Bob ‘Gold Bars’ Menendez still sitting in US Senate?"


def test_explicit_date_format_gives_the_same_times():
    select = CALIBER.model_copy(update={"date_format": "%d %B %Y - %H:%M"})
    body = (DATA / "caliber-latest.html").read_bytes()
    tolerant = parse_html_list(body, base_url=BASE, select=CALIBER, feed="caliber")
    strict = parse_html_list(body, base_url=BASE, select=select, feed="caliber")
    assert [e.published for e in strict] == [e.published for e in tolerant]
    assert strict[-1].published == datetime(2024, 5, 1, 10, 1, tzinfo=UTC)


def test_item_that_is_a_link_time_datetime_attribute_and_base_href(caplog):
    body = b"""<html><head><base href="https://mirror.example.org/news/"></head><body>
      <a class="row" href="a?utm_source=x"><b>Alpha</b><time datetime="2024-05-01T23:01:00+04:00">
        yesterday</time></a>
      <a class="row" href="b"><b>Beta</b><time>sometime soon</time></a>
      <a class="row" href="javascript:void(0)"><b>Not a web link</b></a>
      <a class="row" href="c"><b>  </b></a>
    </body></html>"""
    select = HtmlSelectors(item="a.row", title="b", published="time", timezone="Europe/Paris")
    with caplog.at_level(logging.WARNING, logger="streams.feeds.htmllist"):
        alpha, beta = parse_html_list(body, base_url=BASE, select=select, feed="rows")
    assert (alpha.title, alpha.url) == ("Alpha", "https://mirror.example.org/news/a")
    assert alpha.published == datetime(2024, 5, 1, 19, 1, tzinfo=UTC)
    assert (beta.url, beta.published) == ("https://mirror.example.org/news/b", None)
    assert "feed_dates_unparseable feed=rows unparseable=1 entries=2" in caplog.text
    assert 'example="sometime soon"' in caplog.text


def test_naive_times_use_the_configured_zone():
    body = """<ul><li><a href="/x">Ré</a><span>1 Jan 2024 09:00</span></li>
              <li><a href="/y">Été</a><span>1 Jul 2024 09:00</span></li></ul>""".encode()
    select = HtmlSelectors(item="li", title="a", published="span", timezone="Europe/Paris")
    winter, summer = parse_html_list(body, base_url="https://e.fr/", select=select, feed="fr")
    assert winter.published == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)  # CET, +1
    assert summer.published == datetime(2024, 7, 1, 7, 0, tzinfo=UTC)  # CEST, +2
    assert (winter.title, winter.summary) == ("Ré", "")


def test_explicit_link_selector():
    body = b"""<div class="it"><a href="/tag/politics">Politics</a>
                 <h2><a class="go" href="/story/9">Story nine</a></h2></div>"""
    default = HtmlSelectors(item=".it", title="h2")
    chosen = HtmlSelectors(item=".it", title="h2", link="h2")  # no href: its first a[href]
    [by_default] = parse_html_list(body, base_url="https://e.com/", select=default, feed="f")
    [by_link] = parse_html_list(body, base_url="https://e.com/", select=chosen, feed="f")
    assert by_default.url == "https://e.com/tag/politics"
    assert by_link.url == "https://e.com/story/9"


def test_item_selector_matching_nothing_is_loud():
    body = (DATA / "redesigned-page.html").read_bytes()
    with pytest.raises(SelectorMatchedNothing) as info:
        parse_html_list(body, base_url=BASE, select=CALIBER, feed="caliber")
    assert str(info.value) == (
        "feed 'caliber': selector 'item' ('.latest-news .news-item') matched nothing"
    )
    assert isinstance(info.value, FeedParseError)


def test_items_without_title_and_link_are_loud():
    body = (DATA / "redesigned-page.html").read_bytes()
    select = HtmlSelectors(item="li.card", title=".card__headline", published="time")
    expected = (
        r"matched 2 items but none had a title \('.card__headline'\) and a link \('default'\)"
    )
    with pytest.raises(SelectorMatchedNothing, match=expected):
        parse_html_list(body, base_url=BASE, select=select, feed="caliber")


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"item": "li[", "title": "a"}, "item", "invalid CSS selector 'li['"),
        ({"item": "li", "title": "a >"}, "title", "invalid CSS selector 'a >'"),
        ({"item": "li", "title": "a", "published": ""}, "published", "invalid CSS selector"),
        ({"item": "li", "title": "a", "timezone": "Asia/Bakuu"}, "timezone", "Asia/Bakuu"),
        ({"item": "li", "title": "a", "date_format": "dd MM"}, "date_format", "%-directive"),
        ({"item": "li", "title": "a", "titel": "h2"}, "titel", "Extra inputs"),
        ({"title": "a"}, "item", "Field required"),
    ],
)
def test_selector_config_errors_name_the_field(fields, where, message):
    with pytest.raises(ValidationError) as info:
        HtmlSelectors(**fields)
    [error] = info.value.errors()
    assert error["loc"] == (where,)
    assert message in error["msg"]


def test_selectors_are_frozen():
    with pytest.raises(ValidationError):
        CALIBER.item = "li"
