"""Repairing feeds whose bytes are not in the encoding they declare as UTF-8.

A feed that says UTF-8 (in its ``Content-Type``, its XML declaration, its ``<meta
charset>``, or by saying nothing, UTF-8 being the default) but whose bytes are not valid
UTF-8 was almost always written in a legacy code page, most often windows-1251 or
windows-1252. Read as UTF-8 or with feedparser's windows-1252 fallback, Cyrillic comes out
as mojibake ("Ïðåçèäåíò"). Here the real encoding is detected with charset-normalizer
among the legacy code pages news sites use (``CANDIDATES``) and the body is transcoded to
UTF-8 before parsing; the poller logs ``feed_encoding_repaired`` and counts it in
``wirewatch_feed_encoding_repairs_total``. When no candidate fits, the body is left as it
is and parsing decodes it leniently (feedparser's fallbacks, U+FFFD for JSON).
A feed that declares another encoding (say ISO-8859-5) is trusted and left alone.
"""

from __future__ import annotations

import re

import charset_normalizer

CANDIDATES = (
    "cp1252", "cp1251", "cp1250", "koi8_r", "koi8_u", "cp1253", "cp1254", "cp1255", "cp1256",
    "cp1257", "iso8859_2", "gb18030", "big5", "shift_jis", "euc_jp", "euc_kr",
)  # fmt: skip
_UTF8_NAMES = frozenset({"utf-8", "utf8", "utf_8"})
_CHARSET_PARAM = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)", re.I)
_HEAD_BYTES = 2048  # an XML declaration or <meta charset> comes first


def declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding the HTTP header, else the XML declaration or <meta charset>, names."""
    found = _CHARSET_PARAM.search((content_type or "").encode("latin-1", "replace"))
    head = body[:_HEAD_BYTES]
    found = found or _XML_ENCODING.search(head) or _CHARSET_PARAM.search(head)
    return found.group(1).decode("ascii").lower() if found else None


def repair_encoding(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """``body`` as UTF-8 and the encoding it was really in, or ``body`` and None if it
    needs no repair (valid UTF-8, another declared encoding, or nothing fits)."""
    declared = declared_encoding(body, content_type)
    if declared is not None and declared not in _UTF8_NAMES:
        return body, None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body, None
    best = charset_normalizer.from_bytes(body, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        return body, None
    return str(best).encode("utf-8"), best.encoding
