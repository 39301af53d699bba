"""Where webhooks may be sent: public addresses only, unless the deployment allows private networks.

Checked at send time on the resolved addresses, so a name that later points inside the network is refused too.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx


async def refused_destination(url: str, *, allow_private: bool) -> str | None:
    """Why a POST to `url` must not be made, or None when it may."""
    if allow_private:
        return None
    host = httpx.URL(url).host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if not address.is_global:
            return f"{host} resolves to {address}, which is not a public address"
    return None
