"""Adding ``feeds:`` entries to a YAML config without disturbing the rest of the file.

The new entries are written as text after the last existing entry, in the same
indentation, so comments, key order and quoting elsewhere stay as they were. A
``feeds:`` given in flow style (``feeds: []``) or left empty is rewritten as a block.
The result is validated as a whole config before anyone writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from streams.feedtools.opml import Subscription


def feed_entries(subscriptions: Sequence[Subscription], indent: int = 2) -> str:
    """``- name: ...`` / ``url: ...`` lines for ``subscriptions``, each line indented."""
    items = [{"name": s.name, "url": s.url} for s in subscriptions]
    if not items:
        return ""
    block = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, width=1000)
    return "".join(" " * indent + line + "\n" for line in block.splitlines())


def _last_scalar(node: yaml.Node) -> yaml.Node:
    """The node whose end is the last character of ``node`` in the text."""
    while isinstance(node, yaml.SequenceNode | yaml.MappingNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def _line_end(text: str, index: int) -> int:
    newline = text.find("\n", index)
    return len(text) if newline == -1 else newline + 1


def add_feeds(text: str, subscriptions: Sequence[Subscription]) -> str:
    """``text`` with ``subscriptions`` appended to its ``feeds:`` list."""
    if not subscriptions:
        return text
    root = yaml.compose(text)
    feeds = None
    if isinstance(root, yaml.MappingNode):
        feeds = next(((k, v) for k, v in root.value if k.value == "feeds"), None)
    if feeds is None:
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return f"{prefix}feeds:\n{feed_entries(subscriptions)}"
    key, value = feeds
    if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
        indent = value.start_mark.column
        at = _line_end(text, _last_scalar(value).end_mark.index)
        return text[:at] + feed_entries(subscriptions, indent) + text[at:]
    # empty, null or flow style: the existing items and the new ones, as one block
    existing = yaml.safe_load(text).get("feeds") or []
    block = yaml.safe_dump(existing, sort_keys=False, allow_unicode=True, width=1000)
    block_lines = "".join(f"  {line}\n" for line in block.splitlines()) if existing else ""
    start = _line_end(text, key.end_mark.index)
    end = _line_end(text, value.end_mark.index) if value.end_mark.index > start else start
    head = text[: key.end_mark.index] + ":\n"
    return head + block_lines + feed_entries(subscriptions) + text[end:]
