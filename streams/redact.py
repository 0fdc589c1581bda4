"""Secrets out of logs, dead letters and stored errors.

Feed URLs carry API keys in their query strings (``?api_key=...``) or userinfo
(``https://user:token@host/``), and webhook URLs carry tokens the same way. Before a
URL, or a text that may contain one (an exception message), leaves the process, it
goes through here: userinfo becomes ``***@``, every query value becomes ``***``
(parameter names stay, so the operator still sees which URL it was; a parameter without
``=`` is masked whole) and the fragment is dropped. Paths are kept:
a secret in a URL path cannot be told from an article slug.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>]+""")


def redact_url(url: str) -> str:
    """``url`` without its userinfo and query values (unparseable URLs are masked whole)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(  # a parameter without "=" is all value: masked whole
        f"{pair.partition('=')[0]}={MASK}" if "=" in pair else (MASK if pair else pair)
        for pair in parts.query.split("&")
    ) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through ``redact_url``."""
    return _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)


def scheme_only(url: str) -> str:
    """``tgram://123:ABC@chat`` -> ``tgram://…``: for URLs whose host and path are the
    secret (Apprise's service URLs carry tokens and passwords everywhere)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep else "…"
