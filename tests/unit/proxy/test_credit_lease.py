"""Credit leases (pure): what a worker may spend locally is always what Redis granted it, a
charge reaches Redis once, and idle credit goes back. A tiny model of the lease script stands
in for Redis (the real script runs in tests/integration/billing)."""

from __future__ import annotations

from proxy.billing import lease as L


class FakeRedis:
    """The lease script's arithmetic for one hash and one worker: left = limit - spent - lease."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0
        self.lease = 0
        self.last_seq = 0

    def round(self, op: L.LeaseOp) -> None:
        if op.report and op.seq > self.last_seq:
            self.spent += op.report
            self.last_seq = op.seq
        left = self.limit - self.spent
        self.lease = max(op.floor, min(op.want, left))
        L.apply(op, self.lease, left - self.lease, 0, False)


def held(lease: L.CreditLease) -> int:
    return lease.free + lease.inflight + lease.unreported


def test_requests_never_spend_more_than_redis_granted() -> None:
    redis, lease = FakeRedis(1_000_000), L.CreditLease("k", 1_000_000)
    lease.demand = 100_000 * 30  # 30 requests of $0.10 wait
    op = L.plan(lease, 0.0, 50_000_000, 1)
    assert op is not None
    redis.round(op)
    admitted = 0
    while lease.free >= 100_000:
        L.take(lease, 100_000, 0.0)
        admitted += 1
    assert admitted == 10  # $1 of budget, $0.10 each: exactly ten
    assert L.verdict(lease, 100_000, 0, 1) == L.REFUSE  # Redis has nothing left: a 402, not a wait
    assert held(lease) == redis.lease == 1_000_000


def test_a_charge_is_reported_once_even_when_the_round_is_retried() -> None:
    redis, lease = FakeRedis(10_000_000), L.CreditLease("a", -1)
    lease.demand = 500
    op = L.plan(lease, 0.0, 50_000_000, 1)
    assert op is not None
    redis.round(op)
    L.take(lease, 500, 0.0)
    L.settle(lease, 500, 120)  # the request cost 120 of its 500 reservation
    first = L.plan(lease, 0.0, 50_000_000, 2)
    assert first is not None and first.report == 120
    redis.round(first)  # Redis applied it, but the answer was lost:
    L.failed(first)
    lease.reporting = 120  # (as after a failed round: the report is kept)
    again = L.plan(lease, 0.0, 50_000_000, 3)
    assert again is not None and again.seq == first.seq and again.report == 120
    redis.round(again)
    assert redis.spent == 120


def test_idle_credit_returns_to_redis() -> None:
    redis, lease = FakeRedis(10_000_000), L.CreditLease("a", -1)
    lease.demand = 1_000
    op = L.plan(lease, 0.0, 50_000_000, 1)
    assert op is not None
    redis.round(op)
    L.take(lease, 1_000, 0.0)
    L.settle(lease, 1_000, 1_000)
    op = L.plan(lease, 0.1, 50_000_000, 2)  # busy: keeps headroom for the next requests
    assert op is not None
    redis.round(op)
    assert lease.free > 0
    op = L.plan(lease, 5.0, 50_000_000, 3)  # unused for over a second
    assert op is not None
    redis.round(op)
    assert lease.free == 0 and redis.lease == 0 and redis.spent == 1_000


def test_requests_in_flight_keep_their_credit_when_the_lease_shrinks() -> None:
    redis, lease = FakeRedis(1_000_000), L.CreditLease("k", 1_000_000)
    lease.demand = 300_000
    op = L.plan(lease, 0.0, 50_000_000, 1)
    assert op is not None
    redis.round(op)
    L.take(lease, 300_000, 0.0)
    op = L.plan(lease, 5.0, 50_000_000, 2)  # idle target 0, but 300,000 is in flight
    assert op is not None and op.floor == 300_000
    redis.round(op)
    assert redis.lease == 300_000 == held(lease)
