"""Run a request's upstream attempts over ranked candidates: fallback, deadline, hedging.

The I/O edge of routing. `MarketRun.run()` tries candidates in order until one answers
(for a stream: until its first body chunk arrived — "before the first byte"):

- a failure whose kind is in the policy's `fallback_on` (connect, timeout, 5xx, 429) moves
  on to the next candidate, at most `max_attempts` in all, within the request's total
  deadline, and only while the worker's retry budget allows a retry;
- an upstream 401/403 (kind `auth`: the seller's key no longer works) always moves on, whatever
  `fallback_on` says — the buyer did nothing wrong — and is counted for the control plane
  (`StatsBook.record_auth_failure`, shipped in the stats reports), which degrades the contract;
- a 400/422 from the upstream is the buyer's fault: returned at once, no fallback, and
  not held against the listing;
- with `hedge_ttft_ms` (opt-in, profile rule) a second candidate starts when the first has
  not answered within that time; the first to answer wins and the other is cancelled.

Deadline rule — whose failure is it: the request's deadline (routing profile `deadline_ms`,
else `DF_ROUTE_DEADLINE_S`) runs until the first byte: for a stream its first body chunk,
for a JSON answer its response headers (`go` calls `answered()` then; the body is read
under the seller's idle timeout, however long it takes in total). An attempt cut by that
deadline is the *buyer's* cancellation: recorded as `cancelled` (kind `deadline`), never
`record_failure` (no error rate, no ejection, no failure counter), no further attempt, and
the buyer gets a 504 `DeadlineExceeded` naming the deadline (nothing billed). A seller
fails only by its own limits: connect, first byte, idle and total timeouts, 5xx, 429, a
broken or oversized answer.

Every attempt's outcome is recorded in `attempts` (ok / failed / cancelled / rejected,
with the error kind and TTFT): metering charges only the `ok` one — a failed or cancelled
attempt never costs the buyer. Live stats (`StatsBook`) are fed here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from proxy.errors import DeadlineExceeded, ListingBusy, UpstreamError, UpstreamRejected
from proxy.routing.budget import RetryBudget
from proxy.routing.policy import Policy
from proxy.routing.stats import StatsBook
from proxy.snapshot.index import ListingEntry

T = TypeVar("T")


@dataclass(slots=True)
class Attempt:
    listing_id: str
    outcome: str  # ok | failed | cancelled | rejected | capped
    error_kind: str = ""  # connect | timeout | 5xx | 429 | other | deadline (cancelled by the request's deadline)
    ttft_ms: float = 0.0


Answered = Callable[[], None]
"""Called by an attempt when its seller has answered (JSON: response headers): the deadline stops there."""


def _no_deadline() -> None:
    return None


class MarketRun(Generic[T]):
    """One request's attempts. `go(entry, answered)` performs one attempt; `discard` releases a loser.

    `deadline_name` says whose deadline it is, for the 504 message (e.g. "the routing profile's
    deadline_ms of 100 ms")."""

    __slots__ = ("_book", "_budget", "_peers", "_policy", "_deadline", "_go", "_discard", "attempts", "_held",
                 "_attempt_bound", "_started", "_deadline_name")

    def __init__(self, book: StatsBook, budget: RetryBudget, peers: tuple[ListingEntry, ...], policy: Policy,
                 deadline_s: float, go: Callable[[ListingEntry, Answered], Awaitable[T]],
                 discard: Callable[[T], Awaitable[None]], attempt_bound_s: float = float("inf"),
                 deadline_name: str = "") -> None:
        self._book = book
        self._budget = budget
        self._peers = peers
        self._policy = policy
        self._deadline = time.monotonic() + deadline_s
        self._deadline_name = deadline_name or f"the request's deadline of {deadline_s * 1000:.0f} ms"
        self._go = go
        self._discard = discard
        self.attempts: list[Attempt] = []
        self._held = 0
        self._attempt_bound = attempt_bound_s  # longest one attempt can last by the upstream's own timeouts
        self._started = 0

    async def run(self, candidates: tuple[ListingEntry, ...]) -> tuple[ListingEntry, T]:
        self._budget.start()
        try:
            return await self._run(candidates[: self._policy.max_attempts])
        finally:
            self._budget.finish()
            for _ in range(self._held):
                self._budget.retry_done()

    def _retry(self) -> bool:
        if time.monotonic() >= self._deadline or not self._budget.try_retry():
            return False
        self._held += 1
        return True

    async def _run(self, cands: tuple[ListingEntry, ...]) -> tuple[ListingEntry, T]:
        last: UpstreamError | None = None
        start = 0
        hedge = self._policy.hedge_ttft_ms
        if hedge is not None and len(cands) >= 2:
            try:
                return await self._hedged(cands[0], cands[1], hedge / 1000)
            except UpstreamError as exc:
                if exc.kind not in self._policy.fallback_on and exc.kind != "auth":
                    raise  # a DeadlineExceeded too: the deadline has passed, no attempt is left
                last, start = exc, 2
        for i, entry in enumerate(cands[start:], start):
            if i > 0 and not self._retry():
                break  # retry budget spent or deadline passed: the last seller error stands
            try:
                return entry, await self._one(entry)
            except UpstreamError as exc:
                last = exc
                if exc.kind not in self._policy.fallback_on and exc.kind != "auth" \
                        and not isinstance(exc, ListingBusy):
                    raise
        assert last is not None
        if len(self.attempts) > 1:
            raise UpstreamError(f"{last.message} ({len(self.attempts)} listings tried)", last.kind)
        raise last

    async def _one(self, entry: ListingEntry) -> T:
        book = self._book
        book.took(entry.id, book.clock())
        t0 = time.perf_counter()
        remaining = self._deadline - time.monotonic()
        cut: asyncio.Timeout | None = None
        try:
            if remaining <= 0:
                raise self._cut_off()
            self._started += 1
            if self._started == 1 and remaining >= self._attempt_bound:
                result = await self._go(entry, _no_deadline)  # its own timeouts end it before the deadline
            else:
                cut = timer = asyncio.timeout(remaining)
                async with timer:
                    result = await self._go(entry, lambda: timer.reschedule(None))
        except TimeoutError:
            if cut is None or not cut.expired():  # not the deadline's: a timeout of the attempt itself
                exc = UpstreamError(f"Upstream provider '{entry.provider}' timed out. Retry later.", "timeout")
                self._failed(entry, exc)
                raise exc from None
            self.attempts.append(Attempt(entry.id, "cancelled", "deadline"))  # the buyer's deadline, not a failure
            raise self._cut_off(entry) from None
        except DeadlineExceeded:
            raise
        except ListingBusy:
            self.attempts.append(Attempt(entry.id, "capped"))
            raise
        except UpstreamError as exc:
            self._failed(entry, exc)
            raise
        except UpstreamRejected:
            self.attempts.append(Attempt(entry.id, "rejected"))
            raise
        except asyncio.CancelledError:
            self.attempts.append(Attempt(entry.id, "cancelled"))
            raise
        ttft = (time.perf_counter() - t0) * 1000
        book.record_success(entry.id, ttft)
        self.attempts.append(Attempt(entry.id, "ok", ttft_ms=ttft))
        return result

    def _cut_off(self, entry: ListingEntry | None = None) -> DeadlineExceeded:
        """The 504 for a request whose deadline ended its attempts."""
        cut = f"; listing {entry.id} of '{entry.provider}' was cut off" if entry is not None else ""
        tried = len(self.attempts)
        return DeadlineExceeded(
            f"No seller answered within {self._deadline_name} ({tried} attempt{'s' if tried != 1 else ''}{cut}). "
            "Nothing was billed. Allow a longer deadline, or retry.")

    def _failed(self, entry: ListingEntry, exc: UpstreamError) -> None:
        self._book.record_failure(entry.id, (p.id for p in self._peers))
        if exc.kind == "auth":
            self._book.record_auth_failure(entry.id)
        self.attempts.append(Attempt(entry.id, "failed", exc.kind))

    async def _hedged(self, a: ListingEntry, b: ListingEntry, after_s: float) -> tuple[ListingEntry, T]:
        first = asyncio.ensure_future(self._one(a))
        started, _ = await asyncio.wait({first}, timeout=after_s)
        if started or not self._retry():
            return a, await first
        second = asyncio.ensure_future(self._one(b))
        owners: dict[asyncio.Future[T], ListingEntry] = {first: a, second: b}
        pending: set[asyncio.Future[T]] = {first, second}
        error: UpstreamError | None = None
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            wins = [t for t in done if not t.cancelled() and t.exception() is None]
            for t in done:
                exc = None if t.cancelled() else t.exception()
                if isinstance(exc, UpstreamError):
                    error = exc
                elif exc is not None:  # a 400 from the upstream: the buyer's fault, answer it
                    for p in pending:
                        p.cancel()
                    raise exc
            if wins:
                for p in pending:
                    p.cancel()
                for p in pending:
                    try:
                        await p
                    except (asyncio.CancelledError, Exception):  # noqa: B014 - losers end however they end
                        continue
                    await self._discard(p.result())  # finished in the same instant: release it
                for extra in wins[1:]:
                    await self._discard(extra.result())
                return owners[wins[0]], wins[0].result()
        assert error is not None
        raise error
