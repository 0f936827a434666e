"""Limiter: this worker's leases of every global limit, and the request-side API.

Requests call `take` for every counted limit (RPM, daily requests, TPM and daily tokens, seller
RPM), `settle` / `give_back` afterwards (real usage; an unserved request), and `acquire_listing`
/ `release_listing` for seller caps. No call does I/O: an admission is answered from the local
lease, or waits at most `wait_s` for the background sync (`redis_sync`) to bring a grant, then
falls back to the local share. The sync side is `collect` / `apply` / `set_degraded`.

Limits (`proxy.limits.lease` states the algorithm and its bound): a limit of L per window
admits at most L in any rolling window (`DF_LIMITS_WINDOW_S`, 60 s), all of them at once if
they come at once; daily limits count per UTC day (the wall clock plus `day_offset_s`, which
only tests set) and reset at 00:00 UTC.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from proxy.errors import RateLimited
from proxy.limits import lease as L
from proxy.limits import slots as S
from proxy.limits.headers import Header, request_headers, retry_headers, token_headers
from wire.snapshot import Account, Listing, Plan

DAY_S = 86400.0


@dataclass(slots=True)
class Op:
    """One key of a sync round (see `proxy.limits.script` for the fields)."""

    key: str
    kind: str  # "w" window, "d" day counter, "c" concurrency
    limit: float
    span: float
    want: float
    give: str
    debt: float
    entry: str
    extra: float
    probe: float
    target: L.Lease | S.Slots
    sent_at: float = 0.0
    held: float = 0.0  # this worker's unspent grants of the limit


@dataclass(slots=True)
class Grant:
    """What one admission took from one limit (to refund or correct later)."""

    lease: L.Lease
    taken: list[tuple[str, float]]
    amount: float


def account_limits(account: Account, plans: dict[str, Plan]) -> tuple[int | None, int | None]:
    """(rpm, tpm) of an account: its overrides, else its plan's; None = unlimited."""
    plan = plans.get(account.plan)
    rpm = account.rpm_limit if account.rpm_limit is not None else (plan.rpm_limit if plan else None)
    tpm = account.tpm_limit if account.tpm_limit is not None else (plan.tpm_limit if plan else None)
    return rpm, tpm


