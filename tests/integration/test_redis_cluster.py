"""Everything proxies and control plane keep in Redis works on a real 3-node Redis Cluster.

`DF_REDIS_URL=redis+cluster://…`: both processes use coredis' cluster client, and the prefix
becomes a hash tag (`wire.redis_target`), so snapshots (MGET of sections, pub/sub notices),
limit rounds and credit-lease rounds (Lua scripts over many keys), the usage stream and its
consumer group all live in one slot. Two proxies, a control plane and a fake seller run on it:
keys propagate by snapshot to both proxies, a daily request limit holds across them, every
admitted request settles exactly once, and the ledger checks out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import coredis
import httpx
import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, assert_settled_once, billing_stack
from tests.support.redis_cluster import redis_cluster
from wire.billing import account_key, ready_key, usage_stream
from wire.publish import manifest_key
from wire.redis_target import key_prefix

DAILY = 4


@pytest.fixture(scope="module")
async def cluster_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="module")
def cluster_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as ports:
        yield ports


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cluster_db: str, cluster_ports: list[int]) -> Iterator[BillingStack]:
    url = f"redis+cluster://127.0.0.1:{cluster_ports[1]}"
    # Redis timeouts well above a loaded test machine's latency: past them a proxy limits locally and
    # spends its offline allowance (documented degraded modes), which this test is not about
    slow_ok = {"DF_LIMITS_REDIS_TIMEOUT_MS": "2000", "DF_BILLING_REDIS_TIMEOUT_S": "2"}
    with billing_stack(tmp_path_factory.mktemp("cluster-stack"), cluster_db, url, redisdb.new_prefix(),
                       proxies=2, proxy_env=slow_ok) as s:
        yield s


async def _slots_and_state(port: int, prefix: str, account: str) -> tuple[set[int], int, list[bytes]]:
    p = key_prefix(prefix, True)
    names = [manifest_key(p), usage_stream(p), ready_key(p), account_key(p, account)]
    async with coredis.RedisCluster(host="127.0.0.1", port=port, stream_timeout=5, connect_timeout=5) as r:
        slots = {int(await r.cluster_keyslot(n)) for n in names}
        present = await r.exists([manifest_key(p), account_key(p, account)])
        groups = [g[b"name"] for g in await r.xinfo_groups(usage_stream(p))]  # type: ignore[index]
    return slots, present, groups  # type: ignore[return-value]


def test_a_stack_on_redis_cluster_admits_limits_settles_once(stack: BillingStack, cluster_ports: list[int]) -> None:
    seller = stack.account(0)
    stack.listing(seller, "deepseek/deepseek-chat", "0.30", "0.90")
    buyer = stack.account(500)
    key = stack.key(buyer, daily_request_limit=DAILY)  # reached the first proxy through the snapshot
    second = httpx.Client(base_url=stack.proxies[1].url, timeout=20)
    auth = {"Authorization": f"Bearer {key}"}
    body = {"model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "x" * 40}],
            "max_tokens": 100, "fake": {"chunks": 20}}
    balance, earnings = stack.balance(buyer), stack.earnings(seller)

    answers = []
    for n in range(DAILY + 3):  # alternate proxies, streamed and not
        client = stack.http if n % 2 == 0 else second
        answers.append(client.post("/v1/chat/completions", headers=auth, json={**body, "stream": n % 3 == 0}))
    statuses = [r.status_code for r in answers]
    admitted = statuses.count(200)  # stack.key's probe may have been the day's first request
    assert admitted in (DAILY - 1, DAILY) and statuses == [200] * admitted + [429] * (len(statuses) - admitted), \
        [r.text[:200] for r in answers]
    ids = [r.headers["x-request-id"] for r in answers if r.status_code == 200]
    rows = assert_settled_once(stack, buyer, seller, key, ids, balance, earnings)
    assert all(r["cost_micro_usd"] > 0 for r in rows)

    slots, present, groups = asyncio.run(
        _slots_and_state(cluster_ports[0], stack.prefix, buyer["x-account-id"]))
    assert len(slots) == 1  # one hash tag: every key of the deployment in one slot
    assert present == 2 and b"settle" in groups  # the snapshot manifest, the buyer's credit hash, the group
    second.close()
