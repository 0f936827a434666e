"""This worker's credit leases (`proxy.billing.lease`) and the request-side API over them.

`reserve` takes a request's maximum cost from the account's lease and, when the key has a
monthly budget, from the key-month lease — both or neither — in memory. When a lease is
short, the request asks the background round (`proxy.billing.lease_sync`) for more and waits
at most `wait_s`; it is refused (402) only when a round has answered that Redis cannot cover
it. Only when Redis is known down — the last round failed or found its data lost — is the
answer OFFLINE (the caller uses the offline allowance); a wait that merely runs out while
Redis is answering is SLOW (503, retry), never free credit. `settle` turns a reservation into
its charge. No call does I/O.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from proxy.billing import lease as L
from wire.billing import account_key, key_month_key

RESERVED, NO_CREDIT, NO_BUDGET, OFFLINE, SLOW = 1, 0, -2, -1, -3
_FORGET_S = 30.0  # an empty lease unused this long is dropped from memory


@dataclass(slots=True)
class Held:
    account: L.CreditLease
    key: L.CreditLease | None
    amount: int


class CreditBook:
    def __init__(self, prefix: str, wait_s: float, lease_max: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._prefix = prefix
        self.wait_s = wait_s
        self.lease_max = lease_max
        self._clock = clock
        self._leases: dict[str, L.CreditLease] = {}
        self._seq = 0
        self.waited = 0  # requests that waited for a round (metric)
        self.online = True  # the last round answered with the state loaded
        self._wake = asyncio.Event()
        self._round = asyncio.Event()

    def _lease(self, redis_key: str, limit: int) -> L.CreditLease:
        lease = self._leases.get(redis_key)
        if lease is None:
            lease = self._leases[redis_key] = L.CreditLease(redis_key, limit)
        lease.limit = limit  # a budget change in the snapshot applies from the next round
        return lease

    async def reserve(self, account_id: str, key_id: str, month: int, budget: int | None,
                      amount: int) -> tuple[int, int, Held | None]:
        """(outcome, available, held): RESERVED, NO_CREDIT / NO_BUDGET (with what is available), OFFLINE
        (Redis known down), SLOW (the wait ran out while Redis was up)."""
        acc = self._lease(account_key(self._prefix, account_id), -1)
        key = None if budget is None else self._lease(key_month_key(self._prefix, key_id, month), budget)
        now = self._clock()
        deadline = now + self.wait_s
        waits = 0
        extended = False
        registered: dict[int, int] = {}  # id(lease) -> epoch its demand was registered at
        while True:
            if acc.free >= amount and (key is None or key.free >= amount):
                L.take(acc, amount, now)
                if key is not None:
                    L.take(key, amount, now)
                return RESERVED, 0, Held(acc, key, amount)
            if not self.online:
                return OFFLINE, 0, None
            if now >= deadline:
                if extended:
                    return SLOW, 0, None
                deadline, extended = now + self.wait_s, True  # once: let the round in flight answer or fail
            waiting: list[L.CreditLease] = []
            for lease, outcome in ((acc, NO_CREDIT), (key, NO_BUDGET)):
                if lease is None or lease.free >= amount:
                    continue
                reg = registered.get(id(lease))
                if reg is not None and lease.applied > reg:  # a round carrying this demand answered
                    if L.verdict(lease, amount, reg, waits) == L.REFUSE:
                        return outcome, max(lease.free, 0) + max(lease.avail, 0), None
                    reg = None
                if reg is None:
                    lease.demand += amount
                    registered[id(lease)] = lease.epoch
                waiting.append(lease)
            waits += 1
            self.waited += 1
            self._wake.set()
            await self._until_answered(waiting, registered, deadline)
            now = self._clock()

    async def _until_answered(self, leases: list[L.CreditLease], registered: dict[int, int], deadline: float) -> None:
        while any(lease.applied <= registered[id(lease)] for lease in leases):
            done = self._round
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            try:
                async with asyncio.timeout(remaining):
                    await done.wait()
            except TimeoutError:
                return

    def settle(self, held: Held, cost: int) -> None:
        L.settle(held.account, held.amount, cost)
        if held.key is not None:
            L.settle(held.key, held.amount, cost)

    # --- sync side ---------------------------------------------------------------------------------

    async def wait_for_demand(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    def collect(self) -> list[L.LeaseOp]:
        now = self._clock()
        ops: list[L.LeaseOp] = []
        for name, lease in list(self._leases.items()):
            if not L.busy(lease) and now - lease.last_used > _FORGET_S and lease.synced:
                del self._leases[name]
                continue
            op = L.plan(lease, now, self.lease_max, self._seq + 1)
            if op is not None:
                self._seq = max(self._seq, op.seq)
                ops.append(op)
        return ops

    def apply(self, ops: list[L.LeaseOp], results: list[int]) -> None:
        """A round's answer: results = [ready, (grant, left, others, contended) per op]."""
        if not results or results[0] == 0:
            for op in ops:
                L.lost(op)
            self.online = False
        else:
            for i, op in enumerate(ops):
                grant, left, others, contended = results[1 + 4 * i: 5 + 4 * i]
                L.apply(op, grant, left, others, contended == 1)
            self.online = True
        self.round_done()

    def fail(self, ops: list[L.LeaseOp]) -> None:
        for op in ops:
            L.failed(op)
        self.online = False
        self.round_done()

    def round_done(self) -> None:
        done, self._round = self._round, asyncio.Event()
        done.set()

    def outstanding(self) -> int:
        """The sum of this worker's leases (held in Redis for it): its share of the overspend bound."""
        return sum(max(lease.free, 0) + lease.inflight for lease in self._leases.values() if lease.limit < 0)
