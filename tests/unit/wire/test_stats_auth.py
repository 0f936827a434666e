"""Upstream 401/403 counts in the proxies' stats reports: new ones are counted once."""

from __future__ import annotations

from wire.stats import StatsReport, decode_report, encode_report, new_auth_failures


def test_cumulative_worker_counts_become_new_failures_once() -> None:
    seen: dict[tuple[str, str], int] = {}
    a1 = StatsReport(worker="a", at=100, auth_failures=(("l1", 2),))
    b1 = StatsReport(worker="b", at=100, auth_failures=(("l1", 1), ("l2", 4)))
    assert new_auth_failures([a1, b1], seen, 100) == {"l1": 3, "l2": 4}
    assert new_auth_failures([a1, b1], seen, 101) == {}  # the same reports again: nothing new
    a2 = StatsReport(worker="a", at=102, auth_failures=(("l1", 5),))
    assert new_auth_failures([a2, b1], seen, 102) == {"l1": 3}
    assert new_auth_failures([StatsReport(worker="c", at=0, auth_failures=(("l3", 9),))], seen, 1000) == {}  # stale
    assert decode_report(encode_report(a2)) == a2
