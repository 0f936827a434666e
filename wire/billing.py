"""The Redis layout of spendable credit and budgets, shared by the proxy (reserves, settles holds)
and the control plane (writes credit, rebuilds after a loss). PostgreSQL is the truth; this is
the hot path's fast, atomic view of it. `{p}` is the key prefix (`wire.redis_target`: a hash tag on
Redis Cluster, so every script's keys share one slot).

- `{p}bill:ready`           exists while the state is loaded; missing -> rebuilt from PostgreSQL
- `{p}bill:a:{account}`     hash: `credit` (all credits ever posted, PostgreSQL), `spent` (charges
                            reported by proxies), `w:{worker}` (each proxy worker's credit lease),
                            `q:{worker}` (its last applied report), `c` (contended since, Redis time).
                            available = credit - spent - sum of live leases
- `{p}bill:k:{key}:{YYYYMM}` hash: the same fields (no `credit`: the key's monthly budget comes
                            from the snapshot) for one key in one budget month (UTC)
- `{p}bill:workers`         sorted set: proxy worker -> last lease-round heartbeat
- `{p}bill:f:{request}`     an offline-admitted request whose charge was added (once)
- `{p}usage`                the usage event stream (`wire.usage`)
"""

from __future__ import annotations

import time


def ready_key(prefix: str) -> str:
    return f"{prefix}bill:ready"


def account_key(prefix: str, account_id: str) -> str:
    return f"{prefix}bill:a:{account_id}"


def key_month_key(prefix: str, key_id: str, month: int) -> str:
    return f"{prefix}bill:k:{key_id}:{month}"


def usage_stream(prefix: str) -> str:
    return f"{prefix}usage"


def month_of(unix_s: float) -> int:
    """YYYYMM of a Unix time, UTC: the budget month."""
    t = time.gmtime(unix_s)
    return t.tm_year * 100 + t.tm_mon
