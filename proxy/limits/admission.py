"""One request's passage through the limits: what it took, and giving back what it did not use.

The pipeline's steps, in order: `guard_ip` (on a failed key), `admit` (RPM, before the
body is read; refuses at once if the token bucket is empty), `reserve` (TPM, from the body's
estimate), `take_listing` per upstream attempt (seller caps; the answering attempt's place is
kept, the others' dropped), then `finish` with the real usage when the relay
ends (`metered` does it for streams). Any error after `reserve` calls `finish(0)`: an
unserved request gives its tokens back (its request token stays spent, as at OpenAI).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from proxy.errors import RateLimited
from proxy.limits import lease as L
from proxy.limits import slots as S
from proxy.limits.ipguard import IpGuard
from proxy.limits.limiter import Header, Limiter, account_limits, retry_headers
from proxy.limits.tokens import UsageTail, reservation
from wire.snapshot import Account, Listing, Plan


def guard_ip(guard: IpGuard | None, ip: str, now: float) -> None:
    """After a failed authentication: count it against the IP, and answer 429 instead of 401
    once the IP failed too often (valid keys from the same IP are not affected)."""
    if guard is None:
        return
    if (wait := guard.retry_after(ip, now)) <= 0:
        guard.charge(ip, now)
    else:
        raise RateLimited(f"Too many requests with invalid API keys from {ip}. Retry after {wait:.1f}s with a "
                          "valid key (Authorization: Bearer sk-df-…).", wait, retry_headers(wait))


class Admission:
    __slots__ = ("limiter", "account_id", "rpm", "tpm", "rpm_lease", "tpm_lease", "tpm_view", "reserved", "hold",
                 "limited")

    def __init__(self, limiter: Limiter, account: Account, plans: dict[str, Plan]) -> None:
        self.limiter = limiter
        self.account_id = account.id
        self.rpm, self.tpm = account_limits(account, plans)
        self.rpm_lease: L.Lease | None = None
        self.tpm_lease: L.Lease | None = None  # holds a reservation until `finish`
        self.tpm_view: L.Lease | None = None  # the token bucket, for headers
        self.reserved = 0.0
        self.hold: S.Slots | bool = True
        self.limited = self.rpm is not None or self.tpm is not None  # False: nothing to count or settle

    async def admit(self) -> None:
        self.rpm_lease = await self.limiter.admit_request(self.account_id, self.rpm)
        self.tpm_view = self.limiter.check_tokens(self.account_id, self.tpm, self.rpm_lease)

    async def reserve(self, body_len: int, max_tokens: int | None, default_max_tokens: int) -> None:
        cost = reservation(body_len, max_tokens, default_max_tokens)
        self.tpm_lease, self.reserved = await self.limiter.reserve_tokens(
            self.account_id, self.tpm, cost, self.rpm_lease)

    async def take_listing(self, listing: Listing) -> S.Slots | bool:
        """A place under the listing's seller caps (False: it is at its cap). The caller keeps the
        place of the attempt that answers (`keep_listing`) and drops the others' (`drop_listing`)."""
        return await self.limiter.acquire_listing(listing)

    def keep_listing(self, hold: S.Slots | bool) -> None:
        self.hold = hold

    def drop_listing(self, hold: S.Slots | bool) -> None:
        self.limiter.release_listing(hold)

    def headers(self) -> list[Header]:
        return self.limiter.headers(self.rpm_lease, self.tpm_view) if self.limited else []

    @property
    def needs_usage(self) -> bool:
        """Whether `finish` uses the real usage (a token reservation is outstanding)."""
        return self.tpm_lease is not None

    def finish(self, used_tokens: int | None) -> None:
        """Settle the token reservation with real usage (None: it stands) and free the listing slot."""
        if self.tpm_lease is not None:
            self.limiter.settle_tokens(self.tpm_lease, self.reserved, used_tokens)
            self.tpm_lease = None
        if self.hold is not True:
            self.limiter.release_listing(self.hold)
            self.hold = True

    async def metered(self, chunks: AsyncGenerator[bytes, None]) -> AsyncGenerator[bytes, None]:
        """The relayed stream, unchanged; its last `usage` settles the reservation at the end."""
        tail = UsageTail()
        try:
            async for chunk in chunks:
                tail.feed(chunk)
                yield chunk
        finally:
            self.finish(tail.usage())
            await chunks.aclose()
