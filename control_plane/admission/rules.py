"""Contract states and probe timing (pure).

A contract is `active` while its checks pass. A failed check (a failed probe, or a batch of
upstream 401/403 answers reported by proxies) is a strike: the first degrades the contract,
`suspend_after` strikes in a row suspend it. A passing check clears the strikes and brings a
degraded contract back to active; a suspended one stays suspended until the seller calls
unsuspend after a passing check (`POST /v1/market/contracts/:id/reverify` first).

Timing: an admitted listing is probed again after `interval` seconds +-20 % (jitter keeps a
fleet's probes apart); after a failed probe the next one comes after `retry * 2^(failures-1)`
(+-20 %), at most `retry_max`.
"""

from __future__ import annotations

import random
from typing import Literal

State = Literal["active", "degraded", "suspended"]


def after_check(state: State, strikes: int, passed: bool, suspend_after: int) -> tuple[State, int]:
    """(state, strikes) after one check."""
    if passed:
        return ("suspended" if state == "suspended" else "active"), 0
    strikes += 1
    if state == "suspended" or strikes >= suspend_after:
        return "suspended", strikes
    return "degraded", strikes


def jittered(seconds: float, rng: random.Random | None = None) -> float:
    return seconds * (rng or random).uniform(0.8, 1.2)


def next_probe_in(passed: bool, failures: int, interval: float, retry: float, retry_max: float,
                  rng: random.Random | None = None) -> float:
    """Seconds until the next scheduled probe; `failures`: failed probes in a row, this one included."""
    if passed:
        return jittered(interval, rng)
    return jittered(min(retry_max, retry * 2 ** max(0, failures - 1)), rng)
