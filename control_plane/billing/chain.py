"""Watching the chain for deposits: the `ChainWatcher` interface, a dev implementation, and the
background loop that confirms what a watcher finds (through `payments.confirm`, the same path
as the operator endpoint, so a deposit credits once however many times it is reported).

A production watcher (TronGrid / a full node) implements `find_deposits`: for each open intent,
a confirmed TRC-20 USDT transfer to its address (enough block confirmations), its tx id and the
amount in micro-USDT. `DevChainWatcher` pretends every intent was paid in full `pay_after_s`
after it was created (development only: `DF_CHAIN_WATCHER=dev`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import asyncpg
import msgspec

from control_plane.billing import payments
from control_plane.db import payments as db
from control_plane.errors import ControlPlaneError

log = logging.getLogger("control_plane.payments")


class OpenIntent(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str
    address: str
    amount_usdt_micro: int
    created_at_s: float
    expires_at_s: float


class Deposit(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str
    tx_hash: str  # 64 hex digits
    amount_usdt_micro: int


class ChainWatcher(Protocol):
    async def find_deposits(self, intents: Sequence[OpenIntent]) -> list[Deposit]:
        """Deposits that arrived for any of `intents` (a deposit may be reported again later)."""
        ...


class DevChainWatcher:
    """Every intent counts as paid in full once it is `pay_after_s` old (a fake tx id)."""

    def __init__(self, pay_after_s: float = 3.0, clock: Callable[[], float] = time.time) -> None:
        self._pay_after_s = pay_after_s
        self._clock = clock

    async def find_deposits(self, intents: Sequence[OpenIntent]) -> list[Deposit]:
        now = self._clock()
        return [Deposit(payment_id=i.payment_id, tx_hash=hashlib.sha256(f"dev:{i.payment_id}".encode()).hexdigest(),
                        amount_usdt_micro=i.amount_usdt_micro)
                for i in intents if now - i.created_at_s >= self._pay_after_s]


async def watch_once(pool: asyncpg.Pool, watcher: ChainWatcher,
                     push_credit: Callable[[str], Awaitable[None]]) -> int:
    """Ask the watcher about every open intent and confirm what it found; returns new credits."""
    async with pool.acquire() as conn:
        rows = await db.open_intents(conn)
    intents = [OpenIntent(payment_id=r["id"], address=r["address"], amount_usdt_micro=r["amount_usdt_micro"],
                          created_at_s=r["created_at"].timestamp(), expires_at_s=r["expires_at"].timestamp())
               for r in rows]
    if not intents:
        return 0
    credited = 0
    for dep in await watcher.find_deposits(intents):
        try:
            async with pool.acquire() as conn:
                result, new = await payments.confirm(conn, dep.payment_id, payments.check_tx_hash(dep.tx_hash),
                                                     dep.amount_usdt_micro, by="watcher")
        except ControlPlaneError as exc:
            log.warning("deposit for payment %s not credited: %s", dep.payment_id, exc.message)
            continue
        if new:
            credited += 1
            log.info("payment %s confirmed by the chain watcher: %d micro-USD credited", dep.payment_id,
                     result.credited_micro_usd)
            await push_credit(result.account_id)
    return credited


async def run(pool: asyncpg.Pool, watcher: ChainWatcher, push_credit: Callable[[str], Awaitable[None]],
              interval_s: float = 1.0) -> None:
    while True:
        try:
            await watch_once(pool, watcher, push_credit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # background boundary
            log.warning("chain watch failed: %s", type(exc).__name__)
        await asyncio.sleep(interval_s)
