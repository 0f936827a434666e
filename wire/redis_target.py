"""Which Redis a process talks to, and the one rule every Redis key name follows.

URL: `redis://` / `rediss://` is one server (or a Sentinel-managed primary behind a stable
address); `redis+cluster://host:port` / `rediss+cluster://…` (or any URL with
`DF_REDIS_CLUSTER=1`) is a Redis Cluster reached through that startup node, and both processes
then use coredis' cluster client.

Key names: every key, stream and channel a deployment uses is `DF_REDIS_PREFIX` + a name
(`wire.billing`, `wire.publish`, `wire.stats`, the limit sync, the IP limiter). On a Cluster
the prefix must be a hash tag, so every key of a deployment lives in one slot and every Lua
script (limit rounds, credit-lease rounds), MGET of snapshot sections and pipeline touches one
slot: `key_prefix` wraps a prefix that holds no `{…}` in braces (`df:` -> `{df:}`). One server
keeps the prefix as written, so existing keys keep their names. The price of one slot: a
Cluster gives a deployment failover (replicas) and shares the servers between deployments,
not more throughput for one deployment than its busiest node.
"""

from __future__ import annotations

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_url(url: str, flag: str = "") -> str:
    """The URL with its cluster scheme when `DF_REDIS_CLUSTER` (flag) says so; else unchanged."""
    if url and flag.strip().lower() in ("1", "true", "yes", "on") and not is_cluster(url):
        scheme, sep, rest = url.partition("://")
        if sep and scheme in ("redis", "rediss"):
            return f"{scheme}+cluster://{rest}"
    return url


def is_cluster(url: str) -> bool:
    return url.partition("://")[0] in _CLUSTER_SCHEMES


def client_url(url: str) -> str:
    """The URL in the scheme the client library reads (`redis+cluster://` -> `redis://`)."""
    scheme, sep, rest = url.partition("://")
    return f"{_CLUSTER_SCHEMES[scheme]}://{rest}" if sep and scheme in _CLUSTER_SCHEMES else url


def has_hash_tag(name: str) -> bool:
    """True when Redis Cluster would hash only part of `name`: a `{` followed later by `}` with
    something between (the first such pair is the tag)."""
    start = name.find("{")
    if start < 0:
        return False
    end = name.find("}", start + 1)
    return end > start + 1


def key_prefix(prefix: str, cluster: bool) -> str:
    """The prefix every key starts with: on a Cluster, a hash tag (`df:` -> `{df:}`)."""
    if not cluster or has_hash_tag(prefix):
        return prefix
    return "{" + prefix + "}"
