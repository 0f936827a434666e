"""Who may reach the proxy's operator surfaces (pure: no I/O).

- `/metrics` answers callers on `DF_METRICS_NETWORKS` (loopback by default; the TCP peer,
  never a forwarded header) or with `Authorization: Bearer $DF_METRICS_TOKEN`; anyone else
  gets 403 naming both ways in. Metrics carry no secret, but they describe traffic.
- `/api/admin/*` is not forwarded to the control plane unless `DF_FORWARD_ADMIN=1`: the
  operator API is served on the control plane's own port, which need not be public.
"""

from __future__ import annotations

import ipaddress
import posixpath
from urllib.parse import unquote

from proxy.snapshot.index import Network
from wire.metrics_access import metrics_allowed

__all__ = ["ADMIN_PREFIX", "admin_path", "metrics_allowed", "networks"]

ADMIN_PREFIX = "/api/admin/"


def networks(cidrs: tuple[str, ...], setting: str) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)
    except ValueError as exc:
        raise SystemExit(f"{setting}: {exc}") from exc


def admin_path(path: str) -> bool:
    """True for the operator API's paths, however spelled (case, `//`, `/./`, percent-escapes)."""
    normal = posixpath.normpath("/" + unquote(path).lower().lstrip("/"))
    return normal == ADMIN_PREFIX.rstrip("/") or normal.startswith(ADMIN_PREFIX)
