"""OPML import and export: files as real readers export them, and the CLI through a subprocess."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streams.config import FeedConfig, load_config, parse_config
from streams.feedtools.configedit import add_feeds
from streams.feedtools.opml import OpmlError, Subscription, read_opml, write_opml

OPML = Path(__file__).resolve().parents[1] / "data" / "opml"
WIREWATCH = Path(sys.executable).parent / "wirewatch"


def names_and_urls(file: str) -> list[tuple[str, str]]:
    contents = read_opml((OPML / file).read_bytes(), file)
    return [(s.name, s.url) for s in contents.subscriptions]


@pytest.mark.parametrize(("file", "expected"), [
    ("miniflux.opml", [
        ("all/hacker-news", "https://news.ycombinator.com/rss"),
        ("world/the-guardian-world", "https://www.theguardian.com/world/rss"),
        ("world/bbc-news-world", "https://feeds.bbci.co.uk/news/world/rss.xml"),
    ]),
    ("freshrss.opml.xml", [
        ("uncategorized/freshrss-releases", "https://github.com/FreshRSS/FreshRSS/releases.atom"),
        ("caucasus-central-asia/oc-media", "https://oc-media.org/feed/"),
        ("caucasus-central-asia/eurasianet", "https://eurasianet.org/rss.xml"),
    ]),
    ("feedly.opml", [
        ("news/reuters-world",
         "https://www.reutersagency.com/feed/?best-topics=world&post_type=best"),
        ("news/al-jazeera-breaking-news-world-news-and", "https://www.aljazeera.com/xml/rss/all.xml"),
        ("tech/ars-technica", "https://feeds.arstechnica.com/arstechnica/index"),
        ("tech/the-verge", "https://www.theverge.com/rss/index.xml"),
    ]),
    ("inoreader.xml", [
        ("europe/politico-europe", "https://www.politico.eu/feed/"),
        ("europe/dp-ru", "https://www.dp.ru/exportnews.xml"),  # Cyrillic title: the host
        ("world/the-guardian", "https://www.theguardian.com/world/rss"),
        ("tech/ars-technica", "https://feeds.arstechnica.com/arstechnica/index"),
    ]),
    ("netnewswire.opml", [
        ("daring-fireball", "https://daringfireball.net/feeds/json"),
        ("middle-east/middle-east-eye", "https://www.middleeasteye.net/rss"),
        ("middle-east/levant/l-orient-today", "https://today.lorientlejour.com/rss"),
    ]),
])
def test_readers_exports_become_named_feeds(file: str, expected: list) -> None:
    assert names_and_urls(file) == expected
    entries = [{"name": n, "url": u} for n, u in expected]
    assert len(parse_config(yaml.safe_dump({"feeds": entries}), file).feeds) == len(expected)


def test_scraped_outlines_are_reported_not_imported() -> None:
    contents = read_opml((OPML / "freshrss.opml.xml").read_bytes(), "f.opml")
    (skipped,) = contents.skipped
    assert "'Caliber.az latest'" in skipped and "HTML+XPath" in skipped
    assert "https://caliber.az/" not in [s.url for s in contents.subscriptions]


def test_non_web_urls_are_reported_with_their_outline() -> None:
    data = (b'<opml version="2.0"><body><outline text="Local" xmlUrl="file:///etc/passwd"/>'
            b'<outline text="Ok" xmlUrl="https://ok.example/rss"/></body></opml>')
    contents = read_opml(data, "x.opml")
    assert [s.name for s in contents.subscriptions] == ["ok"]
    assert contents.skipped == ["x.opml: outline 'Local': xmlUrl 'file:///etc/passwd' is not "
                                "an http(s) URL"]


def test_names_avoid_taken_ones_and_each_other() -> None:
    data = (b'<opml version="2.0"><body><outline text="World">'
            b'<outline text="News" xmlUrl="https://a.example/rss"/>'
            b'<outline text="News" xmlUrl="https://b.example/rss"/></outline></body></opml>')
    contents = read_opml(data, "x.opml", taken_names=["world/news"])
    assert [s.name for s in contents.subscriptions] == ["world/news-2", "world/news-3"]


@pytest.mark.parametrize(("data", "message"), [
    (b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="a" xmlUrl="x">\n'
     b"</body></opml>", "x.opml:5: not well-formed XML: mismatched tag"),
    (b"<opml>\n<body>\n<outline text='a & b' xmlUrl='https://a.example/'/></body></opml>",
     "x.opml:3: not well-formed XML: not well-formed (invalid token)"),
    (b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
     "x.opml:1: not an OPML file: the root element is <rss>, not <opml>"),
    (b"", "x.opml:1: not well-formed XML: no element found"),
])
def test_broken_opml_names_the_line(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as caught:
        read_opml(data, "x.opml")
    assert str(caught.value).startswith(message), caught.value


def test_entity_expansion_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                       for i in range(9))
            + b']><opml><body><outline text="&j;" xmlUrl="https://a.example/"/></body></opml>')
    with pytest.raises(OpmlError, match=r"x\.opml:1: not well-formed XML"):
        read_opml(bomb, "x.opml")


def test_export_is_opml_2_and_imports_back_to_the_same_feeds() -> None:
    feeds = [FeedConfig(name=n, url=u) for n, u in [
        ("wire", "https://wire.example/rss"), ("world/guardian-world", "https://g.example/rss"),
        ("news/world/bbc", "https://bbc.example/rss"), ("world/aj", "https://aj.example/rss"),
    ]] + [FeedConfig(name="world/caliber", url="https://caliber.example/", kind="html",
                     select={"item": "li", "title": "a"})]
    text = write_opml(feeds)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    back = read_opml(text.encode(), "export.opml")
    assert [(s.name, s.url) for s in back.subscriptions] == [
        ("wire", "https://wire.example/rss"), ("world/guardian-world", "https://g.example/rss"),
        ("world/aj", "https://aj.example/rss"), ("news/world/bbc", "https://bbc.example/rss"),
    ]  # the HTML list is a type="link" outline, which readers do not poll
    assert '<outline type="link" text="caliber" url="https://caliber.example/"/>' in text


CONFIG = """\
# my feeds
feeds:
  - name: guardian   # the first one
    url: https://www.theguardian.com/world/rss
    interval: 120

