"""The offline credit allowance is granted only while Redis is known down, per account: one slow
lease round is not an outage, and one account's successful reservation does not reset another
account's offline usage. Real components throughout: the billing gate, its credit book, the
lease round against the suite's Redis."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from proxy.billing.bounds import Bounds
from proxy.billing.credit import RedisCredit
from proxy.billing.gate import Billing
from proxy.billing.lease_sync import LeaseSync
from proxy.billing.leases import CreditBook
from proxy.billing.shipper import UsageShipper
from proxy.billing.spool import Spool
from proxy.errors import BillingUnavailable
from tests.support import redisdb
from wire.billing import account_key, ready_key
from wire.snapshot import Key, Listing

LISTING = Listing(id="l1", seller_account_id="s1", provider="fake", model="m", upstream_model="m",
                  base_url="https://example.com/v1", ask_input=1_000_000, ask_output=1_000_000)
BOUNDS = Bounds(unit="token", prompt_bound=100, cap=100)  # costs at most 200 micro-USD at these asks
ALLOWANCE = 400  # two such requests per account


def _billing(tmp: Path, prefix: str, wait_s: float = 0.2) -> Billing:
    shipper = UsageShipper(RedisCredit(prefix), Spool(str(tmp / "spool"), 1 << 20), 0.02,
                           lambda: redisdb.connect("redis://127.0.0.1:1"))  # never run: nothing is shipped
    return Billing(CreditBook(prefix, wait_s, 10_000_000), shipper, ALLOWANCE)


def _key(account: str) -> Key:
    return Key(id=f"k-{account}", hash="h", account_id=account)


async def _rounds_until(sync: LeaseSync, online: bool) -> None:
    """Run the lease rounds (in their own task, which owns the Redis client) until the book's
    view of Redis is `online`."""
    task = asyncio.create_task(sync.run())
    try:
        for _ in range(250):
            if sync_book(sync).online is online:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the book never became online={online}")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def sync_book(sync: LeaseSync) -> CreditBook:
    return sync._book  # noqa: SLF001  (the book this round feeds)


async def _admit(billing: Billing, account: str) -> bool:
    try:
        await billing.admit(f"r-{account}", _key(account), LISTING, None, BOUNDS)
    except BillingUnavailable:
        return False
    return True


async def test_a_lease_round_that_is_merely_slow_grants_no_offline_credit(tmp_path: Path) -> None:
    """Redis is up (the book's last round answered) but no round answers within the wait:
    that is a 503 to retry, not free credit."""
    billing = _billing(tmp_path, redisdb.new_prefix(), wait_s=0.05)
    assert billing.book.online
    with pytest.raises(BillingUnavailable, match="slow"):
        await billing.admit("r1", _key("a"), LISTING, None, BOUNDS)


async def test_one_accounts_reservation_does_not_reset_another_accounts_offline_usage(tmp_path: Path,
                                                                                      redis_url: str) -> None:
    """Known down here = the billing view is missing in Redis (`bill:ready` absent: the control
    plane is rebuilding it), which the lease round reports like an unreachable Redis."""
    prefix = redisdb.new_prefix()
    billing = _billing(tmp_path, prefix)
    sync = LeaseSync(redis_url, prefix, billing.book, 0.02, 1.0)
    async with redisdb.connect(redis_url) as redis:
        try:
            await _rounds_until(sync, online=False)
            assert [await _admit(billing, "a") for _ in range(3)] == [True, True, False]  # 400 per account
            assert await _admit(billing, "b")  # per account: b has its own allowance

            await redis.hset(account_key(prefix, "b"), {"credit": 10_000_000})
            await redis.set(ready_key(prefix), "1")
            await _rounds_until(sync, online=True)
            task = asyncio.create_task(sync.run())
            try:
                assert await _admit(billing, "b")  # a real reservation from b's lease: Redis is back
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            await redis.delete([ready_key(prefix)])
            await _rounds_until(sync, online=False)
            a_again = await _admit(billing, "a")
        finally:
            await redisdb.delete_prefix(redis, prefix)
    assert not a_again  # a's offline usage was not reset by b's reservation
