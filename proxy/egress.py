"""Where the proxy may connect for a seller: every resolved address checked, then pinned.

`Egress.pin(url)` is asked before every upstream request. An IP-literal host is checked as
written (legacy forms like 127.1 included); a name is resolved (`getaddrinfo`, all v4 and v6
answers) and EVERY address must be allowed (`wire.addresses.allowed`: public, or inside
`DF_UPSTREAM_ALLOW_NETWORKS`), and the URL's port must be in `DF_UPSTREAM_PORTS` (80, 443,
8443 by default; `any` for every port). The answer is a `Pin` (host, checked address, port):
the upstream client then connects through a client whose resolver override maps that host to
that address (pyreqwest `ClientBuilder.resolve`), so the address checked is the address
connected to — no second DNS lookup can swap in an inner address. Checked answers are cached
per URL for `DF_UPSTREAM_DNS_TTL_S` (60 s), refusals too, so the hot path costs one dict
lookup. `DF_ALLOW_PRIVATE_UPSTREAMS=1` (development, tests, `make up`) turns the check off.

Failure mode: a refused or unresolvable upstream raises `UpstreamError` kind "connect" (502 if
no other listing serves; the listing is charged a failure like any connect error) naming the
provider but not the address; the address and reason are logged once per cache period.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from proxy.errors import UpstreamError
from proxy.settings import ProxySettings
from wire.addresses import IP, Network, allowed, host_ip

log = logging.getLogger("dragonfly.proxy.egress")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Pin:
    host: str
    ip: str
    port: int


class Egress:
    def __init__(self, networks: tuple[Network, ...], ports: tuple[int, ...], ttl_s: float,
                 resolve_timeout_s: float) -> None:
        self._networks = networks
        self._ports = ports
        self._ttl = ttl_s
        self._timeout = resolve_timeout_s
        self._cache: dict[str, tuple[float, Pin | None, str]] = {}  # url -> (expires, pin, refusal)

    async def pin(self, url: str, provider: str) -> Pin | None:
        """The checked address to connect to (None: an IP literal, connect as written); raises
        UpstreamError when the upstream's address or port is not allowed."""
        now = time.monotonic()
        hit = self._cache.get(url)
        if hit is None or hit[0] <= now:
            pin, refusal = await self._check(url)
            if refusal:
                log.warning("upstream of provider %r refused: %s", provider, refusal)
            if len(self._cache) > 10_000:
                self._cache.clear()
            hit = self._cache[url] = (now + self._ttl, pin, refusal)
        if hit[2]:
            raise UpstreamError(f"Could not connect to upstream provider '{provider}': its address is not "
                                "allowed for upstreams.", "connect")
        return hit[1]

    async def _check(self, url: str) -> tuple[Pin | None, str]:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
        except ValueError:
            return None, f"{url[:100]!r} is not a URL"
        if self._ports and port not in self._ports:
            return None, f"port {port} is not in DF_UPSTREAM_PORTS"
        literal = host_ip(host)
        if literal is not None:
            return None, "" if allowed(literal, self._networks) else f"{literal} is not a public address"
        try:
            async with asyncio.timeout(self._timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            return None, f"{host!r} does not resolve ({type(exc).__name__})"
        addresses: list[IP] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not allowed(ip, self._networks):
                return None, f"{host!r} resolves to {ip}, which is not a public address"
            addresses.append(ip)
        if not addresses:
            return None, f"{host!r} has no address"
        return Pin(host=host, ip=str(addresses[0]), port=port), ""


def egress_of(settings: ProxySettings) -> Egress | None:
    """The connect-time check of the settings, or None when private upstreams are allowed."""
    if settings.upstream_allow_private:
        return None
    try:
        networks = tuple(ipaddress.ip_network(c, strict=False) for c in settings.upstream_allow_networks)
    except ValueError as exc:
        raise SystemExit(f"DF_UPSTREAM_ALLOW_NETWORKS: {exc}") from exc
    return Egress(networks, settings.upstream_ports, settings.upstream_dns_ttl_s, settings.connect_timeout_s)
