"""One request's passage through the limits: what it took, and giving back what it did not use.

The pipeline's steps, in order: `guard_ip` (on a failed key), `admit` (before the body is read:
the account's RPM, then the key's and the account's daily request limits; refuses at once if a
token limit is known to be spent), `reserve` (the account's TPM, then the daily token quotas of
key and account, from the body's estimate), `take_listing` per upstream attempt (seller caps;
the answering attempt's place is kept, the others' dropped), then `finish` with the real usage
when the relay ends (`metered` does it for streams).

A request refused by any limit counts against none (what it took is given back). Any error
after admission calls `finish(0)`: an unserved request gives its tokens back (its requests stay
counted, as at OpenAI). Daily limits count per UTC day and reset at 00:00 UTC.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from proxy.errors import RateLimited
from proxy.limits import lease as L
from proxy.limits import slots as S
from proxy.limits.headers import Header, retry_headers, until_midnight
from proxy.limits.ipguard import IpGuard
from proxy.limits.limiter import Grant, Limiter, account_limits
from proxy.limits.tokens import UsageTail, reservation
from wire.snapshot import Account, Key, Listing, Plan

_SCOPES = {"k": "API key", "a": "account"}


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
    __slots__ = ("limiter", "account_id", "rpm", "tpm", "daily", "rpm_view", "tpm_view", "requests", "tokens",
                 "hold", "limited")

    def __init__(self, limiter: Limiter, account: Account, plans: dict[str, Plan], key: Key | None = None) -> None:
        self.limiter = limiter
        self.account_id = account.id
        self.rpm, self.tpm = account_limits(account, plans)
        self.daily: list[tuple[str, str, int | None, int | None]] = []
        if key is not None and (key.daily_request_limit is not None or key.daily_token_quota is not None):
            self.daily.append(("k", key.id, key.daily_request_limit, key.daily_token_quota))
        if account.daily_request_limit is not None or account.daily_token_quota is not None:
            self.daily.append(("a", account.id, account.daily_request_limit, account.daily_token_quota))
        self.rpm_view: L.Lease | None = None  # the request window, for headers
        self.tpm_view: L.Lease | None = None  # the token window, for headers
        self.requests: list[Grant] = []  # request counts taken (given back if a later limit refuses)
        self.tokens: list[Grant] = []  # token reservations, settled by `finish`
        self.hold: S.Slots | bool = True
        self.limited = self.rpm is not None or self.tpm is not None or bool(self.daily)

    def _refuse(self, kind: str, message: str, wait: float) -> RateLimited:
        lim = self.limiter
        for grant in self.tokens + self.requests:
            lim.give_back(grant)
        self.tokens, self.requests = [], []
        return lim.refuse(kind, message, wait, self.headers())

    def _daily(self, kind: str, scope: str, limit: int, wait: float) -> RateLimited:
        when = f"It resets at 00:00 UTC, in {until_midnight(wait)}."
        if kind == "daily_requests":
            return self._refuse(kind, f"Daily limit reached: {limit:,} requests per day for this {_SCOPES[scope]}. "
                                f"{when}", wait)
        return self._refuse(kind, f"Token quota exhausted: {limit:,} tokens per day for this {_SCOPES[scope]} (a "
                            f"request reserves its prompt estimate + max_tokens). {when}", wait)

    async def admit(self) -> None:
        lim, acct = self.limiter, self.account_id
        if self.rpm is not None:
            self.rpm_view, grant, wait = await lim.take(f"a:{acct}:r", self.rpm, 1.0)
            if grant is None:
                raise self._refuse("requests", f"Rate limit reached for requests: {self.rpm:,} per "
                                   f"{lim.window_name()} for this account. The next request is admitted in "
                                   f"{wait:.1f}s (Retry-After).", wait)
            self.requests.append(grant)
        if self.tpm is not None:
            self.tpm_view = lim.view(f"a:{acct}:t", self.tpm)
        day, left = lim.day() if self.daily else (0, 0.0)
        for scope, sid, requests, _ in self.daily:
            if requests is not None:
                _, grant, _ = await lim.take(f"d:{scope}:{sid}:r:{day}", requests, 1.0)
                if grant is None:
                    raise self._daily("daily_requests", scope, requests, left)
                self.requests.append(grant)
        if self.tpm_view is not None and (wait := lim.known_short(self.tpm_view, 1.0)) > 0:
            raise self._tokens_refused(wait)
        for scope, sid, _, quota in self.daily:
            if quota is not None and lim.known_short(lim.view(f"d:{scope}:{sid}:t:{day}", quota), 1.0) > 0:
                raise self._daily("daily_tokens", scope, quota, left)

    def _tokens_refused(self, wait: float) -> RateLimited:
        return self._refuse("tokens", f"Rate limit reached for tokens: {self.tpm:,} per {self.limiter.window_name()} "
                            "for this account (a request reserves its prompt estimate + max_tokens). Enough "
                            f"tokens free in {wait:.1f}s (Retry-After).", wait)

    async def reserve(self, body_len: int, max_tokens: int | None, default_max_tokens: int) -> None:
        cost = reservation(body_len, max_tokens, default_max_tokens)
        lim, acct = self.limiter, self.account_id
        if self.tpm is not None:
            _, grant, wait = await lim.take(f"a:{acct}:t", self.tpm, cost)
            if grant is None:
                raise self._tokens_refused(wait)
            self.tokens.append(grant)
        day, left = lim.day() if self.daily else (0, 0.0)
        for scope, sid, _, quota in self.daily:
            if quota is not None:
                _, grant, _ = await lim.take(f"d:{scope}:{sid}:t:{day}", quota, cost)
                if grant is None:
                    raise self._daily("daily_tokens", scope, quota, left)
                self.tokens.append(grant)

    async def take_listing(self, listing: Listing) -> S.Slots | bool:
        """A place under the listing's seller caps (False: it is at its cap). The caller keeps the
        place of the attempt that answers (`keep_listing`) and drops the others' (`drop_listing`)."""
        return await self.limiter.acquire_listing(listing)

    def keep_listing(self, hold: S.Slots | bool) -> None:
        self.hold = hold

    def drop_listing(self, hold: S.Slots | bool) -> None:
        self.limiter.release_listing(hold)

    def headers(self) -> list[Header]:
        return self.limiter.headers(self.rpm_view, self.tpm_view) if self.limited else []

    @property
    def needs_usage(self) -> bool:
        """Whether `finish` uses the real usage (a token reservation is outstanding)."""
        return bool(self.tokens)

    def finish(self, used_tokens: int | None) -> None:
        """Settle the token reservations with real usage (None: they stand) and free the listing slot."""
        for grant in self.tokens:
            self.limiter.settle(grant, used_tokens)
        self.tokens = []
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
