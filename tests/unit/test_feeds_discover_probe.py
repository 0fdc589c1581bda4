"""``feeds discover`` and ``feeds probe`` against a local news site with <link rel> tags,
a navigation menu, an analysis column and the seed page's "Latest news" list."""

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest
import yaml
from aiohttp import web

from streams.config import PollingConfig, parse_config
from streams.demo.timeline import slugify
from streams.embedded_broker import free_port
from streams.feeds.fetcher import Fetcher, FetchError
from streams.feedtools.discover import declared_feeds, discover
from streams.feedtools.suggest import suggest_selectors

WIREWATCH = Path(sys.executable).parent / "wirewatch"
SEED = json.loads((Path(__file__).resolve().parents[2] / "streams" / "demo" /
                   "seed_headlines.json").read_text(encoding="utf-8"))[:10]
ANALYSIS = ["Hungary against Armenia's militarisation", "UAE-Ukraine agreement and post-war "
            "reconstruction", "Long-term consequences of exchange of blows between Israel, Iran"]


def latest_news() -> str:
    items = "".join(
        f'<li class="news-item"><a href="/news/{slugify(s["title"], i)}">'
        f'<span class="title">{escape(s["title"])}</span>'
        + (f'<span class="sub">{escape(s["subline"])}</span>' if s["subline"] else "")
        + f'</a><time>{datetime.fromisoformat(s["time"]):%d %B %Y - %H:%M}</time></li>'
        for i, s in enumerate(SEED))
    cards = "".join(f'<div class="card"><h3><a href="/analysis/{i}">{escape(t)}</a></h3>'
                    f'<p class="lead">Opinion</p></div>' for i, t in enumerate(ANALYSIS))
    menu = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>'
                   for s in ("Politics", "Economy", "World", "Video", "Opinion"))
    return (
        '<!doctype html><html><head><title>Caliber test</title>'
        '<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss">'
        '<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="/atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
        '<link rel="alternate" hreflang="az" href="/az/"><link rel="stylesheet" href="/s.css">'
        f'</head><body><nav><ul class="menu">{menu}</ul></nav><main>{cards}</main>'
        f'<aside class="latest-news"><h2>Latest news</h2><ul>{items}</ul></aside></body></html>'
    )


def rss() -> str:
    items = "".join(
        f"<item><title>{xml_escape(s['title'])}</title><link>/news/{slugify(s['title'], i)}</link>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(s['time']))}</pubDate></item>"
        for i, s in enumerate(SEED))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Caliber.az</title>'
            f"<link>/</link>{items}</channel></rss>")


def atom() -> str:
    entries = "".join(f"<entry><id>urn:a:{i}</id><title>{xml_escape(t)}</title>"
                      f'<link href="/analysis/{i}"/><updated>2024-05-01T12:00:00Z</updated>'
                      "</entry>" for i, t in enumerate(ANALYSIS))
    return ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Caliber analysis</title>{entries}</feed>")


def json_feed() -> str:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Caliber JSON",
                       "items": [{"id": "1", "title": "Only in JSON", "url": "/json/1"}]})


@pytest.fixture
async def site() -> AsyncIterator[str]:
    pages = {"/": (latest_news(), "text/html"), "/rss": (rss(), "application/rss+xml"),
             "/atom.xml": (atom(), "application/atom+xml"),
             "/feed.json": (json_feed(), "application/feed+json")}

    async def page(request: web.Request) -> web.StreamResponse:
        if request.path == "/feed":  # WordPress-style alias of the declared feed
            raise web.HTTPFound("/rss")
        if request.path not in pages:
            raise web.HTTPNotFound()
        body, kind = pages[request.path]
        return web.Response(text=body, content_type=kind)

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def test_declared_feeds_read_rel_and_type_loosely() -> None:
    assert declared_feeds(latest_news().encode(), "https://caliber.example/x/") == [
        "https://caliber.example/rss", "https://caliber.example/atom.xml",
        "https://caliber.example/gone.xml"]


async def test_discover_lists_declared_then_usual_paths(site: str) -> None:
    found = await discover(site + "/", Fetcher(PollingConfig()))
    assert [(f.url.removeprefix(site), f.title, f.items, f.how) for f in found.found] == [
        ("/rss", "Caliber.az", 10, "declared"),
        ("/atom.xml", "Caliber analysis", 3, "declared"),
        ("/feed.json", "Caliber JSON", 1, "usual path"),  # /feed redirects to /rss: once
    ]
    assert found.problems == [f"{site}/gone.xml: http_4xx: HTTP 404 Not Found"]


async def test_discover_of_a_feed_url_is_that_feed(site: str) -> None:
    found = await discover(site + "/atom.xml", Fetcher(PollingConfig()))
    assert [(f.title, f.how) for f in found.found] == [("Caliber analysis", "the URL itself")]


