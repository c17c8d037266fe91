"""No way in: redirects and meta refreshes from a public address into a private one.

A watched page on the internet that redirects (HTTP 3xx, or an immediate meta refresh
the spiders follow) to ``127.0.0.1:8080/admin``, ``10.0.0.5`` or the cloud metadata
address ``169.254.169.254`` would make the monitor fetch an internal service and keep
its answer as a version: shown in the web UI, the API and alerts. This downloader
middleware refuses such a hop before it is sent, and checks the address the answer
really came from (a name that resolved to a public address for the check, then to a
private one for the connection, is caught there).

What counts as private is decided on addresses, not names: a hop's host is resolved
(IPv4 and IPv6, every address it has) and it is private when any of its addresses is
not globally routable (loopback, private, link-local and so the metadata address,
shared, reserved, unspecified, multicast; an IPv4 address inside IPv6 by its IPv4).

A target whose own URL is private (an intranet, a test server) may redirect anywhere:
watching it was asked for explicitly. ``fetch.allow_private: true`` (or a target's
``allow_private``) turns the guard off. ``fetch.public_networks`` counts some reserved
ranges as public (a lab network that stands for the internet; the tests use it).

A refused hop fails the fetch with :class:`PrivateAddressRefused`: the capture is an
error of kind ``private_address`` with the reason, never a removal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PrivateAddressRefused(IgnoreRequest):
    """A redirect or meta refresh from a public address into a private one, not followed."""


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR ranges (``10.1.0.0/16``, ``127.0.0.2/32``, ``fd00::/8``) as networks."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def why_private(address: Address, public: tuple[Network, ...] = ()) -> str | None:
    """Why ``address`` is not a public internet address, or None when it is one.

    >>> why_private(ipaddress.ip_address("127.0.0.1"))
    'loopback'
    >>> why_private(ipaddress.ip_address("169.254.169.254"))
    'link-local'
    >>> why_private(ipaddress.ip_address("::ffff:10.0.0.1"))
    'private'
    >>> why_private(ipaddress.ip_address("8.8.8.8")) is None
    True
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in public if network.version == address.version):
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


class PrivateRedirectMiddleware:
    """Refuses hops of a redirect chain from a public address into a private one."""

    def __init__(self, allowed_targets: Iterable[str], public: tuple[Network, ...]) -> None:
        self.allowed_targets = frozenset(allowed_targets)
        self.public = public
        self._resolved: dict[tuple[str, int], list[Address]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if settings.getbool("MONITOR_ALLOW_PRIVATE"):
            raise NotConfigured("fetch.allow_private is true")
        return cls(
            settings.getlist("MONITOR_ALLOW_PRIVATE_TARGETS"),
            networks(settings.getlist("MONITOR_PUBLIC_NETWORKS")),
        )

    async def process_request(self, request: Request) -> None:
        hops: list[str] = request.meta.get("redirect_urls") or []
        if not hops or self._allowed(request):
            return
        origin = await self._private(hops[0])
        if origin is not None:
            return  # the target itself is private: asked for explicitly
        found = await self._private(request.url)
        if found is not None:
            address, reason = found
            raise PrivateAddressRefused(self._message(hops[0], request.url, address, reason))

    async def process_response(self, request: Request, response: Response) -> Response:
        hops: list[str] = request.meta.get("redirect_urls") or []
        peer = getattr(response, "ip_address", None)
        if not hops or peer is None or self._allowed(request):
            return response
        reason = why_private(peer, self.public)
        if reason is not None and await self._private(hops[0]) is None:
            raise PrivateAddressRefused(self._message(hops[0], response.url, peer, reason))
        return response

    def _allowed(self, request: Request) -> bool:
        key = request.meta.get("monitor_key")
        return key is not None and getattr(key, "target", None) in self.allowed_targets

    async def _private(self, url: str) -> tuple[Address, str] | None:
        """The first private address ``url``'s host has, and why; None if all are public
        (or the host cannot be resolved: the fetch then fails on its own)."""
        for address in await self._addresses(url):
            reason = why_private(address, self.public)
            if reason is not None:
                return address, reason
        return None

    async def _addresses(self, url: str) -> list[Address]:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = 80
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if (host, port) in self._resolved:
            return self._resolved[(host, port)]
        try:
            infos: list[Any] = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            infos = []
        addresses: list[Address] = []
        for info in infos:
            try:
                addresses.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
            except ValueError:
                continue
        self._resolved[(host, port)] = addresses
        return addresses

    @staticmethod
    def _message(origin: str, url: str, address: Address, reason: str) -> str:
        return (
            f"refused to follow a redirect from {origin} (a public address) to {url}, "
            f"which is a {reason} address ({address}); to watch private addresses set "
            "fetch.allow_private: true, or allow_private: true on the target"
        )
