"""Admission on one standalone worker with a fake clock: production 60 s windows, daily quotas at midnight UTC."""

from __future__ import annotations

import asyncio

import pytest

from proxy.errors import RateLimited
from proxy.limits.admission import Admission
from proxy.limits.limiter import Limiter
from wire.snapshot import Account, Key, Plan

PLANS = {"free": Plan(name="free", rpm_limit=10, tpm_limit=40_000)}
MIDNIGHT = 1_764_633_600.0  # 2025-12-02 00:00:00 UTC


class Clock:
    def __init__(self) -> None:
        self.t = 100.0
        self.wall = MIDNIGHT - 30.0  # 23:59:30 UTC

    def advance(self, s: float) -> None:
        self.t += s
        self.wall += s


def limiter(clock: Clock) -> Limiter:
    return Limiter(60.0, 0.25, 1, standalone=True, clock=lambda: clock.t, wall=lambda: clock.wall)


def admit(lim: Limiter, account: Account, key: Key | None = None) -> Admission:
    async def go() -> Admission:
        adm = Admission(lim, account, PLANS, key)
        await adm.admit()
        await adm.reserve(100, 10, 1024)
        return adm
    return asyncio.run(go())


def test_free_key_ten_at_once_counts_down_then_429_until_a_minute_after_the_first() -> None:
    clock = Clock()
    lim, acct = limiter(clock), Account(id="a1", plan="free")
    left = [dict(admit(lim, acct).headers())[b"x-ratelimit-remaining"] for _ in range(10)]
    assert left == [b"9", b"8", b"7", b"6", b"5", b"4", b"3", b"2", b"1", b"0"]
    clock.advance(45)
    with pytest.raises(RateLimited) as refused:
        admit(lim, acct)
    h = dict(refused.value.headers)
    assert h[b"retry-after"] == b"15" and h[b"retry-after-ms"] == b"15000"
    assert h[b"x-ratelimit-remaining"] == b"0" and h[b"x-ratelimit-reset-requests"] == b"15s"
    assert "requests: 10 per minute" in refused.value.message and "15.0s" in refused.value.message
    clock.advance(14.9)
    with pytest.raises(RateLimited):
        admit(lim, acct)
    clock.advance(0.1)
    assert dict(admit(lim, acct).headers())[b"x-ratelimit-remaining"] == b"9"  # all ten came at once: all freed


def test_tokens_reserved_then_reconciled_with_usage() -> None:
    clock = Clock()
    lim, acct = limiter(clock), Account(id="a2", plan="free", tpm_limit=2000)
    first = admit(lim, acct)  # 100 / 4 + 1 + 10 = 36 tokens reserved
    assert dict(first.headers())[b"x-ratelimit-remaining-tokens"] == b"1964"
    first.finish(6)
    assert dict(admit(lim, acct).headers())[b"x-ratelimit-remaining-tokens"] == b"1958"


def test_daily_request_limit_of_a_key_resets_at_midnight_utc() -> None:
    clock = Clock()
    lim = limiter(clock)
    acct = Account(id="a3", plan="pro")
    key = Key(id="k3", hash="h", account_id="a3", daily_request_limit=2)
    admit(lim, acct, key)
    admit(lim, acct, key)
    with pytest.raises(RateLimited) as refused:
        admit(lim, acct, key)
    assert refused.value.message.startswith("Daily limit reached: 2 requests per day for this API key")
    assert dict(refused.value.headers)[b"retry-after"] == b"30"  # until 00:00 UTC
    clock.advance(29.5)
    with pytest.raises(RateLimited):
        admit(lim, acct, key)
    clock.advance(0.5)  # 00:00:00 UTC
    admit(lim, acct, key)


def test_daily_token_quota_of_an_account() -> None:
    clock = Clock()
    lim = limiter(clock)
    acct = Account(id="a4", plan="pro", daily_token_quota=100)
    adm = admit(lim, acct)  # reserves 36
    adm.finish(90)  # used 90: 10 left
    with pytest.raises(RateLimited) as refused:
        admit(lim, acct)
    assert refused.value.message.startswith("Token quota exhausted: 100 tokens per day for this account")
    clock.advance(31)
    admit(lim, acct)


def test_a_request_refused_by_a_later_limit_counts_against_none() -> None:
    clock = Clock()
    lim = limiter(clock)
    acct = Account(id="a5", plan="free", daily_request_limit=1)
    admit(lim, acct)
    with pytest.raises(RateLimited):
        admit(lim, acct)  # daily limit: its request is given back to the RPM window
    assert dict(admit(lim, Account(id="a5", plan="free")).headers())[b"x-ratelimit-remaining"] == b"8"
