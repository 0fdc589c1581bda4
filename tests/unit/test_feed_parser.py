"""parse_feed on real feed bytes: RSS 0.91/1.0/2.0, Atom, JSON Feed, broken and non-feeds."""

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.feeds.entries import Entry, headline_id
from streams.feeds.errors import FeedParseError
from streams.feeds.parser import parse_feed
from streams.feeds.parsing import parse_document

DATA = Path(__file__).parent.parent / "data" / "feeds"
BASE = "https://feeds.example.com/x/feed.xml"


def parse(name: str, content_type: str | None = None) -> list[Entry]:
    body = (DATA / name).read_bytes()
    return parse_feed(body, base_url=BASE, feed=name, content_type=content_type)


def test_rss2_guid_canonical_url_summary_and_utc_dates():
    first, second, third = parse("rss2.xml", "application/rss+xml; charset=utf-8")
    assert first == Entry(
        id=headline_id("urn:example:wire:1001"),
        title="Central bank holds rates at 5.25%",
        url="https://news.example.com/markets/rates-hold?id=42",
        summary="The bank kept its key rate unchanged for a sixth meeting.",
        published=datetime(2024, 5, 1, 19, 1, tzinfo=UTC),
    )
    assert second.id == headline_id("https://news.example.com/weather/storm")
    assert second.published == datetime(2024, 5, 1, 18, 30, tzinfo=UTC)
    # no guid: the id key is the canonical URL; dc:date counts as the date
    assert third.id == headline_id("https://news.example.com/politics/budget")
    assert third.published == datetime(2024, 5, 1, 17, 0, tzinfo=UTC)


def test_rss091_declared_latin1():
    [entry] = parse("rss091.xml")
    assert entry.title == "Café owners protest new tax"
    assert entry.summary == "Owners of small cafés marched on Monday."
    assert entry.url == "http://old.example.org/story/7"
    assert entry.published is None


def test_atom_xml_base_html_title_and_updated_fallback():
    first, second = parse("atom.xml")
    assert first.title == "Rust & Python: friends"
    assert first.url == "https://blog.example.net/posts/rust-python"
    assert first.id == headline_id("tag:blog.example.net,2024:post-1")
    assert first.published == datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    assert second.summary == "Body from content."  # no <summary>: first <content>
    assert second.published == datetime(2024, 5, 1, 0, 59, 59, tzinfo=UTC)


def test_rss1_rdf():
    first, second = parse("rdf.xml")
    assert [first.title, second.title] == ["First RDF story", "Second RDF story"]
    assert first.id == headline_id("https://rdf.example.org/a/1")  # rdf:about is the id
    assert first.published == datetime(2024, 5, 1, 5, 15, tzinfo=UTC)
    assert second.published is None


@pytest.mark.parametrize("content_type", [None, "application/feed+json"])
def test_json_feed(content_type):
    elections, elsewhere, micro = parse("jsonfeed.json", content_type)
    assert elections == Entry(
        id=headline_id("2347259"),
        title="Elections called for June",
        url="https://feeds.example.com/2024/05/01/elections?page=2",
        summary="The president set the date.",
        published=datetime(2024, 5, 1, 19, 1, tzinfo=UTC),
    )
    assert elsewhere.id == headline_id("17")  # numeric 1.0-style id, stringified
    assert elsewhere.url == "https://other.example.org/story"
    assert elsewhere.summary == "Plain body text."
    assert elsewhere.published == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert (micro.title, micro.url) == ("", "https://json.example.com/micro/1")


def test_latin1_bytes_declared_utf8_still_parse():
    first, second = parse("latin1-declared-utf8.xml", "text/xml; charset=utf-8")
    assert first.title == "Café opens in München"
    assert second.url == "https://latin.example.de/second"


def test_missing_fields_relative_links_and_entities(caplog):
    with caplog.at_level(logging.DEBUG, logger="streams.feeds.parser"):
        tom, guid_link, guid_text, link_only = parse("missing-fields.xml")
    assert tom.title == "Tom & Jerry’s new show"
    assert tom.url == "https://feeds.example.com/shows/tom-and-jerry?season=2"
    assert tom.id == headline_id(tom.url)
    assert guid_link.url == "https://sloppy.example.com/guid-link"
    assert (guid_text.url, guid_text.id) == ("", headline_id("sloppy-0042"))
    assert link_only.url == "https://feeds.example.com/x/relative/only-link"
    assert link_only.published is None  # "not a date"
    assert "feed_entries_untitled feed=missing-fields.xml skipped=1" in caplog.text