class Limiter:
    def __init__(self, window_s: float, wait_s: float, min_replicas: int, standalone: bool,
                 clock: Callable[[], float] = time.monotonic, lease_ttl_s: float = 0.25,
                 wall: Callable[[], float] = time.time, day_offset_s: float = 0.0) -> None:
        self.window_s = window_s
        self.lease_ttl_s = lease_ttl_s
        self.wait_s = wait_s
        self.replicas = max(1, min_replicas)
        self.min_replicas = max(1, min_replicas)
        self.standalone = standalone
        self.degraded = standalone
        self.rejections: Counter[str] = Counter()
        self._clock = clock
        self._wall = wall
        self.day_offset_s = day_offset_s
        self._leases: dict[str, L.Lease] = {}
        self._listing_leases: dict[str, L.Lease] = {}  # listing id -> its rpm lease (seller caps)
        self._capped: frozenset[str] = frozenset()
        self._capped_at = -1.0
        self._slots: dict[str, S.Slots] = {}
        self._wake = asyncio.Event()
        self._round = asyncio.Event()
        self._prefix = os.urandom(4).hex()
        self._seq = 0

    # --- request side --------------------------------------------------------------------------------

    def day(self) -> tuple[int, float]:
        """(UTC day number, seconds until it ends) on the limits' wall clock."""
        wall = self._wall() + self.day_offset_s
        day = int(wall // DAY_S)
        return day, (day + 1) * DAY_S - wall

    def _lease(self, key: str, limit: float, now: float) -> L.Lease:
        """The lease of one limit (keys starting with "d:" are day counters, named for their day)."""
        lease = self._leases.get(key)
        if lease is None or lease.limit != limit:
            if key.startswith("d:"):
                lease = L.Lease(float(limit), DAY_S, self.lease_ttl_s, "d", now + self.day()[1])
            else:
                lease = L.Lease(float(limit), self.window_s, self.lease_ttl_s)
            self._leases[key] = lease
            if key.startswith("l:"):
                self._listing_leases[key[2:-2]] = lease
            if self.degraded:
                L.degrade(lease, self.replicas, now)
        return lease

    async def _decide(self, lease: L.Lease, cost: float) -> float:
        now = self._clock()
        since, deadline, registered = now, now + self.wait_s, -1
        while (verdict := L.decide(lease, cost, now, since)) == L.WAIT:
            if now >= deadline:
                if lease.synced and lease.view_at >= since:  # Redis answers; the units are held elsewhere
                    return max(lease.ttl, 0.001)
                L.degrade(lease, self.replicas, now)  # the sync did not answer in time: the local share
                continue
            if registered != lease.epoch:
                registered = L.ask(lease, cost)
            done = self._round
            self._wake.set()
            try:
                async with asyncio.timeout(deadline - now):
                    await done.wait()
            except TimeoutError:
                pass
            now = self._clock()
        return verdict

    async def take(self, key: str, limit: float, cost: float) -> tuple[L.Lease, Grant | None, float]:
        """Spend `cost` of a limit: (its lease, the grant, 0) or (its lease, None, seconds until a
        retry can succeed)."""
        lease = self._lease(key, limit, self._clock())
        cost = cost if cost < limit else limit
        verdict = await self._decide(lease, cost)
        if verdict != L.ADMITTED:
            return lease, None, verdict
        return lease, Grant(lease, lease.taken, cost), 0.0

    def view(self, key: str, limit: float) -> L.Lease:
        return self._lease(key, limit, self._clock())

    def known_short(self, lease: L.Lease, cost: float) -> float:
        """Seconds until `cost` fits if this worker already knows it does not (else 0)."""
        now = self._clock()
        if L.exhausted(lease, cost, now):
            return max(lease.next_free - now if lease.local is None else L.reset(lease, now, 0.0), 0.001)
        return 0.0

    def settle(self, grant: Grant | None, actual: float | None) -> None:
        """Correct a grant with the usage the upstream reported (None: the grant stands)."""
        if grant is None or actual is None:
            return
        if actual < grant.amount:
            L.refund(grant.lease, grant.taken, grant.amount - actual)
        elif actual > grant.amount:
            L.charge(grant.lease, actual - grant.amount, self._clock())

    def give_back(self, grant: Grant | None) -> None:
        """The request was refused by a later limit: it counts against none."""
        if grant is not None:
            L.refund(grant.lease, grant.taken, grant.amount)

    def window_name(self) -> str:
        return "minute" if self.window_s == 60 else f"{self.window_s:g}s"

    def headers(self, rpm: L.Lease | None, tpm: L.Lease | None) -> list[Header]:
        """X-RateLimit-* and x-ratelimit-*-requests for requests, x-ratelimit-*-tokens for tokens."""
        now = self._clock()
        out: list[Header] = []
        if rpm is not None:
            left = L.remaining(rpm, now)
            out += request_headers(rpm.limit, left, L.reset(rpm, now, left))
        if tpm is not None:
            left = L.remaining(tpm, now)
            out += token_headers(tpm.limit, left, L.reset(tpm, now, left))
        return out

    def refuse(self, kind: str, message: str, wait: float, headers: list[Header]) -> RateLimited:
        self.rejections[kind] += 1
        return RateLimited(message, wait, headers + retry_headers(wait))

    async def acquire_listing(self, listing: Listing) -> S.Slots | bool:
        """Take one request of the listing's seller caps. False: it is at a cap (skip it);
        True or a Slots to pass to `release_listing` when the relay ends."""
        rpm_grant = None
        if listing.rpm_limit is not None:
            _, rpm_grant, _ = await self.take(f"l:{listing.id}:r", listing.rpm_limit, 1.0)
            if rpm_grant is None:
                self.rejections["listing_rpm"] += 1
                return False
        if listing.concurrency_limit is None:
            return True
        slots = self._slot(listing.id, listing.concurrency_limit)
        now = self._clock()
        deadline = now + self.wait_s
        while (verdict := S.acquire(slots, now)) == L.WAIT and now < deadline:
            done = self._round
            self._wake.set()
            try:
                async with asyncio.timeout(deadline - now):
                    await done.wait()
            except TimeoutError:
                pass
            now = self._clock()
        if verdict != L.ADMITTED:
            self.rejections["listing_concurrency"] += 1
            self.give_back(rpm_grant)
            return False
        return slots

    def release_listing(self, hold: S.Slots | bool) -> None:
        if isinstance(hold, S.Slots):
            S.release(hold)

    def _slot(self, listing_id: str, limit: int) -> S.Slots:
        slots = self._slots.get(listing_id)
        if slots is None or slots.limit != limit:
            slots = self._slots[listing_id] = S.Slots(limit)
            if self.degraded:
                S.degrade(slots, self.replicas)
        return slots

    def capped_listings(self) -> frozenset[str]:
        """Listing ids at a seller cap as far as this worker knows (routing skips them).

        Looks only at listings with caps, and at most once per millisecond: the answer is a hint
        for ranking; `acquire_listing` is the check that holds."""
        now = self._clock()
        if now - self._capped_at < 0.001:
            return self._capped
        out = {lid for lid, s in self._slots.items() if S.is_full(s)}
        for lid, lease in self._listing_leases.items():
            if L.exhausted(lease, 1.0, now):
                out.add(lid)
        if out != self._capped:
            self._capped = frozenset(out)
        self._capped_at = now
        return self._capped

    def capped_wait(self, listing_ids: Iterable[str]) -> float:
        """Seconds until the earliest of these listings has room again (1 s for a full concurrency
        cap: slots free when streams end, there is no refill to compute from)."""
        now, best = self._clock(), math.inf
        for lid in listing_ids:
            lease = self._listing_leases.get(lid)
            if lease is not None and L.exhausted(lease, 1.0, now):
                best = min(best, max(L.reset(lease, now, 0.0), 0.001))
            else:
                best = min(best, S.RETRY_S)
        return best if best != math.inf else S.RETRY_S

    # --- sync side -----------------------------------------------------------------------------------

    async def wait_for_demand(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    def _entry(self) -> str:
        self._seq += 1
        return f"{self._prefix}.{self._seq}"

    def collect(self) -> list[Op]:
        """The keys worth a round trip now (demand, returns, debts, stale views); idle state is dropped."""
        now = self._clock()
        ops: list[Op] = []
        for key, lease in list(self._leases.items()):
            if lease.local is not None:
                continue
            if lease.kind == "d" and now >= lease.ends:  # a past day: hand back nothing, forget it
                del self._leases[key]
                continue
            need, extra = L.want(lease, now)
            held = L.allowance(lease)
            if need > 0 or extra > 0 or lease.returns or lease.debt or lease.demand or held != lease.reported \
                    or (now - lease.last_used < 2.0 and now - lease.view_at > 0.5):
                give = ",".join(f"{e}:{a:.6g}" for e, a in lease.returns.items() if e)
                span = lease.span if lease.kind == "w" else max(lease.ends - now, 1.0)
                probe = lease.probe if lease.probe != math.inf else 1.0
                ops.append(Op(key, lease.kind, lease.limit, span, need, give, lease.debt, self._entry(), extra,
                              min(probe, lease.limit), lease, now, held))
                lease.reported = held
                lease.returns, lease.debt, lease.demand, lease.probe = {}, 0.0, 0.0, math.inf
                lease.epoch += 1
            elif now - lease.last_used > lease.span and not lease.chunks:
                del self._leases[key]
                if key.startswith("l:"):
                    self._listing_leases.pop(key[2:-2], None)
        for lid, slots in list(self._slots.items()):
            want_slots = S.want(slots, now)
            if want_slots != slots.held or slots.demand or not slots.synced:
                ops.append(Op(f"l:{lid}:c", "c", slots.limit, 0.0, want_slots, str(slots.in_flight), 0.0, "", 0.0,
                              0.0, slots, now))
            elif slots.held == 0 and slots.in_flight == 0 and now - slots.last_used > self.window_s:
                del self._slots[lid]
        return ops

    def apply(self, ops: list[Op], results: list[float], replicas: int) -> None:
        now = self._clock()
        self.replicas = max(self.min_replicas, replicas)
        for i, op in enumerate(ops):
            got, used, wait, reset_in, others = results[5 * i: 5 * i + 5]
            if isinstance(op.target, L.Lease):
                L.granted(op.target, got, op.entry, used, wait, reset_in, op.sent_at, now)
                op.target.others_held = others
                op.target.reported += got
            else:
                S.granted(op.target, int(got), int(used))
        self.round_done()

    def recover_strays(self) -> None:
        """After a successful round: leases that timed out alone go back to Redis (their use charged)."""
        if not self.degraded:
            for lease in self._leases.values():
                if lease.local is not None:
                    L.recover(lease)

    def round_done(self) -> None:
        done, self._round = self._round, asyncio.Event()
        done.set()

    def set_degraded(self, degraded: bool) -> None:
        """Enter (Redis unreachable) or leave (Redis back) degraded mode for every key."""
        if self.standalone or degraded == self.degraded:
            return
        self.degraded = degraded
        now = self._clock()
        for lease in self._leases.values():
            L.degrade(lease, self.replicas, now) if degraded else L.recover(lease)
        for slots in self._slots.values():
            S.degrade(slots, self.replicas) if degraded else S.recover(slots)
        self.round_done()  # waiters decide again, now locally
