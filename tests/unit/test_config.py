"""Config validation: every problem is reported at once, each with file, 1-based line and path."""

from pathlib import Path

import pytest

from streams.config import (
    ConfigError,
    FeedConfig,
    WirewatchConfig,
    config_problems,
    load_config,
    parse_config,
)

VALID = """\
# comment line
feeds:
  - name: wire
    url: https://news.example.com/rss
    interval: 30
  - name: latest
    url: https://example.org/latest
    kind: html
    select:
      item: "aside li"
      title: ".title"
      published: time
      date_format: "%d %B %Y - %H:%M"
      timezone: Asia/Baku
polling:
  timeout: 5
  per_host_concurrency: 3
rules:
  - name: anything
    any: [news]
sinks: []
"""


def problems_of(text: str, path: str = "cfg.yaml") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    assert caught.value.path == path
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing ``needle`` (so tests don't hard-code lines)."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "wirewatch.yaml"
    path.write_text(VALID, encoding="utf-8")
    config = load_config(path)
    assert [f.name for f in config.feeds] == ["wire", "latest"]
    wire, latest = config.feeds
    assert (wire.kind, wire.interval, str(wire.url)) == ("feed", 30.0, "https://news.example.com/rss")
    assert latest.kind == "html" and latest.interval == 60.0
    assert latest.select is not None and latest.select.timezone == "Asia/Baku"
    assert config.polling.timeout == 5 and config.polling.per_host_concurrency == 3
    assert config.polling.max_bytes == 5_000_000  # default kept
    assert config.rules == [{"name": "anything", "any": ["news"]}] and config.sinks == []
    assert config.feed("latest") is latest and config.feed("nope") is None
    assert config_problems(path) == []


def test_empty_file_is_an_empty_config() -> None:
    assert parse_config("", "empty.yaml").feeds == []


@pytest.mark.parametrize(
    ("replace", "by", "needle", "field", "message"),
    [
        ("    interval: 30\n", "    interval: 30\n    colour: red\n", "colour", "feeds[0].colour",
         "Extra inputs are not permitted"),
        ("https://news.example.com/rss", "not a url", "not a url", "feeds[0].url", "URL"),
        ("https://news.example.com/rss", "ftp://news.example.com/rss", "ftp:", "feeds[0].url",
         "scheme"),
        ("interval: 30", "interval: 0.5", "interval", "feeds[0].interval",
         "greater than or equal to 1"),
        ("interval: 30", "interval: 86401", "interval", "feeds[0].interval",
         "less than or equal to 86400"),
        ('"aside li"', '"aside li[["', "aside li[[", "feeds[1].select.item",
         "invalid CSS selector"),
        ("Asia/Baku", "Mars/Olympus", "Mars/Olympus", "feeds[1].select.timezone",
         "unknown IANA time zone 'Mars/Olympus'"),
        ("  timeout: 5", "  timeout: 0", "timeout", "polling.timeout", "greater than 0"),
        ("sinks: []", "sinks: []\nbogus: 1", "bogus", "bogus", "Extra inputs are not permitted"),
    ],
)
def test_each_problem_names_file_line_and_field(
    replace: str, by: str, needle: str, field: str, message: str
) -> None:
    assert replace in VALID
    text = VALID.replace(replace, by, 1)
    (problem,) = problems_of(text)
    assert problem.startswith(f"cfg.yaml:{line_of(text, needle)}: {field}: "), problem
    assert message in problem


def test_duplicate_name_points_at_the_repeat() -> None:
    text = VALID.replace("name: latest", "name: wire")
    (problem,) = problems_of(text)
    repeat = line_of(text, "url: https://example.org/latest") - 1
    assert problem == f"cfg.yaml:{repeat}: feeds[1].name: duplicate feed name 'wire'"


def test_html_feed_without_select_points_at_the_feed() -> None:
    text = "feeds:\n  - name: ok\n    url: https://a.example/\n  - name: page\n" \
           "    url: https://b.example/\n    kind: html\n"
    (problem,) = problems_of(text)
    assert problem.startswith("cfg.yaml:4: feeds[1]: ")
    assert "kind: html needs 'select'" in problem


def test_select_on_a_feed_kind_is_rejected() -> None:
    text = VALID.replace("    kind: html\n", "")
    (problem,) = problems_of(text)
    assert problem.startswith(f"cfg.yaml:{line_of(text, 'name: latest')}: feeds[1]: ")
    assert "'select' is only for kind: html" in problem


def test_missing_required_field_points_at_its_feed() -> None:
    text = "feeds:\n  - name: ok\n    url: https://a.example/\n  - name: nourl\n    interval: 9\n"
    (problem,) = problems_of(text)
    assert problem.startswith("cfg.yaml:4: feeds[1].url: ")
    assert "Field required" in problem


def test_all_problems_reported_at_once_in_file_order_of_feeds(tmp_path: Path) -> None:
    text = (
        "feeds:\n"                              # 1
        "  - name: a\n"                         # 2
        "    url: https://a.example/\n"         # 3
        "  - name: bad name\n"                  # 4
        "    url: nowhere\n"                    # 5
        "    interval: 0\n"                     # 6
        "  - name: a\n"                         # 7
        "    url: https://c.example/\n"         # 8
        "    kind: html\n"                      # 9
        "    select: {item: li, title: 'a[['}\n"  # 10
        "polling:\n"                            # 11
        "  jitter: 2\n"                         # 12
    )
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    problems = config_problems(path)
    located = {p.split(": ", 2)[1]: p.split(": ", 2)[0] for p in problems}
    assert located == {
        "feeds[1].name": f"{path}:4",
        "feeds[1].url": f"{path}:5",
        "feeds[1].interval": f"{path}:6",
        "feeds[2].select.title": f"{path}:10",
        "feeds[2].name": f"{path}:7",
        "polling.jitter": f"{path}:12",
    }
    assert len(problems) == len(located)


def test_non_mapping_yaml() -> None:
    (problem,) = problems_of("- just\n- a list\n")
    assert problem.startswith("cfg.yaml:1: ") and "mapping" in problem


def test_feed_that_is_not_a_mapping() -> None:
    (problem,) = problems_of("feeds:\n  - name: a\n    url: https://a.example/\n  - oops\n")
    assert problem.startswith("cfg.yaml:4: feeds[1]: ")


def test_yaml_syntax_error_is_one_line_with_its_line() -> None:
    text = "feeds:\n  - name: a\n    url: https://a.example/\n   broken: [\n"
    (problem,) = problems_of(text)
    assert problem.startswith("cfg.yaml:4: invalid YAML: ")
    assert "\n" not in problem
    # the construct being parsed when it broke is named with its own line
    assert "at line 2" in problem


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    (problem,) = config_problems(missing)
    assert problem.startswith(f"{missing}: cannot read config")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("feeds: []\n# café\n".encode("latin-1"))
    (problem,) = config_problems(latin1)
    assert problem.startswith(f"{latin1}: cannot read config: not UTF-8")


def test_models_built_in_code_still_check_duplicates() -> None:
    feed = FeedConfig(name="x", url="https://a.example/")
    assert len(WirewatchConfig(feeds=[feed]).feeds) == 1
    with pytest.raises(ValueError, match="duplicate feed name 'x'"):
        WirewatchConfig(feeds=[feed, feed])


def test_same_url_twice_points_at_the_second_feed() -> None:
    text = ("feeds:\n  - name: a\n    url: https://news.example/rss\n"
            "  - name: b\n    url: HTTPS://News.example/rss?utm_source=x#top\n"
            "  - name: page1\n    url: https://news.example/\n    kind: html\n"
            "    select: {item: li.latest, title: a}\n"
            "  - name: page2\n    url: https://news.example/\n    kind: html\n"
            "    select: {item: li.popular, title: a}\n")
    (problem,) = problems_of(text)  # two lists of one page are two feeds
    assert problem == "cfg.yaml:5: feeds[1].url: same URL as feed 'a'"


def test_stories_update_interval_defaults_and_bounds() -> None:
    assert parse_config("feeds: []\n", "cfg.yaml").stories.update_interval == 60
    assert parse_config("stories:\n  update_interval: 0\n", "cfg.yaml").stories.update_interval == 0
    text = "feeds: []\nstories:\n  update_interval: -5\n"
    (problem,) = problems_of(text)
    assert problem.startswith(f"cfg.yaml:{line_of(text, '-5')}: stories.update_interval: "), problem
