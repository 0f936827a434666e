"""One worker's share of a global limit (pure: no I/O, the clock is passed in).

A global limit lives in Redis as a sliding-window log (kind "w", `proxy.limits.script`) or a
day counter (kind "d"). A worker spends **grants** ("chunks") of it locally, without a round
trip. Every chunk is an entry of the global log, stamped when Redis granted it, and may be
spent only until `ttl` after the round that asked for it was sent; the leftover is then
handed back (the entry shrinks). Redis counts entries for `span` = window + ttl, so each
spent unit stays counted for at least a whole window after it was spent, and every unit spent
was granted within the limit: **no rolling window admits more than the limit, across every
worker and replica**. Idle grants go back after `_IDLE_S`; refunds (real usage below a
reservation) shrink the entries the reservation took from; debts are added as new entries.

A grant holds what waiting requests need; headroom (twice the units spent per round) is asked
only by keys that admit at least 2 requests per round, so at low rates every admission is one
Redis round and `remaining` is exact.

Degraded mode (Redis unreachable, or standalone): the lease admits from `local`, a window of
limit / n for n known replicas, seeded with this worker's share of the last known usage; what
it admitted is charged to Redis when it returns.

Exactness at the edge: each round also reports what the worker holds unspent, and a request
that finds the window full while other live workers hold unspent grants waits for them to be
spent or handed back (grants expire after the TTL) instead of being refused early.

`decide` answers ADMITTED (taken; `taken` names the entries), WAIT (ask the sync loop, then
decide again) or a positive number of seconds after which a retry can succeed (refused).
"""

from __future__ import annotations

import math

from proxy.limits import window as W

ADMITTED = 0.0
WAIT = -1.0
_IDLE_S = 1.0  # unused grants older than this go back to Redis
LOCAL = ""  # the entry name of admissions from the local window (degraded mode)


class Chunk:
    __slots__ = ("entry", "expires", "left")

    def __init__(self, entry: str, expires: float, left: float) -> None:
        self.entry = entry
        self.expires = expires
        self.left = left


class Lease:
    __slots__ = ("kind", "limit", "window", "ttl", "ends", "chunks", "returns", "debt", "demand", "probe", "epoch",
                 "used", "count", "predicted", "predicted_count", "view_used", "view_at", "next_free", "full_free",
                 "synced", "last_used", "local", "degraded_used", "taken", "others_held", "reported")

    def __init__(self, limit: float, window: float, ttl: float, kind: str = "w", ends: float = math.inf) -> None:
        self.kind = kind
        self.limit = limit
        self.window = window
        self.ttl = ttl
        self.ends = ends  # a day counter's end (local clock); inf for a window
        self.chunks: list[Chunk] = []
        self.returns: dict[str, float] = {}  # entry -> units to hand back at the next round
        self.debt = 0.0  # units to add at the next round (usage above a reservation)
        self.demand = 0.0  # what waiting requests need
        self.probe = math.inf  # the smallest cost waiting
        self.epoch = 0  # rounds that collected demand (a waiter registers once per round)
        self.used = 0.0  # spent since the last round
        self.count = 0  # admissions since the last round
        self.predicted = 0.0  # EWMA of `used` per round
        self.predicted_count = 0.0
        self.view_used = 0.0  # the global amount in the window at the last round (all grants)
        self.view_at = -math.inf  # when that round was sent
        self.next_free = 0.0  # when the smallest waiting cost fits again (as of that round)
        self.full_free = 0.0  # when the window empties (as of that round)
        self.synced = False
        self.last_used = 0.0
        self.local: W.Window | None = None  # set in degraded mode
        self.degraded_used = 0.0
        self.taken: list[tuple[str, float]] = []  # the entries the last admission took from
        self.others_held = 0.0  # units other live workers hold unspent (as of the last round)
        self.reported = 0.0  # what this worker last told Redis it holds

    @property
    def span(self) -> float:
        """How long Redis counts an entry: a window plus the longest a grant may wait to be spent."""
        return self.window + self.ttl


def _expire(lease: Lease, now: float) -> None:
    chunks = lease.chunks
    while chunks and chunks[0].expires <= now:
        chunk = chunks.pop(0)
        if chunk.left > 0:
            lease.returns[chunk.entry] = lease.returns.get(chunk.entry, 0.0) + chunk.left


def allowance(lease: Lease) -> float:
    return sum(c.left for c in lease.chunks)


def decide(lease: Lease, cost: float, now: float, since: float) -> float:
    """Admit `cost` now, WAIT for a round, or refuse (seconds until a retry can succeed).
    `since`: when the request began waiting (a round sent after it is a fresh enough view)."""
    local = lease.local
    if local is not None:
        if W.try_take(local, cost, now):
            lease.degraded_used += cost
            lease.taken = [(LOCAL, cost)]
            lease.last_used = now
            return ADMITTED
        return max(W.wait_s(local, cost, now), 0.001)
    chunks = lease.chunks
    if chunks and chunks[0].left >= cost and chunks[0].expires > now:  # the common case: one grant covers it
        first = chunks[0]
        first.left -= cost
        lease.taken = [(first.entry, cost)]
        if first.left <= 0:
            chunks.pop(0)
        lease.used += cost
        lease.count += 1
        lease.last_used = now
        return ADMITTED
    _expire(lease, now)
    if allowance(lease) >= cost:
        taken, need = [], cost
        for chunk in lease.chunks:
            take = min(chunk.left, need)
            if take > 0:
                chunk.left -= take
                need -= take
                taken.append((chunk.entry, take))
            if need <= 0:
                break
        lease.chunks = [c for c in lease.chunks if c.left > 0]
        lease.taken = taken
        lease.used += cost
        lease.count += 1
        lease.last_used = now
        return ADMITTED
    if lease.synced and lease.view_at >= since and available(lease) < cost and lease.others_held < cost:
        return max(lease.next_free - now, 0.001)  # full, and nothing granted elsewhere can come back
    return WAIT


