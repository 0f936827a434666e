"""Limiter: this worker's leases of every global limit, and the request-side API.

Requests call `admit_request` (RPM, before the body is read), `reserve_tokens` (TPM, from
the estimate), `settle_tokens` (real usage), `acquire_listing` / `release_listing` (seller
RPM and concurrency). No call does I/O: an admission is answered from the local lease, or
waits at most `wait_s` for the background sync (`redis_sync`) to bring more, then falls back
to the local share. The sync side is `collect` / `apply` / `set_degraded`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from proxy.errors import RateLimited
from proxy.limits import lease as L
from proxy.limits import slots as S
from proxy.limits.bucket import reset_s
from wire.snapshot import Account, Listing, Plan

Header = tuple[bytes, bytes]


@dataclass(slots=True)
class Op:
    """One key of a sync round: ask for `want`, add `give` (signed) to the Redis bucket."""

    key: str
    kind: str  # "b" bucket, "c" concurrency
    capacity: float
    rate: float
    want: float
    give: float
    target: L.Lease | S.Slots


def account_limits(account: Account, plans: dict[str, Plan]) -> tuple[int | None, int | None]:
    """(rpm, tpm) of an account: its overrides, else its plan's; None = unlimited."""
    plan = plans.get(account.plan)
    rpm = account.rpm_limit if account.rpm_limit is not None else (plan.rpm_limit if plan else None)
    tpm = account.tpm_limit if account.tpm_limit is not None else (plan.tpm_limit if plan else None)
    return rpm, tpm


def retry_headers(wait: float) -> list[Header]:
    return [(b"retry-after", str(max(1, math.ceil(wait))).encode()),
            (b"retry-after-ms", str(max(1, math.ceil(wait * 1000))).encode())]


