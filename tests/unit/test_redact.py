"""Secrets out of URLs and of texts that contain URLs."""

import pytest

from streams.redact import redact_text, redact_url, url_secrets


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


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # Known webhook hosts, by rule: even a token that does not look random is masked.
        ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
         "https://hooks.slack.com/services/***/***/***"),
        ("https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
         "https://api.telegram.org/bot***/sendMessage"),
        ("https://discord.com/api/webhooks/123456789012345678/abcdefGHIJ-klmn_opq",
         "https://discord.com/api/webhooks/***/***"),
        ("https://acme.webhook.office.com/webhookb2/0123@4567/IncomingWebhook/abc/def",
         "https://acme.webhook.office.com/webhookb2/***/***/***/***"),
        ("https://chat.example/hooks/xr3j5x3p4pfk7nmjyh5f5d7hbh",
         "https://chat.example/hooks/***"),
        ("https://maker.ifttt.com/trigger/news/with/key/dEvIcEkEy",
         "https://maker.ifttt.com/trigger/news/with/key/***"),
        # Elsewhere, segments that look random: private feed ids, hex keys, UUIDs.
        ("https://rss.app/feeds/tHc9Xs8bFhL4qYwZ.xml", "https://rss.app/feeds/***"),
        ("https://example.com/feed/9f86d081884c7d659a2feaa0c55ad015/rss",
         "https://example.com/feed/***/rss"),
        ("https://hc-ping.example/550e8400-e29b-41d4-a716-446655440000",
         "https://hc-ping.example/***"),
        ("https://example.com/f/%4Bq3ZpR8vWx2YbN5tLm7cHj4d", "https://example.com/f/***"),
        ("https://example.com/f/KqZpRVWxYBNtLmcHjdQETs", "https://example.com/f/***"),
        # Slugs, dates, numeric ids and CamelCase names stay readable.
        ("https://news.example/2024/05/12/cop29-summit-opens-in-baku",
         "https://news.example/2024/05/12/cop29-summit-opens-in-baku"),
        ("https://news.example/news/world-europe-68912345/covid19vaccineupdate2021",
         "https://news.example/news/world-europe-68912345/covid19vaccineupdate2021"),
        ("https://news.example/status/1798234234234234234/TheGuardianWorldNewsFeed.xml",
         "https://news.example/status/1798234234234234234/TheGuardianWorldNewsFeed.xml"),
        ("https://medium.example/p/some-title-3f2a9b8c7d6e",
         "https://medium.example/p/some-title-3f2a9b8c7d6e"),
    ],
)
def test_secrets_in_url_paths_are_masked(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secrets_echoed_without_their_url_are_masked_in_text() -> None:
    url = "https://user:PASSWORD9@hooks.example/hooks/abcdefSECRET?token=QUERYSECRET&page=2"
    secrets = url_secrets(url)
    assert {"PASSWORD9", "abcdefSECRET", "QUERYSECRET"} <= set(secrets)
    assert "2" not in secrets  # too short to look for in free text
    page = "Cannot POST /hooks/abcdefSECRET (token QUERYSECRET, auth user:PASSWORD9) page 2"
    assert redact_text(page, secrets) == "Cannot POST /hooks/*** (token ***, auth user:***) page 2"
    encoded = "https://example.com/hooks/a%2Fb%3Dsecret"
    assert redact_text("no route to /hooks/a/b=secret", url_secrets(encoded)) == (
        "no route to /hooks/***")
