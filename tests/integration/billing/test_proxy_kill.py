"""A proxy worker SIGKILLed mid-stream, restarted by Granian (as `dragonfly proxy` runs it): the
usage events it had buffered are shipped by its successor, the request it was streaming settles
once as failed (uncharged), and every other admitted request settles exactly once.

The proxy here flushes usage every 10 minutes, so every finished request's event is still in the
killed worker's memory (and its in-flight journal) when the SIGKILL lands."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, assert_settled_once, billing_stack, until


@pytest.fixture(scope="module")
async def kill_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
async def kill_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, kill_db: str, redis_url: str,
          kill_prefix: str) -> Iterator[BillingStack]:
    logs: Path = tmp_path_factory.mktemp("proxykill")
    with billing_stack(logs, kill_db, redis_url, kill_prefix, respawn=True,
                       proxy_env={"DF_USAGE_FLUSH_MS": "600000"}) as s:
        s.seller = s.account(0)  # type: ignore[attr-defined]
        s.listing(s.seller, "deepseek/deepseek-chat", "0.30", "0.90")  # type: ignore[attr-defined]
        yield s


def test_worker_killed_mid_stream_loses_nothing(stack: BillingStack) -> None:
    seller: dict[str, str] = stack.seller  # type: ignore[attr-defined]
    buyer = stack.account(500)
    key = stack.key(buyer)
    before = (stack.balance(buyer), stack.earnings(seller))
    ids = [stack.chat(key, stream=i % 2 == 0).headers["x-request-id"] for i in range(4)]  # buffered, unshipped
    [worker] = stack.proxy.workers()
    with stack.http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "x" * 40}],
            "max_tokens": 400, "stream": True, "fake": {"chunks": 400, "tps": 20}}) as r:
        assert r.status_code == 200
        cut = r.headers["x-request-id"]
        lines = r.iter_lines()
        while "tok2" not in next(lines):  # the buyer is receiving the answer
            pass
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(httpx.HTTPError):
            for _ in lines:
                pass
    until(lambda: len(stack.proxy.workers()) == 1 and stack.proxy.workers() != [worker], 30)
    until(lambda: _serves(stack, key), 30)
    ids.append(stack.chat(key, stream=False).headers["x-request-id"])  # served by the new worker
    stack.proxy.stop()  # graceful: the new worker hands its buffered event over before exiting
    stack.proxy.start()
    rows = {r["request_id"]: r for r in assert_settled_once(stack, buyer, seller, key, [*ids, cut], *before)}
    assert rows[cut]["status"] == "failed" and rows[cut]["cost_micro_usd"] == 0
    assert {rows[i]["status"] for i in ids} == {"completed"}
    assert all(rows[i]["cost_micro_usd"] > 0 for i in ids)


def _serves(stack: BillingStack, key: str) -> bool:
    try:
        return stack.chat_status(key) == 404  # routed by a worker that has the snapshot
    except httpx.HTTPError:
        time.sleep(0.1)
        return False
