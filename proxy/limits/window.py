"""A sliding-window log (pure: no I/O, the clock is passed in).

A limit of L units per `span` seconds keeps every admission as an entry (stamp, amount). At
`now` the entries with `now - stamp < span` count; an admission of `cost` is taken only if the
counted amount plus `cost` is at most L. Bound: **no interval shorter than `span` ever holds
more than L admitted units** — at the last admission of any such interval every earlier one is
still counted, and that admission was checked against L. All L may be spent at once.

Refunds (`give_back`, e.g. real token usage below a reservation) shrink the newest entries;
debts (`charge`, usage above a reservation) are added without a check, so the window may go
over L and then refuses until enough entries leave it. The same rules run in Redis
(`proxy.limits.script`, kind "w") for the global limit; this module is the degraded-mode
local limit and the reference the property tests hold it to.
"""

from __future__ import annotations

import math
from collections import deque


class Window:
    __slots__ = ("limit", "span", "entries", "used")

    def __init__(self, limit: float, span: float) -> None:
        self.limit = limit
        self.span = span
        self.entries: deque[list[float]] = deque()  # [stamp, amount], oldest first
        self.used = 0.0


def prune(window: Window, now: float) -> None:
    """Drop the entries that left the window (stamp <= now - span)."""
    entries = window.entries
    cutoff = now - window.span
    while entries and entries[0][0] <= cutoff:
        window.used -= entries.popleft()[1]
    if not entries:
        window.used = 0.0


def remaining(window: Window, now: float) -> float:
    prune(window, now)
    return max(0.0, window.limit - window.used)


def try_take(window: Window, cost: float, now: float) -> bool:
    """Take `cost` if it fits in the window now; otherwise take nothing."""
    prune(window, now)
    if window.used + cost > window.limit:
        return False
    charge(window, cost, now)
    return True


def charge(window: Window, amount: float, now: float) -> None:
    """Add `amount` at `now` without a check (a debt; the window may go over its limit)."""
    if amount <= 0:
        return
    entries = window.entries
    if entries and entries[-1][0] >= now:
        entries[-1][1] += amount
    else:
        entries.append([now, amount])
    window.used += amount


def give_back(window: Window, amount: float) -> None:
    """Refund `amount` from the newest entries (they were admitted but not used)."""
    entries = window.entries
    while amount > 0 and entries:
        last = entries[-1]
        take = min(amount, last[1])
        last[1] -= take
        window.used -= take
        amount -= take
        if last[1] <= 0:
            entries.pop()


def wait_s(window: Window, cost: float, now: float) -> float:
    """Seconds until `cost` fits (0 if it does now; inf if it never can)."""
    prune(window, now)
    if cost > window.limit:
        return math.inf
    excess = window.used + cost - window.limit
    if excess <= 0:
        return 0.0
    for stamp, amount in window.entries:
        excess -= amount
        if excess <= 0:
            return stamp + window.span - now
    return window.span


def reset_s(window: Window, now: float) -> float:
    """Seconds until the window is empty again with no more traffic."""
    prune(window, now)
    return window.entries[-1][0] + window.span - now if window.entries else 0.0
