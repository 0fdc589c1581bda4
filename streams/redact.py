"""Secrets out of logs, dead letters and stored errors.

Feed URLs carry API keys in their query strings (``?api_key=...``), userinfo
(``https://user:token@host/``) or path (``/feeds/<private id>.xml``), and webhook URLs carry
tokens the same ways. Before a URL, or a text that may contain one (an exception message,
a server's error page), leaves the process, it goes through here: userinfo becomes
``***@``, every query value becomes ``***`` (parameter names stay, so the operator still
sees which URL it was; a parameter without ``=`` is masked whole), the fragment is dropped,
and path segments that are secrets become ``***`` (``streams.secret_paths`` says which).
A server may echo a secret without the URL around it (``Cannot POST /services/T0/B0/XXXX``):
``url_secrets`` lists a URL's secrets so that ``redact_text`` masks them wherever they occur.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from streams.secret_paths import MASK, path_secrets

_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>]+""")
#: Shorter known secrets (``page=2``) are not searched for in free text: too many false hits.
MIN_ECHOED_SECRET = 6


def _masked_query(query: str) -> str:
    return "&".join(  # a parameter without "=" is all value: masked whole
        f"{pair.partition('=')[0]}={MASK}" if "=" in pair else (MASK if pair else pair)
        for pair in query.split("&")
    ) if query else ""


def redact_url(url: str) -> str:
    """``url`` without its userinfo, query values and secret path segments (unparseable
    URLs are masked whole)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    path, _ = path_secrets(parts.hostname or "", parts.path)
    return urlunsplit((parts.scheme, netloc, path, _masked_query(parts.query), ""))


def url_secrets(url: str) -> list[str]:
    """The secrets of ``url`` (userinfo, query values, secret path segments) long enough to
    be looked for in texts that may echo them without the URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [parts.username or "", parts.password or ""]
    for pair in parts.query.split("&"):
        value = pair.partition("=")[2] if "=" in pair else pair
        found += [value, unquote(value)]
    found += path_secrets(parts.hostname or "", parts.path)[1]
    return sorted({s for s in found if len(s) >= MIN_ECHOED_SECRET}, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it passed through ``redact_url``, and each of ``secrets``
    (from ``url_secrets``) masked wherever else it occurs."""
    text = _URL_IN_TEXT.sub(lambda found: redact_url(found.group(0)), text)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def scheme_only(url: str) -> str:
    """``tgram://123:ABC@chat`` -> ``tgram://…``: for URLs whose host and path are the
    secret (Apprise's service URLs carry tokens and passwords everywhere)."""
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://…" if sep else "…"
