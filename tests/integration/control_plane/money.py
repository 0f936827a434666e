"""Helpers of the money tests on the session control plane: management keys, the ledger check
(its module, as `dragonfly ledger check` runs it), expiring payment intents, reading Redis."""

from __future__ import annotations

import asyncpg
import httpx

from control_plane.ledger_check import check
from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account
from tests.support import redisdb
from wire.billing import account_key


async def mgmt_key(http: httpx.AsyncClient, acct: Account, scope: str) -> dict[str, str]:
    made = await http.post("/api/management-keys", headers=acct.auth, json={"name": f"m-{scope}", "mgmt_scope": scope})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


async def assert_ledger_ok(db: asyncpg.Connection) -> None:
    problems, _ = await check(db)
    assert not problems, problems


async def expire(db: asyncpg.Connection, payment_id: str | None = None) -> None:
    """Let open intents (all, or one) expire now (their hold ends; nothing else changes)."""
    await db.execute(
        "UPDATE crypto_payments SET expires_at = clock_timestamp() WHERE confirmed_at IS NULL"
        " AND expires_at > clock_timestamp() AND ($1::uuid IS NULL OR id = $1)", payment_id)


async def redis_credit(cp: ControlPlane, redis_url: str, account_id: str) -> int:
    async with redisdb.connect(redis_url) as r:
        raw = await r.hget(account_key(cp.redis_prefix, account_id), "credit")
    return int(raw or 0)
