"""Who may read a process's `/metrics` (pure; the proxy and the control plane apply one rule).

Callers whose TCP peer is on `DF_METRICS_NETWORKS` (loopback by default; never a forwarded
header), or that send `Authorization: Bearer $DF_METRICS_TOKEN`; anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
DEFAULT_NETWORKS = ("127.0.0.0/8", "::1/128")


def metrics_allowed(peer: str, authorization: bytes | None, allowed: tuple[Network, ...], token: str) -> bool:
    """True when the peer is on an allowed network or sends the metrics bearer token."""
    if token and authorization is not None:
        given = authorization.decode("latin-1").strip()
        if given[:7].lower() == "bearer " and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in net for net in allowed)