# watch-lists
rules:
  - name: peacekeepers
    any: ["peacekeeper*"]
"""


def test_add_feeds_keeps_comments_and_entries() -> None:
    new = [Subscription("tech/ars", "https://feeds.arstechnica.com/arstechnica/index", "Ars")]
    text = add_feeds(CONFIG, new)
    assert text.startswith(CONFIG.split("\n# watch-lists")[0])
    assert "    interval: 120\n  - name: tech/ars\n    url: https://feeds.arstechnica.com/" in text
    assert text.endswith(CONFIG[CONFIG.index("\n# watch-lists"):])
    assert [f.name for f in parse_config(text, "c.yaml").feeds] == ["guardian", "tech/ars"]


@pytest.mark.parametrize("before", ["feeds: []\nrules: []\n", "feeds:\nrules: []\n",
                                    "rules: []\n", "",
                                    'feeds: [{name: a, url: "https://a.example/"}]\n'])
def test_add_feeds_to_empty_flow_or_missing_lists(before: str) -> None:
    text = add_feeds(before, [Subscription("b", "https://b.example/rss", "B")])
    names = [f.name for f in parse_config(text, "c.yaml").feeds]
    assert names == (["a", "b"] if "name: a" in before else ["b"])


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(WIREWATCH), *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "WIREWATCH_CONFIG": "none.yaml"})


def test_import_into_config_skips_duplicates_and_reports_them(tmp_path: Path) -> None:
    config = tmp_path / "wirewatch.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    done = run("feeds", "import", str(OPML / "inoreader.xml"), "--into", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (f"{OPML / 'inoreader.xml'}: skipped 'The Guardian': "
            "https://www.theguardian.com/world/rss is already feed 'guardian'") in done.stderr
    assert f"{config}: added 3 feeds, skipped 1 duplicates, 0 unusable outlines" in done.stderr
    text = config.read_text(encoding="utf-8")
    assert "# my feeds" in text and "# the first one" in text and "# watch-lists" in text
    assert [f.name for f in load_config(config).feeds] == [
        "guardian", "europe/politico-europe", "europe/dp-ru", "tech/ars-technica"]
    again = run("feeds", "import", str(OPML / "inoreader.xml"), "--into", str(config),
                cwd=tmp_path)
    assert "added 0 feeds, skipped 4 duplicates" in again.stderr
    assert config.read_text(encoding="utf-8") == text


def test_import_to_stdout_and_export(tmp_path: Path) -> None:
    done = run("feeds", "import", str(OPML / "netnewswire.opml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "c.yaml"
    config.write_text(done.stdout, encoding="utf-8")
    assert len(load_config(config).feeds) == 3
    exported = run("feeds", "export", "--config", str(config), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    again = read_opml(exported.stdout.encode(), "e.opml")
    assert [s.name for s in again.subscriptions] == [
        "daring-fireball", "middle-east/middle-east-eye", "middle-east/levant/l-orient-today"]


def test_import_of_broken_opml_fails_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.opml"
    broken.write_bytes((OPML / "miniflux.opml").read_bytes().replace(b"</outline>\n", b"\n", 1))
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    done = run("feeds", "import", str(broken), "--into", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{broken}:15: not well-formed XML: mismatched tag")  # </body>
    assert config.read_text(encoding="utf-8") == CONFIG
