from __future__ import annotations

from proxy.routing.budget import RetryBudget
from proxy.routing.stats import StatsBook


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_ewma_moves_toward_new_samples() -> None:
    book = StatsBook(alpha=0.5)
    book.record_success("a", 100.0)
    book.record_success("a", 200.0)
    assert book.health["a"].ttft_ms == 150.0
    book.record_failure("a", ["a", "b"])
    assert book.health["a"].error_rate == 0.5


def test_consecutive_failures_eject_with_growing_backoff_then_probe() -> None:
    clock = Clock()
    book = StatsBook(consecutive=3, base_eject_s=10, max_eject_s=25, clock=clock)
    peers = ["a", "b", "c", "d"]
    assert [book.record_failure("a", peers) for _ in range(3)] == [False, False, True]
    h = book.health["a"]
    assert book.unavailable(h, clock.t) and h.ejected_until == clock.t + 10
    clock.t += 10  # back-off over: half-open, one probe per interval
    assert not book.unavailable(h, clock.t)
    book.took("a", clock.t)
    assert book.unavailable(h, clock.t)  # the probe is taken
    assert book.record_failure("a", peers)  # the probe failed: ejected again, for longer
    assert h.ejected_until == clock.t + 20
    clock.t += 20
    book.record_failure("a", peers)
    assert h.ejected_until == clock.t + 25  # capped
    clock.t += 25
    book.record_success("a", 100.0)
    assert h.ejected_until == 0.0 and not book.unavailable(h, clock.t) and h.ejections_total == 3


def test_never_more_than_the_share_of_a_models_listings_ejected() -> None:
    book = StatsBook(consecutive=1, max_ejected_share=0.5)
    peers = ["a", "b", "c", "d"]
    assert book.record_failure("a", peers) and book.record_failure("b", peers)
    assert not book.record_failure("c", peers)  # 2 of 4 already out
    assert not book.record_failure("solo", ["solo"])  # a model's only listing is never ejected


def test_retry_budget_caps_retries_at_a_share_of_active_requests() -> None:
    budget = RetryBudget(share=0.2, min_retries=3)
    for _ in range(50):
        budget.start()
    granted = sum(budget.try_retry() for _ in range(30))
    assert granted == 10 and budget.refused == 20
    budget.retry_done()
    assert budget.try_retry()
