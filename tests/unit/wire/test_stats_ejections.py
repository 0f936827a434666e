"""Breaker ejections in the proxies' stats reports: what a seller's `ejections` stat counts."""

from __future__ import annotations

from proxy.routing.stats import StatsBook
from proxy.stats_report import StatsReporter
from wire.stats import StatsReport, decode_report, ejection_counts, encode_report


def test_a_workers_ejections_reach_its_report() -> None:
    now = [0.0]
    book = StatsBook(consecutive=2, clock=lambda: now[0])
    peers = ("bad", "good")
    for _ in range(2):
        book.record_failure("bad", peers)
    book.record_success("good", 100.0)
    assert book.is_ejected("bad", now[0])
    now[0] = 1000.0  # the ejection is over; the half-open probe fails: ejected again
    book.record_failure("bad", peers)
    report = StatsReporter("redis://127.0.0.1:1", "t:", book, 1.0).report()
    assert report.ejections == (("bad", 2),)
    assert decode_report(encode_report(report)).ejections == (("bad", 2),)


def test_ejections_are_summed_over_fresh_worker_reports() -> None:
    a = StatsReport(worker="a", at=100, ejections=(("l1", 2), ("l2", 1)))
    b = StatsReport(worker="b", at=100, ejections=(("l1", 3),))
    stale = StatsReport(worker="c", at=0, ejections=(("l1", 50),))
    assert ejection_counts([a, b, stale], 150) == {"l1": 5, "l2": 1}
    assert ejection_counts([], 150) == {}
