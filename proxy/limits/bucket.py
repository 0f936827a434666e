"""A token bucket with an injected clock (pure: no I/O, no clock reads).

`capacity` tokens at most, refilled continuously at `rate` tokens per second: in any interval
of t seconds it admits at most capacity + rate * t. Used for the per-IP guard on failed keys
(`proxy.limits.ipguard`); buyer and seller limits are sliding windows (`proxy.limits.window`).
Tokens may go negative (debt); the bucket then refuses until refilled.
"""

from __future__ import annotations

import math


class Bucket:
    __slots__ = ("capacity", "rate", "tokens", "stamp")

    def __init__(self, capacity: float, rate: float, tokens: float, stamp: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = tokens
        self.stamp = stamp


def full(capacity: float, rate: float, now: float) -> Bucket:
    return Bucket(capacity, rate, capacity, now)


def level(bucket: Bucket, now: float) -> float:
    """Tokens available at `now` (refills the bucket; time never runs backwards)."""
    if now > bucket.stamp:
        bucket.tokens = min(bucket.capacity, bucket.tokens + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now
    return bucket.tokens


def try_take(bucket: Bucket, cost: float, now: float) -> bool:
    """Take `cost` tokens if they are all there; otherwise take nothing."""
    if level(bucket, now) >= cost:
        bucket.tokens -= cost
        return True
    return False


def give(bucket: Bucket, amount: float, now: float) -> None:
    """Return (amount > 0) or charge (amount < 0) tokens; never above capacity."""
    level(bucket, now)
    bucket.tokens = min(bucket.capacity, bucket.tokens + amount)


def wait_s(tokens: float, cost: float, rate: float) -> float:
    """Seconds until `tokens` refilled at `rate` reach `cost` (0 if already there; inf if never)."""
    missing = cost - tokens
    if missing <= 0:
        return 0.0
    return math.inf if rate <= 0 else missing / rate


def reset_s(tokens: float, capacity: float, rate: float) -> float:
    """Seconds until the bucket would be full again with no more traffic."""
    return wait_s(tokens, capacity, rate)
