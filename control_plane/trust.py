"""Whether a pool key is trusted (pure; README "Trust").

Trust belongs to the pool key, never to the provider slug a seller picks: a key is trusted
when an operator marked it so (`PATCH /api/admin/pool-keys/{id}`), or when its provider is
trusted and the host of its base URL is one of the provider's `official_hosts` (kept in the
provider catalog, `PATCH /api/admin/providers/{slug}`). A seller who registers provider
`deepseek` with its own base URL is therefore untrusted: never routed `X-Privacy-Mode:
trusted_only` traffic, `trusted: false` in the snapshot and `X-DF-Market-Trusted: false`.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit


def base_url_host(base_url: str) -> str:
    try:
        return (urlsplit(base_url).hostname or "").lower()
    except ValueError:
        return ""


def key_trusted(base_url: str, provider_trusted: bool, official_hosts: Sequence[str], operator_trusted: bool) -> bool:
    if operator_trusted:
        return True
    host = base_url_host(base_url)
    return provider_trusted and bool(host) and host in {h.lower() for h in official_hosts}
