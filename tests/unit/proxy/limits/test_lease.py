from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proxy.limits import lease as L


def test_cold_lease_waits_then_spends_its_grant() -> None:
    lease = L.Lease(60, 1.0)
    assert L.decide(lease, 1, 0.0) == L.WAIT
    assert L.want(lease, 0.0) == 1
    L.granted(lease, 1, 59, 0.0, 0.0)
    assert L.decide(lease, 1, 0.0) == L.ADMITTED
    assert L.decide(lease, 1, 0.0) == L.WAIT  # the global bucket had tokens: ask again
    L.granted(lease, 0, 0.0, 0.0, 0.0)
    assert L.decide(lease, 1, 0.5) == 0.5  # known empty: refused with an honest wait


def test_idle_allowance_goes_back() -> None:
    lease = L.Lease(60, 1.0)
    L.granted(lease, 5, 50, 0.0, 0.0)
    assert L.want(lease, 10.0) == 0 and lease.pending == 5 and lease.allowance == 0


def test_degraded_share_and_recovery_charges_local_use() -> None:
    lease = L.Lease(60, 1.0)
    L.granted(lease, 0, 60, 0.0, 0.0)
    L.degrade(lease, 2, 0.0)
    admitted = sum(L.decide(lease, 1, 0.0) == L.ADMITTED for _ in range(100))
    assert admitted == 30
    L.recover(lease)
    assert lease.pending == -30 and not lease.synced


@given(st.lists(st.integers(0, 3), min_size=1, max_size=200), st.integers(1, 4))
def test_workers_never_spend_more_than_redis_granted(rounds: list[int], workers: int) -> None:
    """Model: one Redis bucket (no refill), several leases; admissions <= capacity."""
    redis = 50.0
    leases = [L.Lease(50, 1e-9) for _ in range(workers)]
    admitted = 0
    for i, burst in enumerate(rounds):
        lease = leases[i % workers]
        admitted += sum(L.decide(lease, 1, float(i)) == L.ADMITTED for _ in range(burst))
        want = L.want(lease, float(i))
        redis += lease.pending
        got = min(want, max(redis, 0.0)) if redis > 0 else 0.0
        redis -= got
        L.granted(lease, got, redis, lease.pending, float(i))
    assert admitted <= 50
