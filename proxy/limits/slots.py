"""One worker's share of a global concurrency cap (pure: no I/O, the clock is passed in).

Redis records how many slots each live worker holds for a listing; a worker admits while
its in-flight count is below its holding, and asks for more (or gives back idle ones) in
the background. The sum of holdings never exceeds the cap, so neither does the global
in-flight count. Degraded mode: cap / n replicas, locally.
"""

from __future__ import annotations

from proxy.limits.lease import ADMITTED, WAIT

RETRY_S = 1.0  # slots free when streams end: no refill rate to compute a wait from
_IDLE_S = 1.0


class Slots:
    __slots__ = ("limit", "held", "in_flight", "demand", "free", "synced", "last_used", "local_limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0  # granted by Redis
        self.in_flight = 0
        self.demand = 0
        self.free = limit  # unheld slots in Redis after the last sync
        self.synced = False
        self.last_used = 0.0
        self.local_limit: int | None = None  # set in degraded mode


def acquire(slots: Slots, now: float) -> float:
    cap = slots.held if slots.local_limit is None else slots.local_limit
    if slots.in_flight < cap:
        slots.in_flight += 1
        slots.last_used = now
        return ADMITTED
    if slots.local_limit is None and (not slots.synced or slots.free > 0):
        slots.demand += 1
        return WAIT
    return RETRY_S


def release(slots: Slots) -> None:
    slots.in_flight = max(0, slots.in_flight - 1)


def is_full(slots: Slots) -> bool:
    """At the cap as far as this worker knows (routing skips the listing)."""
    if slots.local_limit is not None:
        return slots.in_flight >= slots.local_limit
    return slots.synced and slots.in_flight >= slots.held and slots.free <= 0


def want(slots: Slots, now: float) -> int:
    """How many slots to hold after this sync."""
    if slots.local_limit is not None:
        return slots.in_flight
    spare = 1 if now - slots.last_used <= _IDLE_S else 0
    return min(slots.limit, slots.in_flight + slots.demand + spare)


def granted(slots: Slots, held: int, free: int) -> None:
    slots.held = held
    slots.free = free
    slots.demand = 0
    slots.synced = True


def degrade(slots: Slots, replicas: int) -> None:
    if slots.local_limit is None:
        slots.local_limit = max(1, slots.limit // max(1, replicas))
        slots.demand = 0


def recover(slots: Slots) -> None:
    slots.local_limit = None
    slots.synced = False
