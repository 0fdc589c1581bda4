"""Refusing feeds, and redirects, that lead to loopback, private or link-local addresses.

With ``polling.block_private_addresses`` on, a feed URL is an outside party's word: a
config entry or a redirect could otherwise make the worker fetch cloud metadata
(169.254.169.254), an admin page on localhost or a service on the internal network, and
the answer would show up in logs and state. ``GuardedConnector`` checks every address a
host name resolves to, and every IP-literal host, on every connection, redirects
included, before it connects; anything not globally routable (RFC 1918, loopback,
link-local, CGNAT, unique-local, IPv4-mapped forms of these, ...) or multicast is
refused with ``AddressBlocked`` unless it is in ``polling.allow_networks``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressBlocked(aiohttp.ClientError):
    """The host resolves to an address the worker must not fetch from."""


def is_blocked(address: str, allow: Sequence[Network] = ()) -> bool:
    """Whether ``address`` is outside the public internet and not in ``allow``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allow):
        return False
    return not ip.is_global or ip.is_multicast


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector that refuses hosts resolving to blocked addresses."""

    def __init__(self, *, allow: Sequence[Network] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._allow = tuple(allow)

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Any] | None = None
    ) -> list[ResolveResult]:
        resolved = await super()._resolve_host(host, port, traces=traces)
        blocked = sorted({r["host"] for r in resolved if is_blocked(r["host"], self._allow)})
        if blocked:
            raise AddressBlocked(f"{host} resolves to non-public address {', '.join(blocked)}")
        return resolved
