"""Resolve a seller's upstream host at registration and refuse names that point inward.

A name that resolves to any non-public address (`wire.addresses.is_public`: loopback, private,
link-local/metadata, NAT64/6to4 forms of those, …) is refused with 400, unless the operator
allows private upstreams (DF_ALLOW_PRIVATE_UPSTREAMS=1). A name that does not resolve within
`timeout_s` is accepted: DNS can change after registration anyway, so the proxy checks every
resolved address again at connect time (`proxy.egress`) — this check only turns the obvious
cases into a clear error for the seller.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from control_plane.errors import BadRequest
from wire.addresses import host_ip, is_public


async def refuse_inward_names(base_url: str, field: str = "base_url", timeout_s: float = 2.0) -> None:
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if not host or host_ip(host) is not None:
        return  # literals were checked by validation.check_base_url
    try:
        async with asyncio.timeout(timeout_s):
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        return
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not is_public(ip):
            raise BadRequest(f"{field}: {host!r} resolves to a private, loopback or link-local address; upstreams "
                             "must be public (operators can allow private upstreams with DF_ALLOW_PRIVATE_UPSTREAMS=1)")
