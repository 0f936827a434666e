"""Everything proxies and control plane keep in Redis works on a real 3-node Redis Cluster.

`DF_REDIS_URL=redis+cluster://…`: both processes use coredis' cluster client, and the prefix
becomes a hash tag (`wire.redis_target`), so snapshots (MGET of sections, pub/sub notices),
limit rounds and credit-lease rounds (Lua scripts over many keys), the usage stream and its
consumer group all live in one slot. Two proxies, a control plane and a fake seller run on it:
keys propagate by snapshot to both proxies, a daily request limit holds across them, every
admitted request settles exactly once, and the ledger checks out.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, assert_settled_once, billing_stack, until
from tests.support.redis_cluster import redis_cluster
from wire.billing import account_key, ready_key, usage_stream
from wire.publish import manifest_key, notify_channel
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


def cli(port: int, *args: str) -> list[str]:
    """A redis-cli command against the cluster (following redirections), its output lines. (The
    test process avoids coredis' cluster client: version 6.9 leaves anyio streams to the GC.)"""
    done = subprocess.run(["redis-cli", "-c", "-p", str(port), *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


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

    p = key_prefix(stack.prefix, True)
    names = [manifest_key(p), usage_stream(p), ready_key(p), account_key(p, buyer["x-account-id"])]
    slots = {cli(cluster_ports[0], "cluster", "keyslot", n)[0] for n in names}
    assert len(slots) == 1  # one hash tag: every key of the deployment in one slot
    assert cli(cluster_ports[0], "exists", manifest_key(p)) == ["1"]
    assert cli(cluster_ports[0], "exists", account_key(p, buyer["x-account-id"])) == ["1"]  # credit, leases
    assert "settle" in cli(cluster_ports[0], "xinfo", "groups", usage_stream(p))  # the consumer group
    second.close()


def test_snapshot_notices_reach_subscribers_on_the_cluster(stack: BillingStack, cluster_ports: list[int]) -> None:
    """A change in the market is announced on the notice channel (pub/sub crosses the cluster)."""
    channel = notify_channel(key_prefix(stack.prefix, True))
    listener = subprocess.Popen(["redis-cli", "-p", str(cluster_ports[2]), "subscribe", channel],
                                stdout=subprocess.PIPE, text=True, errors="replace")  # the payload is msgpack
    lines: list[str] = []
    assert listener.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(listener.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        until(lambda: len(lines) >= 3, 10)  # subscribe, channel, 1: subscribed
        buyer = stack.account(100)
        stack.key(buyer)  # a new key: the control plane publishes a new snapshot
        until(lambda: "message\n" in lines, 20)
    finally:
        listener.terminate()
        listener.wait(timeout=10)
        reader.join(timeout=10)
        listener.stdout.close()  # type: ignore[union-attr]
    version = lines[lines.index("message\n") + 2].strip()
    assert version and cli(cluster_ports[0], "exists", manifest_key(key_prefix(stack.prefix, True))) == ["1"]
