"""Speed of ``wirewatch feeds import`` and of selector suggestion, on generated inputs.

OPML: a reader's export of 300 subscriptions in 12 folders, imported into a config that
already holds 50 of them (the import checks the merged config before writing). Selector
suggestion: the seed page's "Latest news" list (10 items) inside a page of 300 other
link lists, 0.5 MB. Medians of 7 runs, in-process.

    .venv/bin/python bench/feedtools_bench.py
"""

import statistics
import time

from streams.config import parse_config
from streams.feedtools.configedit import add_feeds, feed_entries
from streams.feedtools.opml import read_opml
from streams.feedtools.suggest import suggest_selectors

RUNS = 7


def opml(count: int) -> bytes:
    folders = "".join(
        f'<outline text="Folder {f}">' + "".join(
            f'<outline type="rss" text="Feed {f}-{i} news" xmlUrl="https://s{f}-{i}.example/rss"/>'
            for i in range(count // 12)) + "</outline>" for f in range(12))
    return f'<?xml version="1.0"?><opml version="2.0"><body>{folders}</body></opml>'.encode()


def page() -> bytes:
    noise = "".join(f'<ul class="l{j}">' + "".join(
        f'<li><a href="/x{j}/{i}">Tag {i}</a></li>' for i in range(40)) + "</ul>"
        for j in range(300))
    latest = "".join(f'<li class="news-item"><a href="/news/{i}"><span class="title">Headline '
                     f"number {i} about Karabakh and COP29</span></a><time>01 May 2024 - 20:0{i}"
                     "</time></li>" for i in range(10))
    return (f'<html><body><nav>{noise}</nav><aside class="latest-news"><ul>{latest}</ul>'
            "</aside></body></html>").encode()


def median_seconds(work) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    data = opml(300)
    existing = read_opml(opml(300), "old.opml").subscriptions[:50]
    config = "feeds:\n" + feed_entries(existing)

    def import_into() -> None:
        subs = read_opml(data, "new.opml", taken_names=[s.name for s in existing])
        known = {s.url for s in existing}
        parse_config(add_feeds(config, [s for s in subs.subscriptions if s.url not in known]),
                     "c.yaml")

    body = page()
    print(f"OPML import, 300 subscriptions into a 50-feed config: "
          f"{median_seconds(import_into) * 1000:.0f} ms")
    print(f"selector suggestion, {len(body) / 1e6:.1f} MB page with 301 lists: "
          f"{median_seconds(lambda: suggest_selectors(body, 'https://a.example/')) * 1000:.0f} ms")
    (best, *_) = suggest_selectors(body, "https://a.example/")
    print(f"  best candidate: {best.select.item} / {best.select.title}, {len(best.entries)} items")


if __name__ == "__main__":
    main()
