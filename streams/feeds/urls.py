"""URL canonicalisation, so one article has one URL however a feed spells it.

``canonical_url`` resolves a link against the page or feed it came from, lowercases the
scheme and host, drops default ports, the fragment and well-known tracking parameters
(``utm_*``, click ids, mailing-list ids), keeps every other parameter verbatim and in its
original order, and turns an empty path into ``/``. Canonical URLs are entry id keys, so
this function must stay deterministic: changing it changes ids.
"""

from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "ocid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "wt.mc_id", "cmpid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(param: str) -> bool:
    name = unquote(param.split("=", 1)[0]).strip().lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _netloc(scheme: str, netloc: str) -> str:
    userinfo, _, hostport = netloc.rpartition("@")
    host, port = hostport.lower(), ""
    if not host.endswith("]") and ":" in host:  # not a bare IPv6 literal
        host, _, port = host.rpartition(":")
    if port == "" or (port.isdigit() and int(port) == DEFAULT_PORTS.get(scheme)):
        port = ""
    host = host.rstrip(".")
    hostport = f"{host}:{port}" if port else host
    return f"{userinfo}@{hostport}" if userinfo else hostport


def canonical_url(url: str, base: str | None = None) -> str:
    """Canonical absolute form of ``url`` (resolved against ``base`` when relative)."""
    url = url.strip()
    if base:
        url = urljoin(base.strip(), url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not parts.netloc:
        return urlunsplit((scheme, "", parts.path, parts.query, ""))
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    path = parts.path or "/"
    return urlunsplit((scheme, _netloc(scheme, parts.netloc), path, query, ""))


def site_host(url: str) -> str:
    """Host of ``url`` in lowercase without a leading ``www.``; ValueError if it has none."""
    host = urlsplit(url.strip()).hostname
    if not host:
        raise ValueError(f"URL {url!r} has no host")
    return host.removeprefix("www.")


def web_url(url: str | None, base: str | None = None) -> str:
    """``canonical_url`` of an http(s) link, or "" for a missing or non-web link."""
    if not url or not url.strip():
        return ""
    canonical = canonical_url(url, base)
    parts = urlsplit(canonical)
    return canonical if parts.scheme in ("http", "https") and parts.hostname else ""
