"""The Redis layout of spendable credit and budgets, shared by the proxy (reserves, settles holds)
and the control plane (writes credit, rebuilds after a loss). PostgreSQL is the truth; this is
the hot path's fast, atomic view of it.

- `{p}bill:ready`           exists while the state is loaded; missing -> rebuilt from PostgreSQL
- `{p}bill:a:{account}`     hash: `credit` (all credits ever posted, PostgreSQL), `spent` (charges
                            of finished requests), `held` (reservations in flight).
                            available = credit - spent - held
- `{p}bill:k:{key}:{YYYYMM}` hash: `spent`, `held` of one key in one budget month (UTC)
- `{p}bill:h:{request}`     one hold: "account|key|month|amount", expires after the hold TTL
- `{p}bill:g:{request}`     the account a request belongs to (for /v1/generation while pending)
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


def hold_key(prefix: str, request_id: str) -> str:
    return f"{prefix}bill:h:{request_id}"


def pending_key(prefix: str, request_id: str) -> str:
    return f"{prefix}bill:g:{request_id}"


def usage_stream(prefix: str) -> str:
    return f"{prefix}usage"


def month_of(unix_s: float) -> int:
    """YYYYMM of a Unix time, UTC: the budget month."""
    t = time.gmtime(unix_s)
    return t.tm_year * 100 + t.tm_mon
