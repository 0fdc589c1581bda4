"""Secrets out of URLs and of texts that contain URLs."""

import pytest

from streams.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://feeds.example/rss?api_key=SECRET&page=2",
         "https://feeds.example/rss?api_key=***&page=***"),
        ("https://user:SECRET@feeds.example:8443/rss", "https://***@feeds.example:8443/rss"),
        ("https://feeds.example/rss?SECRET&a=1", "https://feeds.example/rss?***&a=***"),
        ("https://feeds.example/rss#SECRET", "https://feeds.example/rss"),
        ("https://feeds.example/news/a-slug", "https://feeds.example/news/a-slug"),
        ("http://h:99999999/x?token=SECRET", "***"),  # malformed: masked whole
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_every_url() -> None:
    text = ("TooManyRedirects: url='https://hooks.example/x?token=SECRET1', then "
            "http://bot:SECRET2@api.example/send and \"ws://q.example/?k=SECRET3\"")
    redacted = redact_text(text)
    assert "SECRET" not in redacted
    assert "url='https://hooks.example/x?token=***'" in redacted
    assert "http://***@api.example/send" in redacted
    assert redact_text("no url here: HTTP 500") == "no url here: HTTP 500"
