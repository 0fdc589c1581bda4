"""Plain-text cleanup for titles and summaries taken from feeds and HTML pages.

Feeds routinely carry HTML inside titles and descriptions, sometimes escaped twice
(``&amp;amp;``). ``clean_text`` strips tags (block tags become a space, inline tags
vanish, script/style bodies and comments are dropped) and unescapes entities until the
text stops changing, then collapses every run of whitespace (NBSP included) to one space
and removes zero-width characters.
``truncate`` shortens a cleaned text at a word boundary and marks the cut with "…".
"""

import html
import re

SUMMARY_MAX_CHARS = 1000
_MAX_UNESCAPE_ROUNDS = 3  # &amp;amp;lt; is the worst seen in the wild

_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|blockquote|pre|section"
    r"|article|header|footer|aside|nav|figure|figcaption)\b[^<>]*>",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_SPACE = re.compile(r"\s+")


def clean_text(s: str) -> str:
    """Unescaped, tag-free, whitespace-collapsed, trimmed version of ``s``."""
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        stripped = html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", _BLOCKS.sub(" ", s))))
        if stripped == s:
            break
        s = stripped
    return _SPACE.sub(" ", _INVISIBLE.sub("", s)).strip()


def truncate(s: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """``s`` cut to at most ``limit`` characters at a word boundary, ending in "…"."""
    if len(s) <= limit:
        return s
    cut = s[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"