async def test_discover_uses_the_workers_limits(site: str) -> None:
    with pytest.raises(FetchError) as caught:
        await discover(site + "/", Fetcher(PollingConfig(max_bytes=1024)))
    assert caught.value.reason == "too_large"


def test_suggestions_find_the_latest_news_list_first() -> None:
    page = latest_news().encode()
    best, second = suggest_selectors(page, "https://caliber.example/")
    assert best.select.item == "li.news-item"
    assert (best.select.title, best.select.published) == ("span.title", "time")
    assert [e.title for e in best.entries] == [s["title"] for s in SEED]
    assert best.entries[0].url == "https://caliber.example/news/" + slugify(SEED[0]["title"], 0)
    assert second.select.item == "div.card"  # the analysis column; the menu reads as no news
    assert second.select.title == "h3"
    assert [e.title for e in second.entries] == ANALYSIS


def test_no_suggestion_without_headline_lists() -> None:
    page = b"<html><body><ul><li><a href=/a>Home</a></li><li><a href=/b>News</a></li>" \
           b"<li><a href=/c>About</a></li></ul><p>Hello</p></body></html>"
    assert suggest_selectors(page, "https://a.example/") == []


async def wirewatch(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(WIREWATCH), *args, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={"PATH": "/usr/bin:/bin",
                                             "WIREWATCH_CONFIG": str(cwd / "none.yaml")})
    out, err = await asyncio.wait_for(process.communicate(), 180)
    return process.returncode or 0, out.decode(), err.decode()


async def test_discover_command_prints_entries_ready_to_paste(site: str, tmp_path: Path) -> None:
    code, out, err = await wirewatch("feeds", "discover", site + "/", cwd=tmp_path)
    assert code == 0, err
    assert f"not usable: {site}/gone.xml: http_4xx" in err
    config = parse_config("feeds:\n" + out, "pasted.yaml")
    assert [(f.name, str(f.url)) for f in config.feeds] == [
        ("caliber-az", f"{site}/rss"), ("caliber-analysis", f"{site}/atom.xml"),
        ("caliber-json", f"{site}/feed.json")]
    assert "# Caliber.az: 10 items (declared)" in out


async def test_probe_html_page_suggests_selectors_with_first_items(site: str,
                                                                   tmp_path: Path) -> None:
    code, out, err = await wirewatch("feeds", "probe", site + "/", "--limit", "2",
                                     cwd=tmp_path)
    assert code == 0, err
    first = out.split("\n  2. ")[0]
    assert "1. 10 items: --select-item li.news-item --select-title span.title " \
           "--select-published time" in first
    assert SEED[0]["title"] in first and SEED[1]["title"] in first
    assert SEED[2]["title"] not in first  # --limit 2
    snippet = yaml.safe_load("\n".join(line[7:] for line in first.splitlines()
                                       if line.startswith("       ")))
    feed = parse_config(yaml.safe_dump({"feeds": snippet}), "snippet.yaml").feeds[0]
    assert feed.select is not None and feed.select.item == "li.news-item"


async def test_probe_with_selectors_shows_classified_headlines(site: str, tmp_path: Path) -> None:
    code, out, err = await wirewatch(
        "feeds", "probe", site + "/", "--select-item", "aside.latest-news li",
        "--select-title", ".title", "--select-published", "time", "--timezone", "Asia/Baku",
        cwd=tmp_path)
    assert code == 0, err
    assert out.startswith(f"{site}/: 10 items; a first poll publishes 10 headlines")
    karabakh = next(s for s in SEED if "Karabakh" in s["title"])
    line = next(i for i, text in enumerate(out.splitlines()) if karabakh["title"] in text)
    when = datetime.fromisoformat(karabakh["time"]).astimezone(UTC).strftime("%Y-%m-%d")
    assert out.splitlines()[line].startswith(f"{when} 16:02")  # 20:02 in Baku, in UTC
    assert "topic: conflict/war/peace | regions:" in out.splitlines()[line + 1]
    assert "South Caucasus" in out.splitlines()[line + 1]


async def test_probe_reports_what_the_worker_would(site: str, tmp_path: Path) -> None:
    code, _, err = await wirewatch("feeds", "probe", site + "/", "--select-item", "li.nothing",
                                   "--select-title", "a", cwd=tmp_path)
    assert code == 1
    assert "the worker would fail this poll: selector_empty: feed " in err
    code, _, err = await wirewatch("feeds", "probe", site + "/", "--select-item", "li[",
                                   "--select-title", "a", cwd=tmp_path)
    assert code == 1
    assert "--select-item: invalid CSS selector 'li['" in err
    code, _, err = await wirewatch("feeds", "probe", site + "/missing", cwd=tmp_path)
    assert (code, err.strip()) == (1, f"{site}/missing: cannot fetch: http_4xx: HTTP 404 "
                                      "Not Found")
