"""The sliding window (pure): L in any rolling window, all L at once, honest waits."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from proxy.limits import window as W


def max_in_any_window(events: list[tuple[float, float]], span: float) -> float:
    """The most admitted in any half-open interval [t, t + span) (it suffices to start at events)."""
    best = 0.0
    for i, (start, _) in enumerate(events):
        best = max(best, sum(c for t, c in events[i:] if t < start + span))
    return best


def test_a_free_key_gets_all_ten_at_once_then_the_next_a_minute_after_the_first() -> None:
    win = W.Window(10, 60.0)
    assert [W.try_take(win, 1, 100.0) for _ in range(11)] == [True] * 10 + [False]
    assert W.remaining(win, 100.0) == 0
    assert W.wait_s(win, 1, 130.0) == 30.0  # honest: the first frees 60 s after it was admitted
    assert not W.try_take(win, 1, 159.999)
    assert W.try_take(win, 1, 160.0)
    assert W.reset_s(win, 160.0) == 60.0


def test_remaining_counts_down_on_sequential_requests() -> None:
    win = W.Window(10, 60.0)
    left = []
    for i in range(4):
        assert W.try_take(win, 1, float(i))
        left.append(W.remaining(win, float(i)))
    assert left == [9, 8, 7, 6]


def test_refunds_and_debts() -> None:
    win = W.Window(2000, 60.0)
    assert W.try_take(win, 1500, 0.0)
    assert not W.try_take(win, 1500, 1.0)
    W.give_back(win, 1460)  # real usage was 40
    assert W.try_take(win, 1500, 2.0)
    W.charge(win, 1000, 3.0)  # usage above a reservation: over the limit, refused until it leaves
    assert W.remaining(win, 3.0) == 0 and W.wait_s(win, 1, 3.0) == 59.0  # the 40 leaving is not enough
    assert W.wait_s(win, 5000, 3.0) == math.inf


@given(st.lists(st.tuples(st.floats(0, 30), st.integers(1, 5), st.booleans()), max_size=150),
       st.integers(1, 20), st.sampled_from([1.0, 7.5, 60.0]))
def test_no_rolling_window_ever_admits_more_than_the_limit(
        steps: list[tuple[float, int, bool]], limit: int, span: float) -> None:
    win = W.Window(limit, span)
    now, admitted = 0.0, []
    for dt, cost, at_once in steps:
        now += 0.0 if at_once else dt
        if W.try_take(win, cost, now):
            admitted.append((now, float(cost)))
        else:  # the wait is honest: the same cost fits exactly then, not a moment before
            wait = W.wait_s(win, cost, now)
            if wait != math.inf:
                probe = W.Window(limit, span)
                probe.entries, probe.used = type(win.entries)(list(e) for e in win.entries), win.used
                assert W.try_take(probe, cost, now + wait + 1e-9)  # (float rounding aside)
    assert max_in_any_window(admitted, span) <= limit


@given(st.integers(1, 50))
def test_all_l_may_come_at_once(limit: int) -> None:
    win = W.Window(limit, 60.0)
    assert sum(W.try_take(win, 1, 5.0) for _ in range(limit + 10)) == limit