def test_entry_without_guid_or_link_is_keyed_by_title():
    body = (
        b'<rss version="2.0"><channel>'
        b"<item><title> Bare &amp; alone </title></item></channel></rss>"
    )
    [entry] = parse_feed(body, base_url=BASE, feed="bare")
    assert entry.id == headline_id("title:Bare & alone")


def test_empty_channel_is_not_an_error():
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(body, base_url=BASE, feed="quiet") == []


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ((DATA / "not-a-feed.html").read_bytes(), "text/html", "not a feed: an HTML page"),
        (b"", None, "not a feed: empty body"),
        (b" \n\t", None, "not a feed: empty body"),
        (b"\x00\x01garbage bytes", None, "not a feed: no RSS, Atom or RDF document"),
        (b'{"title": "x"}', None, "not a feed: JSON without a jsonfeed.org 'version'"),
        (b"{not json", None, "not a feed: invalid JSON"),
        (b"[1, 2]", "application/json", "not a feed: JSON without"),
        (b'{"version": "https://jsonfeed.org/version/1"}', None, "not a feed: JSON Feed without"),
        (b'<rss version="2.0"><channel><item><title>cut', None, "malformed rss20 feed"),
    ],
)
def test_not_a_feed_raises_naming_the_feed(body, content_type, reason):
    with pytest.raises(FeedParseError) as info:
        parse_feed(body, base_url=BASE, feed="broken-feed", content_type=content_type)
    assert info.value.feed == "broken-feed"
    assert info.value.reason.startswith(reason)
    assert str(info.value).startswith(f"feed 'broken-feed': {reason}")


def test_never_treats_bytes_as_a_path_or_url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feed.xml").write_bytes((DATA / "rss2.xml").read_bytes())
    for body in (b"feed.xml", b"https://news.example.com/rss"):
        with pytest.raises(FeedParseError, match="not a feed"):
            parse_feed(body, base_url=BASE, feed="paths")


RUSSIAN = ["Президент подписал указ о поддержке", "Курс рубля снова вырос за неделю"]


def russian_rss(declaration: str) -> str:
    items = "".join(f"<item><guid>g{i}</guid><title>{t}</title></item>"
                    for i, t in enumerate(RUSSIAN))
    return (f"<?xml version='1.0' encoding='{declaration}'?><rss version='2.0'><channel>"
            f"<title>Новости</title>{items}</channel></rss>")


def test_parse_document_repairs_cp1251_claiming_utf8_in_xml_and_json():
    xml = russian_rss("utf-8").encode("cp1251")
    doc = parse_document(xml, base_url=BASE, feed="ru", content_type="application/rss+xml",
                         select=None)
    assert [e.title for e in doc.entries] == RUSSIAN and doc.repaired_from == "cp1251"
    json_feed = ('{"version": "https://jsonfeed.org/version/1.1", "items": ['
                 + ", ".join(f'{{"id": "{i}", "title": "{t}"}}' for i, t in enumerate(RUSSIAN))
                 + "]}").encode("cp1251")
    doc = parse_document(json_feed, base_url=BASE, feed="ru-json",
                         content_type="application/feed+json", select=None)
    assert [e.title for e in doc.entries] == RUSSIAN and doc.repaired_from == "cp1251"


def test_parse_document_trusts_valid_utf8_and_other_declared_encodings():
    for body, content_type in ((russian_rss("utf-8").encode(), "application/rss+xml"),
                               (russian_rss("koi8-r").encode("koi8-r"), "application/rss+xml"),
                               (russian_rss("utf-8").encode("iso-8859-5"),
                                "application/rss+xml; charset=iso-8859-5")):
        doc = parse_document(body, base_url=BASE, feed="ru", content_type=content_type,
                             select=None)
        assert [e.title for e in doc.entries] == RUSSIAN and doc.repaired_from is None
