"""Who may reach the proxy's operator surfaces (pure: no I/O).

- `/metrics` answers callers on `DF_METRICS_NETWORKS` (loopback by default; the TCP peer,
  never a forwarded header) or with `Authorization: Bearer $DF_METRICS_TOKEN`; anyone else
  gets 403 naming both ways in. Metrics carry no secret, but they describe traffic.
- `/api/admin/*` is not forwarded to the control plane unless `DF_FORWARD_ADMIN=1`: the
  operator API is served on the control plane's own port, which need not be public.
"""

from __future__ import annotations

import hmac
import ipaddress
import posixpath
from urllib.parse import unquote

from proxy.snapshot.index import Network

ADMIN_PREFIX = "/api/admin/"


def networks(cidrs: tuple[str, ...], setting: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
    except ValueError as exc:
        raise SystemExit(f"{setting}: {exc}") from exc


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


def admin_path(path: str) -> bool:
    """True for the operator API's paths, however spelled (case, `//`, `/./`, percent-escapes)."""
    normal = posixpath.normpath("/" + unquote(path).lower().lstrip("/"))
    return normal == ADMIN_PREFIX.rstrip("/") or normal.startswith(ADMIN_PREFIX)
