"""One worker's share of a global limit (pure: no I/O, the clock is passed in).

A global limit lives in Redis as one token bucket (capacity, rate). Each worker holds a
`Lease`: tokens Redis granted it (`allowance`), spent locally with no round trip. The sync
loop (`redis_sync`) asks for more before they run out (`want`), returns tokens that sit idle
and charges debts (`pending`, signed). Since every admitted token was first taken from the
Redis bucket, the global admitted count never exceeds what one bucket would admit; waiting
for a grant is bounded (the caller falls back to the local share).

Degraded mode (Redis unreachable, or standalone without Redis): the lease admits from
`local`, a bucket of capacity/n and rate/n for n known replicas, started from the share of
the last known global level; what it admits is charged to Redis when it returns.

`decide` answers ADMITTED (taken), WAIT (ask the sync loop, then decide again) or a
positive number of seconds after which a retry can succeed (refused).
"""

from __future__ import annotations

from proxy.limits.bucket import Bucket, give, level, try_take, wait_s

ADMITTED = 0.0
WAIT = -1.0
_IDLE_S = 1.0  # unused allowance older than this goes back to Redis


class Lease:
    __slots__ = ("capacity", "rate", "allowance", "pending", "demand", "used", "predicted", "global_tokens",
                 "global_at", "synced", "last_used", "local", "degraded_used")

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.allowance = 0.0  # granted by Redis, not yet spent
        self.pending = 0.0  # to add to the Redis bucket at the next sync (< 0: a debt)
        self.demand = 0.0  # tokens waiting requests need
        self.used = 0.0  # spent since the last sync
        self.predicted = 0.0  # EWMA of `used` per sync round
        self.global_tokens = capacity  # Redis bucket level after the last sync
        self.global_at = 0.0
        self.synced = False
        self.last_used = 0.0
        self.local: Bucket | None = None  # set in degraded mode
        self.degraded_used = 0.0


def global_level(lease: Lease, now: float) -> float:
    """This worker's estimate of the Redis bucket's level now (other workers' spending unseen)."""
    refill = max(0.0, now - lease.global_at) * lease.rate
    return min(lease.capacity, lease.global_tokens + refill)


def decide(lease: Lease, cost: float, now: float) -> float:
    local = lease.local
    if local is not None:
        if try_take(local, cost, now):
            lease.degraded_used += cost
            lease.last_used = now
            return ADMITTED
        return max(wait_s(local.tokens, cost, local.rate), 0.001)
    if lease.allowance >= cost:
        lease.allowance -= cost
        lease.used += cost
        lease.last_used = now
        return ADMITTED
    available = lease.allowance + global_level(lease, now)
    if not lease.synced or available >= cost:
        lease.demand += cost
        return WAIT
    return max(wait_s(available, cost, lease.rate), 0.001)


def refund(lease: Lease, amount: float, now: float) -> None:
    """Give back (amount > 0) or charge (amount < 0) tokens after the fact (e.g. real usage)."""
    if lease.local is not None:
        give(lease.local, amount, now)
        lease.degraded_used -= amount
    elif amount >= 0:
        lease.allowance += amount
    else:
        lease.pending += amount


def remaining(lease: Lease, now: float) -> float:
    """Tokens a client may still spend now, as far as this worker knows (for headers)."""
    local = lease.local
    if local is not None:
        return max(0.0, level(local, now) * (lease.capacity / local.capacity if local.capacity else 1.0))
    return max(0.0, min(lease.capacity, lease.allowance + global_level(lease, now)))


def want(lease: Lease, now: float) -> float:
    """Tokens to ask Redis for at this sync (moves idle allowance to `pending`)."""
    if lease.allowance > 0 and lease.demand == 0 and now - lease.last_used > _IDLE_S:
        lease.pending += lease.allowance
        lease.allowance = 0.0
        return 0.0
    wanted = lease.demand + 2 * lease.predicted - lease.allowance  # headroom: a round of growth
    if not lease.synced and wanted <= 0:
        wanted = 0.0  # a first sync just reads the global level
    return min(max(wanted, 0.0), lease.capacity)


def granted(lease: Lease, tokens: float, global_tokens: float, sent_pending: float, now: float) -> None:
    """Apply a sync answer: `tokens` granted, the Redis bucket now at `global_tokens`."""
    lease.allowance += tokens
    lease.pending -= sent_pending
    lease.global_tokens = global_tokens
    lease.global_at = now
    lease.synced = True
    lease.predicted = 0.5 * lease.predicted + 0.5 * lease.used
    lease.used = 0.0


def degrade(lease: Lease, replicas: int, now: float) -> None:
    """Redis is gone: admit from this worker's share (limit / replicas) of what was left."""
    if lease.local is not None:
        return
    n = max(1, replicas)
    cap = lease.capacity / n
    start = lease.allowance + (global_level(lease, now) / n if lease.synced else cap)
    lease.local = Bucket(cap, lease.rate / n, min(start, cap), now)
    lease.allowance = 0.0
    lease.degraded_used = 0.0
    lease.demand = 0.0


def recover(lease: Lease) -> None:
    """Redis is back: charge what was admitted locally (at most one bucket) and resync."""
    if lease.local is None:
        return
    lease.pending -= min(max(lease.degraded_used, 0.0), lease.capacity)
    lease.local = None
    lease.degraded_used = 0.0
    lease.synced = False
