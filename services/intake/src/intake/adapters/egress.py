"""Where webhooks may be sent: public addresses only, unless the deployment allows private networks (never the cloud
metadata service). Checked at registration, and again at each delivery, which then connects to the very address it
checked — a name that points elsewhere by the time of the connection (DNS rebinding) cannot redirect it."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from intake.domain.errors import Problem
from intake.domain.webhooks import url_problems

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_TIMEOUT_S = 10.0  # a resolver that hangs must not hold a registration or a claimed delivery
# the most telling first: Python counts 0.0.0.0 and 240.0.0.0/4 as private too
KINDS = ("loopback", "link_local", "multicast", "unspecified", "reserved", "private")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system resolver, in its order of preference, each once."""
    lookup = asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    try:
        infos = await asyncio.wait_for(lookup, RESOLVE_TIMEOUT_S)
    except TimeoutError:
        raise OSError(f"no answer within {RESOLVE_TIMEOUT_S:.0f} s") from None
    return list(dict.fromkeys(ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in infos))


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` must not be connected to, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA:  # no receiver lives there, whatever the deployment allows
        return "the cloud metadata service"
    if allow_private:
        return None
    # is_global alone is not enough: Python counts multicast addresses as global
    kind = next((k for k in KINDS if getattr(address, f"is_{k}")), None)
    if kind is None and address.is_global:
        return None
    if address in UNIQUE_LOCAL:
        kind = "unique-local"
    return f"a {(kind or 'special-purpose').replace('_', '-')} address, not a public one"


@dataclass(frozen=True)
class Destination:
    """A webhook URL pinned to one checked address: connect to `url`, but speak to the host the partner named."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, Any] = field(default_factory=dict)


async def checked_destination(url: str, *, allow_private: bool, allow_http: bool,
                              resolve: Resolver = resolve_host) -> Destination | list[Problem]:
    """Resolve the URL's host once and check every address; the first becomes the one connected to."""
    problems = url_problems(url, allow_http=allow_http)
    if problems:
        return problems
    try:
        original = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return [("url", f"is not a URL: {exc}")]
    host, port = original.raw_host.decode("ascii"), original.port or DEFAULT_PORTS[original.scheme]
    literal = _literal(host)
    try:
        addresses = [literal] if literal is not None else await resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        return [("url", f"cannot resolve {host}: {exc}")]
    if not addresses:
        return [("url", f"{host} has no address")]
    for address in addresses:
        if (why := address_problem(address, allow_private=allow_private)) is not None:
            return [("url", f"{host} resolves to {address}, {why}")]
    pinned = original.copy_with(host=str(addresses[0]))
    # TLS: the certificate is checked against the name, sent as SNI, not against the address connected to
    named = literal is None and original.scheme == "https"
    return Destination(pinned, {"Host": original.netloc.decode("ascii")}, {"sni_hostname": host} if named else {})


def _literal(host: str) -> IPAddress | None:
    """The address a URL names literally, which needs no resolving; None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
