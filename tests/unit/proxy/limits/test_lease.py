"""One worker's lease of a global window (pure): grants, expiry, refunds, degraded share."""

from __future__ import annotations

from proxy.limits import lease as L


def test_cold_lease_waits_then_spends_its_grant_and_counts_down() -> None:
    lease = L.Lease(10, 60.0, 0.25)
    assert L.decide(lease, 1, 0.0, 0.0) == L.WAIT
    L.ask(lease, 1)
    assert L.want(lease, 0.0) == (1, 0)
    L.granted(lease, 1, "e1", 1, 0.0, 60.25, 0.0, 0.0)
    assert L.decide(lease, 1, 0.0, 0.0) == L.ADMITTED and lease.taken == [("e1", 1)]
    assert L.remaining(lease, 0.0) == 9


def test_a_fresh_view_of_a_full_window_refuses_with_the_moment_it_frees() -> None:
    lease = L.Lease(10, 60.0, 0.25)
    L.granted(lease, 0, "e1", 10, 42.0, 60.25, 5.0, 5.0)
    assert L.decide(lease, 1, 5.0, 5.0) == 42.0
    assert L.decide(lease, 1, 6.0, 6.0) == L.WAIT  # a newer request asks Redis again
    assert L.reset(lease, 5.0, L.remaining(lease, 5.0)) == 42.0


def test_grants_expire_and_go_back_and_idle_ones_too() -> None:
    lease = L.Lease(100, 60.0, 0.25)
    L.granted(lease, 5, "e1", 5, 0.0, 60.25, 0.0, 0.0)
    assert L.decide(lease, 1, 0.3, 0.3) == L.WAIT  # past the TTL: not spendable
    assert lease.returns == {"e1": 5}
    L.granted(lease, 5, "e2", 5, 0.0, 60.25, 1.0, 1.0)
    assert L.decide(lease, 1, 1.0, 1.0) == L.ADMITTED
    assert L.want(lease, 1.2) == (0, 0) and lease.returns == {"e1": 5}  # still fresh: kept
    lease.chunks[0].expires = 10.0
    assert L.want(lease, 5.0) == (0, 0) and lease.returns == {"e1": 5, "e2": 4}  # idle > 1 s: handed back


def test_refunds_shrink_the_entries_taken_newest_first() -> None:
    lease = L.Lease(2000, 60.0, 0.25)
    L.granted(lease, 1000, "e1", 1000, 0.0, 60.25, 0.0, 0.0)
    L.granted(lease, 1000, "e2", 2000, 0.0, 60.25, 0.0, 0.0)
    assert L.decide(lease, 1500, 0.0, 0.0) == L.ADMITTED and lease.taken == [("e1", 1000), ("e2", 500)]
    L.refund(lease, lease.taken, 700)
    assert lease.returns == {"e2": 500, "e1": 200}
    L.charge(lease, 30, 0.0)
    assert lease.debt == 30


def test_degraded_share_and_recovery_charges_local_use() -> None:
    lease = L.Lease(60, 60.0, 0.25)
    L.degrade(lease, 2, 0.0)
    admitted = sum(L.decide(lease, 1, 0.0, 0.0) == L.ADMITTED for _ in range(100))
    assert admitted == 30 and L.remaining(lease, 0.0) == 0
    assert L.decide(lease, 1, 30.0, 30.0) == 30.0  # the local window frees a minute after
    L.recover(lease)
    assert lease.debt == 30 and not lease.synced


def test_headroom_only_for_busy_keys() -> None:
    lease = L.Lease(1000, 60.0, 0.25)
    L.granted(lease, 10, "e1", 10, 0.0, 60.25, 0.0, 0.0)
    for _ in range(10):
        assert L.decide(lease, 1, 0.0, 0.0) == L.ADMITTED
    L.granted(lease, 0, "e2", 10, 0.0, 60.25, 0.0, 0.0)  # a round after 10 admissions
    assert L.want(lease, 0.0) == (0, 10.0)


def test_known_exhausted_only_until_the_moment_the_round_named() -> None:
    lease = L.Lease(5, 60.0, 0.25)
    L.granted(lease, 0, "e1", 5, 42.0, 60.25, 5.0, 5.0)  # full; the first unit frees at 47.0
    assert L.exhausted(lease, 1, 46.9)
    assert not L.exhausted(lease, 1, 47.0)  # routing tries the listing again; the next round tells