def ask(lease: Lease, cost: float) -> int:
    """A waiting request's need, counted once per round: returns the epoch it was counted in."""
    lease.demand += cost
    lease.probe = min(lease.probe, cost)
    return lease.epoch


def available(lease: Lease) -> float:
    """Units this worker may still spend, as far as it knows (the window's rest + own grants)."""
    return max(0.0, lease.limit - lease.view_used) + allowance(lease)


def refund(lease: Lease, taken: list[tuple[str, float]], amount: float) -> None:
    """Give back `amount` of an admission that took `taken` (newest entry first)."""
    for entry, got in reversed(taken):
        back = min(got, amount)
        if back <= 0:
            break
        amount -= back
        if entry == LOCAL:
            if lease.local is not None:
                W.give_back(lease.local, back)
                lease.degraded_used -= back
        else:
            lease.returns[entry] = lease.returns.get(entry, 0.0) + back


def charge(lease: Lease, amount: float, now: float) -> None:
    """Charge `amount` after the fact (usage above a reservation): counted, never refused."""
    if amount <= 0:
        return
    if lease.local is not None:
        W.charge(lease.local, amount, now)
        lease.degraded_used += amount
    else:
        lease.debt += amount


def remaining(lease: Lease, now: float) -> float:
    """Units a client may still spend now, as far as this worker knows (for headers)."""
    local = lease.local
    if local is not None:
        return W.remaining(local, now) * (lease.limit / local.limit if local.limit else 1.0)
    if not lease.synced:
        return lease.limit
    return min(lease.limit, available(lease))


def exhausted(lease: Lease, cost: float, now: float) -> bool:
    """Known not to fit `cost` now: the local window says so, or the last round did and the
    moment it named for the next free unit has not come yet (after it, only a round can tell)."""
    if lease.local is not None:
        return W.remaining(lease.local, now) * (lease.limit / lease.local.limit if lease.local.limit else 1.0) < cost
    return lease.synced and now < lease.next_free and available(lease) < cost


def reset(lease: Lease, now: float, left: float) -> float:
    """Seconds until the next unit frees when exhausted (`left` < 1), else until the whole window is free."""
    local = lease.local
    if local is not None:
        return W.reset_s(local, now) if left >= 1 else W.wait_s(local, 1.0, now)
    if not lease.synced:
        return 0.0
    return max(0.0, (lease.full_free if left >= 1 else lease.next_free) - now)


def want(lease: Lease, now: float) -> tuple[float, float]:
    """(units waiting requests need, headroom) to ask at this round; idle grants go back."""
    _expire(lease, now)
    held = allowance(lease)
    if held > 0 and lease.demand == 0 and now - lease.last_used > _IDLE_S:
        for chunk in lease.chunks:
            lease.returns[chunk.entry] = lease.returns.get(chunk.entry, 0.0) + chunk.left
        lease.chunks = []
        return 0.0, 0.0
    need = max(0.0, lease.demand - held)
    extra = 2 * lease.predicted if lease.predicted_count >= 2 else 0.0
    extra = max(0.0, extra - max(0.0, held - lease.demand))
    return min(need, lease.limit), min(extra, lease.limit)


def granted(lease: Lease, grant: float, entry: str, used: float, wait: float, reset_in: float,
            sent_at: float, now: float) -> None:
    """Apply a round's answer for this lease (the round was sent at `sent_at`)."""
    if grant > 0:
        lease.chunks.append(Chunk(entry, min(sent_at + lease.ttl, lease.ends), grant))
    lease.view_used = used
    lease.view_at = sent_at
    lease.next_free = now + wait
    lease.full_free = now + reset_in
    lease.synced = True
    lease.predicted = 0.5 * lease.predicted + 0.5 * lease.used
    lease.predicted_count = 0.5 * lease.predicted_count + 0.5 * lease.count
    lease.used = 0.0
    lease.count = 0


def degrade(lease: Lease, replicas: int, now: float) -> None:
    """Redis is gone: admit from this worker's share (limit / replicas) of the window."""
    if lease.local is not None:
        return
    n = max(1, replicas)
    span = lease.window if lease.kind == "w" else max(lease.ends - now, 0.0) + 1.0
    local = lease.local = W.Window(lease.limit / n, span)
    if lease.synced and lease.full_free > now:  # what the window held, until it would have emptied
        W.charge(local, min(max(lease.view_used - allowance(lease), 0.0), lease.limit) / n,
                 lease.full_free - span if lease.kind == "w" else now)
    lease.chunks = []
    lease.degraded_used = 0.0
    lease.demand = 0.0


def recover(lease: Lease) -> None:
    """Redis is back: charge what was admitted locally (at most the limit) and resync."""
    if lease.local is None:
        return
    lease.debt += min(max(lease.degraded_used, 0.0), lease.limit)
    lease.local = None
    lease.degraded_used = 0.0
    lease.synced = False
