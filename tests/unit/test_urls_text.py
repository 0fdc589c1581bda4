"""canonical_url / site_host / web_url and clean_text / truncate."""

import pytest

from streams.feeds.text import clean_text, truncate
from streams.feeds.urls import canonical_url, site_host, web_url


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443", None, "https://www.example.com/"),
        ("http://example.com:80/a", None, "http://example.com/a"),
        ("http://example.com:8080/a", None, "http://example.com:8080/a"),
        ("https://example.com/a#section-2", None, "https://example.com/a"),
        (
            "https://example.com/p?utm_source=x&b=2&fbclid=F&a=1&UTM_Medium=y&gclid=G",
            None,
            "https://example.com/p?b=2&a=1",
        ),
        ("https://example.com/p?mc_cid=1&mc_eid=2&ocid=3", None, "https://example.com/p"),
        ("https://example.com/p?q=a%20b&&x=", None, "https://example.com/p?q=a%20b&x="),
        ("../b/c?d=1", "https://Example.com/a/x/index.html", "https://example.com/a/b/c?d=1"),
        ("//cdn.example.com/img", "https://example.com/", "https://cdn.example.com/img"),
        ("  /path  ", "http://example.com/feed", "http://example.com/path"),
        ("http://user:Pw@Example.com/", None, "http://user:Pw@example.com/"),
        ("http://[::1]:80/x", None, "http://[::1]/x"),
    ],
)
def test_canonical_url(url, base, expected):
    assert canonical_url(url, base) == expected


def test_web_url_rejects_non_web_links():
    assert web_url("mailto:desk@example.com", "https://example.com/") == ""
    assert web_url("javascript:void(0)", "https://example.com/") == ""
    assert web_url("   ", "https://example.com/") == ""
    assert web_url(None) == ""
    assert web_url("/a?utm_term=z", "https://example.com/") == "https://example.com/a"


def test_site_host():
    assert site_host("https://WWW.Caliber.az/en/post/1") == "caliber.az"
    assert site_host("http://news.example.com:8080/") == "news.example.com"
    with pytest.raises(ValueError, match="'/relative'"):
        site_host("/relative")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("Jerry&#8217;s &amp;amp;lt;3", "Jerry’s <3"),
        ("<p>One</p><p>Two<br/>Three</p>", "One Two Three"),
        ("<b>bold</b>&#8217;s", "bold’s"),
        ("&lt;em&gt;escaped&lt;/em&gt; markup", "escaped markup"),
        ("a\u00a0\u00a0b \n\t c\u200b", "a b c"),
        ("<script>alert(1)</script>Safe<!-- hidden -->", "Safe"),
        ("5 < 6 and 7 > 2", "5 < 6 and 7 > 2"),
        ("   ", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_truncate_cuts_at_word_boundary():
    text = " ".join(f"word{i}" for i in range(300))
    cut = truncate(text, 100)
    assert len(cut) <= 100
    assert cut.endswith("…")
    assert text.startswith(cut[:-1])
    assert text[len(cut) - 1] == " "  # the cut fell on a space, not inside a word


def test_truncate_leaves_short_text_alone():
    assert truncate("short", 100) == "short"
