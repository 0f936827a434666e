from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proxy.limits.bucket import full, give, level, reset_s, try_take, wait_s


def test_burst_then_refill() -> None:
    b = full(60, 1.0, now=0.0)
    assert sum(try_take(b, 1, 0.0) for _ in range(100)) == 60
    assert not try_take(b, 1, 0.5) and try_take(b, 1, 1.0)
    assert wait_s(level(b, 1.0), 1, b.rate) == 1.0


def test_debt_blocks_until_refilled() -> None:
    b = full(10, 2.0, now=0.0)
    give(b, -20, 0.0)
    assert level(b, 0.0) == -10 and not try_take(b, 1, 5.0) and try_take(b, 1, 5.5)
    assert reset_s(0.0, 10, 2.0) == 5.0


@given(st.lists(st.tuples(st.floats(0, 2), st.integers(1, 5)), max_size=300),
       st.integers(1, 100), st.floats(0.1, 50))
def test_never_admits_more_than_capacity_plus_refill(steps: list[tuple[float, int]], cap: int, rate: float) -> None:
    b = full(cap, rate, now=0.0)
    now = taken = 0.0
    for dt, cost in steps:
        now += dt
        if try_take(b, cost, now):
            taken += cost
        assert taken <= cap + rate * now + 1e-6
        assert b.tokens <= cap
