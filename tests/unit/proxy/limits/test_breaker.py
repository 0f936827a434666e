from __future__ import annotations

from proxy.limits.breaker import Breaker
from proxy.limits.ipguard import IpGuard


def test_opens_after_threshold_and_probes_with_backoff() -> None:
    b = Breaker(threshold=3, base_backoff=0.5, max_backoff=2.0)
    for t in (0.0, 0.1, 0.2):
        assert b.allow(t)
        b.failure(t)
    assert b.is_open and not b.allow(0.6) and b.allow(0.7)
    b.failure(0.7)  # failed probe: open longer
    assert not b.allow(1.6) and b.allow(1.8)
    b.success()
    assert not b.is_open and b.allow(1.8)


def test_ip_guard_counts_failures_per_ip() -> None:
    g = IpGuard(per_minute=3, max_ips=2)
    for _ in range(3):
        assert g.retry_after("1.1.1.1", 0.0) == 0
        g.charge("1.1.1.1", 0.0)
    assert g.retry_after("1.1.1.1", 0.0) > 0 and g.retry_after("2.2.2.2", 0.0) == 0
    assert g.retry_after("1.1.1.1", 20.0) == 0  # refilled one per 20 s
