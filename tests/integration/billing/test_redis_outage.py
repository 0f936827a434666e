"""Redis down during traffic, then back (empty, as after a crash without persistence): requests
keep being served on the offline allowance, their usage goes to the disk spool, is replayed,
and every request is settled exactly once; the billing view is rebuilt from PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support import pg
from tests.support.billing_stack import BillingStack, billing_stack
from tests.support.private_redis import PrivateRedis


@pytest.fixture(scope="module")
async def outage_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path_factory.mktemp("redis"))
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, outage_db: str,
          private_redis: PrivateRedis) -> Iterator[BillingStack]:
    logs: Path = tmp_path_factory.mktemp("outage")
    with billing_stack(logs, outage_db, private_redis.url, "dfout:",
                       proxy_env={"DF_BILLING_REDIS_TIMEOUT_S": "0.2"}) as s:
        seller = s.account(0)
        s.listing(seller, "deepseek/deepseek-chat", "0.30", "0.90")
        yield s


def chat(stack: BillingStack, key: str, stream: bool) -> str:
    r = stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "x" * 40}], "max_tokens": 100,
        "stream": stream, "fake": {"chunks": 20}})
    assert r.status_code == 200, r.text
    return r.headers["x-request-id"]


def test_redis_down_then_back_loses_nothing(stack: BillingStack, private_redis: PrivateRedis) -> None:
    account = stack.account(500)
    key = stack.key(account)
    ids = [chat(stack, key, i % 2 == 0) for i in range(4)]
    private_redis.stop()
    ids += [chat(stack, key, i % 2 == 0) for i in range(10)]  # served on the offline allowance, spooled
    private_redis.start()  # empty: stream, billing view and snapshot are gone
    deadline = time.monotonic() + 30
    settled: dict[str, object] = {}
    while len(settled) < len(ids):
        assert time.monotonic() < deadline, f"settled {len(settled)} of {len(ids)}"
        for request_id in ids:
            if request_id not in settled:
                r = stack.generation(key, request_id)
                if r.status_code == 200 and r.json()["status"] != "pending":
                    settled[request_id] = r.json()
        time.sleep(0.2)
    per_request = 12 + 18  # 10 prompt tokens at $0.30/M -> 3, 20 completion at $0.90/M -> 18: ceil each
    per_request = -(-10 * 300_000 // 10**6) + -(-20 * 900_000 // 10**6)
    assert all(g["cost_micro_usd"] == per_request for g in settled.values())
    assert stack.balance(account) == 5_000_000 - per_request * len(ids)
    after = chat(stack, key, False)  # the billing view was rebuilt: online reservations again
    assert stack.settled(key, after)["cost_micro_usd"] == per_request
    stack.ledger_check()
