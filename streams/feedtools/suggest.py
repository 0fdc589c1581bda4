"""Suggesting ``select:`` CSS selectors for an HTML page that has no feed.

A headline list is a run of sibling elements of one kind (same tag and classes) that
each hold a link and some text, like a "Latest news" ``<li>`` list. Every such run of at
least ``MIN_ITEMS`` becomes a candidate: its ``item`` selector is the shortest
ancestor-qualified selector that matches exactly that run (``aside.latest-news
li.news-item``); its ``title`` is the text element inside the link that reads most like a
headline (a heading, a class naming a title, else the longest text). Each candidate is
then run through the worker's own HTML-list parser, so what is shown is what would be
published; runs whose texts are too short to be headlines (menus, tag clouds) are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from streams.feeds.entries import Entry
from streams.feeds.errors import SelectorMatchedNothing
from streams.feeds.htmllist import HtmlSelectors, parse_html_list

MIN_ITEMS = 3
MIN_TITLE_WORDS = 3.0  # mean words per title; menus and tag lists have fewer
MAX_CANDIDATES = 5
MAX_RUNS = 40  # runs checked in full (each is a parse of the page), the longest first
_PLAIN_CLASS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # usable in a selector as is
_TITLE_HINT = re.compile(r"title|headline|heading", re.IGNORECASE)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})


@dataclass(frozen=True, slots=True)
class Candidate:
    select: HtmlSelectors
    entries: list[Entry]

    @property
    def score(self) -> float:
        words = sum(len(e.title.split()) for e in self.entries) / len(self.entries)
        return len(self.entries) * min(words, 12.0)


def _simple(node: LexborNode) -> str:
    """``tag.class1.class2`` (at most two plain classes), or ``tag#id``."""
    ident = node.attributes.get("id") or ""
    if _PLAIN_CLASS.match(ident):
        return f"{node.tag}#{ident}"
    classes = [c for c in (node.attributes.get("class") or "").split() if _PLAIN_CLASS.match(c)]
    return node.tag + "".join(f".{c}" for c in classes[:2])


def _sibling_runs(tree: LexborHTMLParser) -> list[list[LexborNode]]:
    runs: list[list[LexborNode]] = []
    for parent in tree.css("body, body *"):
        if parent.tag in _SKIP:
            continue
        kinds: dict[str, list[LexborNode]] = {}
        for child in parent.iter():
            if child.tag not in _SKIP:
                kinds.setdefault(_simple(child).split("#")[0], []).append(child)
        runs += [nodes for nodes in kinds.values() if len(nodes) >= MIN_ITEMS]
    return runs


def _item_selector(tree: LexborHTMLParser, run: list[LexborNode]) -> str:
    """The shortest ``ancestor item`` selector matching exactly the ``run``."""
    item = _simple(run[0]).split("#")[0]
    if len(tree.css(item)) == len(run):
        return item
    path: list[str] = [item]
    node = run[0].parent
    while node is not None and node.tag not in ("html", "body", None) and len(path) <= 8:
        path.insert(0, _simple(node))
        selector = f"{path[0]} {item}"
        if len(tree.css(selector)) == len(run):
            return selector
        if "#" in path[0]:
            break
        node = node.parent
    return " > ".join(path)


def _link(item: LexborNode) -> LexborNode | None:
    return item if item.tag == "a" and "href" in item.attributes else item.css_first("a[href]")


def _text_leaves(node: LexborNode) -> list[LexborNode]:
    """``node`` and its descendants that hold text themselves (not just inside children),
    in document order; iterative, so deeply nested pages cannot exhaust the stack."""
    found: list[LexborNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if any(t.tag == "-text" and t.text(deep=False).strip()
               for t in current.iter(include_text=True)):
            found.append(current)
        stack.extend(reversed([c for c in current.iter() if c.tag not in _SKIP]))
    return found


def _linked_text_words(item: LexborNode) -> int:
    link = _link(item)
    return len(link.text(deep=True).split()) if link is not None else 0


def _title_selector(run: list[LexborNode]) -> str | None:
    """Relative selector of the headline text inside each item, by vote across the run."""
    votes: Counter[str] = Counter()
    for item in run:
        link = _link(item)
        if link is None:
            continue
        headings = [h for h in item.css(", ".join(sorted(_HEADINGS)))]
        leaves = headings or _text_leaves(link)
        if not leaves:
            continue
        hinted = [n for n in leaves if _TITLE_HINT.search(n.attributes.get("class") or "")]
        best = (hinted or leaves)[0] if hinted or headings else max(
            leaves, key=lambda n: len(n.text(deep=True).split()))
        votes[_relative(best, item)] += 1
    return votes.most_common(1)[0][0] if votes else None


def _relative(node: LexborNode, item: LexborNode) -> str:
    if node.mem_id == item.mem_id:
        return node.tag  # the item is the link itself: its own text is the title
    simple = _simple(node).split("#")[0]
    return simple if "." in simple else node.tag


def suggest_selectors(body: bytes, base_url: str) -> list[Candidate]:
    """Candidate selectors for the headline lists on the page in ``body``, best first."""
    tree = LexborHTMLParser(body, encoding=True)
    candidates: dict[frozenset[str], Candidate] = {}
    runs = [run for run in _sibling_runs(tree)
            if sum(_linked_text_words(item) >= MIN_TITLE_WORDS for item in run) >= MIN_ITEMS]
    for run in sorted(runs, key=len, reverse=True)[:MAX_RUNS]:
        title = _title_selector(run)
        if title is None:
            continue
        has_time = all(item.css_first("time") is not None for item in run)
        select = HtmlSelectors(item=_item_selector(tree, run), title=title,
                               published="time" if has_time else None)
        try:
            entries = parse_html_list(body, base_url=base_url, select=select, feed="probe")
        except (SelectorMatchedNothing, ValueError):
            continue
        candidate = Candidate(select, entries)
        words = sum(len(e.title.split()) for e in entries) / len(entries)
        urls = frozenset(e.url for e in entries)
        if len(entries) < MIN_ITEMS or words < MIN_TITLE_WORDS:
            continue
        if urls not in candidates or candidates[urls].score < candidate.score:
            candidates[urls] = candidate
    ranked = sorted(candidates.values(), key=lambda c: c.score, reverse=True)
    return ranked[:MAX_CANDIDATES]
