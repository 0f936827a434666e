"""The budget race (reliability.md 3.2): 200 concurrent requests against a $1 key budget, each
reserving exactly $0.10 (asks 0 / $100 per Mtok, max_tokens 1,000): at most 10 admitted, every
other one a 402 before any upstream call, total spend never above the budget — here against one
proxy, in `test_budget_replicas.py` against two proxy processes sharing Redis. Then a replayed
usage event changes nothing."""

from __future__ import annotations

import asyncio

import coredis
import httpx

from tests.integration.billing.conftest import BUDGET_MODEL
from tests.support.billing_stack import BillingStack
from wire.billing import usage_stream


async def _fire(stack: BillingStack, key: str, n: int) -> list[int]:
    """n concurrent requests, split evenly between the stack's proxy processes."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    urls = [p.url for p in stack.proxies]
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        async def one(i: int) -> int:
            url = urls[i % len(urls)] + "/v1/chat/completions"
            r = await http.post(url, headers={"Authorization": f"Bearer {key}"}, json={
                "model": BUDGET_MODEL, "messages": [{"role": "user", "content": "go"}], "max_tokens": 1000,
                "stream": i % 2 == 0, "fake": {"chunks": 600 + i, "ttft_ms": 1500}})
            if r.status_code == 402:
                assert "monthly budget" in r.json()["error"]["message"]
            return r.status_code
        return list(await asyncio.gather(*(one(i) for i in range(n))))


def test_200_concurrent_requests_against_a_1_dollar_budget(stack: BillingStack) -> None:
    budget_race(stack)


def budget_race(stack: BillingStack) -> None:
    account = stack.account(10_000)  # $100 of credit: the key budget is the limit
    key = stack.key(account, monthly_budget_cents=100)
    upstream_before = stack.upstream_requests()
    statuses = asyncio.run(_fire(stack, key, 200))
    admitted = statuses.count(200)
    assert set(statuses) <= {200, 402}, statuses
    assert 1 <= admitted <= 10, admitted
    assert stack.upstream_requests() - upstream_before == admitted  # 402s never reached the seller
    usage = stack.http.get("/api/usage/by-key", headers=account).json()["data"]
    deadline = 0
    while sum(r["requests"] for r in usage) < admitted and deadline < 300:
        deadline += 1
        usage = stack.http.get("/api/usage/by-key", headers=account).json()["data"]
    spent = sum(r["cost_micro_usd"] for r in usage)
    assert spent <= 1_000_000, spent
    by_proxy = [statuses[i::len(stack.proxies)].count(200) for i in range(len(stack.proxies))]
    print(f"\nbudget race over {len(stack.proxies)} proxies: {admitted} of 200 admitted {by_proxy}, "
          f"spent {spent} of 1000000 micro-USD")


async def _replay_all(stack: BillingStack) -> int:
    """Re-add every settled request's event to the stream, as a redelivery would."""
    import asyncpg  # noqa: PLC0415

    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch("SELECT * FROM generations")
    finally:
        await conn.close()
    from wire.pricing import Asks  # noqa: PLC0415
    from wire.usage import UsageEvent, encode_event  # noqa: PLC0415

    async with coredis.Redis.from_url(stack.redis_url) as redis:
        for r in rows:
            ev = UsageEvent(request_id=r["request_id"], account_id=str(r["account_id"]), key_id=r["key_id"],
                            listing_id=r["listing_id"], seller_account_id=str(r["seller_account_id"]),
                            model=r["model"], provider=r["provider"], upstream_model=r["upstream_model"],
                            status=r["status"], prompt_tokens=r["prompt_tokens"] + 1,
                            completion_tokens=r["completion_tokens"] + 1,
                            asks=Asks(ask_input=r["ask_input"], ask_output=r["ask_output"]), month=r["month"])
            await redis.xadd(usage_stream(stack.prefix), {"e": encode_event(ev)})
        return len(rows)


def test_replayed_events_are_not_billed_twice(stack: BillingStack) -> None:
    account = stack.account(500)
    key = stack.key(account)
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "hello"}]})
    stack.settled(key, r.headers["x-request-id"])
    before = stack.ledger_check()
    balance = stack.balance(account)
    replayed = asyncio.run(_replay_all(stack))
    assert replayed >= 1

    async def drained() -> int:
        async with coredis.Redis.from_url(stack.redis_url) as redis:
            return int(await redis.xlen(usage_stream(stack.prefix)))
    for _ in range(200):
        if asyncio.run(drained()) == 0:
            break
    assert asyncio.run(drained()) == 0
    assert stack.balance(account) == balance
    assert stack.ledger_check().splitlines()[-2:] == before.splitlines()[-2:]  # same journal/generation counts