class Limiter:
    def __init__(self, window_s: float, wait_s: float, min_replicas: int, standalone: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.wait_s = wait_s
        self.replicas = max(1, min_replicas)
        self.min_replicas = max(1, min_replicas)
        self.standalone = standalone
        self.degraded = standalone
        self.rejections: Counter[str] = Counter()
        self._clock = clock
        self._leases: dict[str, L.Lease] = {}
        self._slots: dict[str, S.Slots] = {}
        self._wake = asyncio.Event()
        self._round = asyncio.Event()

    # --- request side --------------------------------------------------------------------------------

    def _lease(self, key: str, limit: int, now: float) -> L.Lease:
        lease = self._leases.get(key)
        if lease is None or lease.capacity != limit:
            lease = self._leases[key] = L.Lease(float(limit), limit / self.window_s)
            if self.degraded:
                L.degrade(lease, self.replicas, now)
        return lease

    async def _decide(self, lease: L.Lease, cost: float) -> float:
        now = self._clock()
        deadline = now + self.wait_s
        while (verdict := L.decide(lease, cost, now)) == L.WAIT:
            if now >= deadline:  # the sync did not answer in time: this lease uses its local share
                L.degrade(lease, self.replicas, now)
                continue
            done = self._round
            self._wake.set()
            try:
                async with asyncio.timeout(deadline - now):
                    await done.wait()
            except TimeoutError:
                pass
            now = self._clock()
        return verdict

    async def admit_request(self, account_id: str, rpm: int | None) -> L.Lease | None:
        """Spend one request of the account's RPM, or raise RateLimited (429)."""
        if rpm is None:
            return None
        lease = self._lease(f"a:{account_id}:r", rpm, self._clock())
        verdict = await self._decide(lease, 1.0)
        if verdict != L.ADMITTED:
            self.rejections["requests"] += 1
            raise RateLimited(
                f"Rate limit reached for requests: {rpm} per {self._window()} for this account. "
                f"Retry after {verdict:.1f}s.", verdict, self.headers(lease, None) + retry_headers(verdict))
        return lease

    def check_tokens(self, account_id: str, tpm: int | None, rpm_lease: L.Lease | None) -> L.Lease | None:
        """Before the body is read: refuse at once if the token bucket is known to be empty."""
        if tpm is None:
            return None
        now = self._clock()
        lease = self._lease(f"a:{account_id}:t", tpm, now)
        if (lease.synced or lease.local is not None) and L.remaining(lease, now) < 1:
            wait = max(reset_s(L.remaining(lease, now), 1.0, lease.rate / self._share(lease)), 0.001)
            self._refuse_tokens(tpm, wait, rpm_lease, lease)
        return lease

    async def reserve_tokens(self, account_id: str, tpm: int | None, cost: int,
                             rpm_lease: L.Lease | None) -> tuple[L.Lease | None, float]:
        """Reserve `cost` tokens (capped at the limit) of the account's TPM, or raise RateLimited."""
        if tpm is None:
            return None, 0.0
        lease = self._lease(f"a:{account_id}:t", tpm, self._clock())
        amount = float(min(cost, tpm))
        verdict = await self._decide(lease, amount)
        if verdict != L.ADMITTED:
            self._refuse_tokens(tpm, verdict, rpm_lease, lease)
        return lease, amount

    def _refuse_tokens(self, tpm: int, wait: float, rpm_lease: L.Lease | None, lease: L.Lease) -> None:
        self.rejections["tokens"] += 1
        if rpm_lease is not None:  # the request was not served: its request token goes back
            L.refund(rpm_lease, 1.0, self._clock())
        raise RateLimited(
            f"Rate limit reached for tokens: {tpm} per {self._window()} for this account (the request's "
            f"reservation is its prompt estimate + max_tokens). Retry after {wait:.1f}s.",
            wait, self.headers(rpm_lease, lease) + retry_headers(wait))

    def settle_tokens(self, lease: L.Lease | None, reserved: float, actual: int | None) -> None:
        """Correct a reservation with the usage the upstream reported (None: the reservation stands)."""
        if lease is not None and actual is not None:
            L.refund(lease, reserved - actual, self._clock())

    def _share(self, lease: L.Lease) -> float:
        return lease.capacity / lease.local.capacity if lease.local is not None and lease.local.capacity else 1.0

    def _window(self) -> str:
        return "minute" if self.window_s == 60 else f"{self.window_s:g}s"

    def headers(self, rpm: L.Lease | None, tpm: L.Lease | None) -> list[Header]:
        """X-RateLimit-* for requests (+ the -tokens variants); Reset in seconds, rounded up."""
        now = self._clock()
        out: list[Header] = []
        for lease, suffix in ((rpm, b""), (tpm, b"-tokens")):
            if lease is None:
                continue
            left = L.remaining(lease, now)
            out += [(b"x-ratelimit-limit" + suffix, b"%d" % lease.capacity),
                    (b"x-ratelimit-remaining" + suffix, b"%d" % left),
                    (b"x-ratelimit-reset" + suffix, b"%d" % math.ceil(reset_s(left, lease.capacity, lease.rate)))]
        return out

    async def acquire_listing(self, listing: Listing) -> S.Slots | bool:
        """Take one request of the listing's seller caps. False: it is at a cap (skip it);
        True or a Slots to pass to `release_listing` when the relay ends."""
        if listing.rpm_limit is not None:
            lease = self._lease(f"l:{listing.id}:r", listing.rpm_limit, self._clock())
            if await self._decide(lease, 1.0) != L.ADMITTED:
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
            if listing.rpm_limit is not None:
                L.refund(self._leases[f"l:{listing.id}:r"], 1.0, now)
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
        """Listing ids at a seller cap as far as this worker knows (routing skips them)."""
        now = self._clock()
        out = {lid for lid, s in self._slots.items() if S.is_full(s)}
        for key, lease in self._leases.items():
            if key.startswith("l:") and lease.allowance < 1 and (lease.synced or lease.local is not None) \
                    and L.remaining(lease, now) < 1:
                out.add(key[2:-2])
        return frozenset(out)

    # --- sync side -----------------------------------------------------------------------------------

    async def wait_for_demand(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    def collect(self) -> list[Op]:
        """The keys worth a round trip now (demand, returns, debts, stale views); idle state is dropped."""
        now = self._clock()
        ops: list[Op] = []
        for key, lease in list(self._leases.items()):
            want = L.want(lease, now)
            if want > 0 or lease.pending != 0 or (lease.demand and not lease.synced) \
                    or (now - lease.last_used < 2.0 and now - lease.global_at > 0.5):
                ops.append(Op(key, "b", lease.capacity, lease.rate, want, lease.pending, lease))
                lease.demand = 0.0
            elif now - lease.last_used > self.window_s and lease.allowance == 0:
                del self._leases[key]
        for lid, slots in list(self._slots.items()):
            want_slots = S.want(slots, now)
            if want_slots != slots.held or slots.demand or not slots.synced:
                ops.append(Op(f"l:{lid}:c", "c", slots.limit, 0.0, want_slots, slots.in_flight, slots))
            elif slots.held == 0 and slots.in_flight == 0 and now - slots.last_used > self.window_s:
                del self._slots[lid]
        return ops

    def apply(self, ops: list[Op], results: list[float], replicas: int) -> None:
        now = self._clock()
        self.replicas = max(self.min_replicas, replicas)
        for i, op in enumerate(ops):
            got, level = results[2 * i], results[2 * i + 1]
            if isinstance(op.target, L.Lease):
                L.granted(op.target, got, level, op.give, now)
            else:
                S.granted(op.target, int(got), int(level))
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
