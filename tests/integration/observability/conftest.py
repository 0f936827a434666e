"""A loaded stack for the observability tests: control plane (stats from Prometheus), a proxy with
two Granian workers that takes the load, a second idle proxy (for ranking), and a real Prometheus
scraping all three every second while the load runs.

The load covers what every dashboard panel charts: JSON and streamed chat on a slow and a fast
listing, a failing listing (failures, ejection), capped charges, over-reported and missing usage,
402 (no credit), 429 (account rpm), 401, and settlement of it all.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support import pg, redisdb
from tests.support.billing_stack import BillingStack, billing_stack, until
from tests.support.procs import ROOT, free_port
from tests.support.prometheus import Prometheus, prometheus

CHAT = "deepseek/deepseek-chat"
TINY = "zhipu/glm-5-0131"  # micro-USD asks: one cached token makes a charge exceed its reservation
RULES = ROOT / "grafana" / "prometheus" / "alerts.yml"


@dataclass
class Loaded:
    stack: BillingStack
    prom: Prometheus
    seller_id: str
    slow: str
    fast: str
    before: str  # the listing the idle proxy chose for a chat request before any load (no stats)
    key: str
    sent: int  # inference requests sent to the loaded proxy (at least)


@pytest.fixture(scope="package")
async def obs_db(pg_server_url: str) -> AsyncIterator[str]:
    url = await pg.create_test_database(pg_server_url)
    yield url
    await pg.drop_database(url)


@pytest.fixture(scope="package")
async def obs_prefix(redis_url: str) -> AsyncIterator[str]:
    prefix = redisdb.new_prefix()
    yield prefix
    async with redisdb.connect(redis_url) as client:
        await redisdb.delete_prefix(client, prefix)


def chat(http: httpx.Client, key: str, model: str = CHAT, *, stream: bool = False,
         fake: dict[str, object] | None = None) -> httpx.Response:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": "hello there"}],
                               "stream": stream, "max_tokens": 16}
    if fake:
        body["fake"] = fake
    return http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body)


def _set_status(stack: BillingStack, seller: dict[str, str], listing: str, status: str) -> None:
    r = stack.http.patch(f"/v1/market/listings/{listing}", headers=seller, json={"status": status})
    assert r.status_code == 200, r.text


def _routed_to(stack: BillingStack, key: str, listing: str) -> None:
    until(lambda: chat(stack.http, key).headers.get("x-df-market-listing-id") == listing, 15)


@pytest.fixture(scope="package")
def loaded(tmp_path_factory: pytest.TempPathFactory, obs_db: str, redis_url: str, obs_prefix: str) -> Iterator[Loaded]:
    logs = tmp_path_factory.mktemp("observability")
    prom_port = free_port()
    control = {"DF_STATS_SOURCE": "prometheus", "DF_PROMETHEUS_URL": f"http://127.0.0.1:{prom_port}",
               "DF_PROMETHEUS_WINDOW": "1m", "DF_SNAPSHOT_RESYNC_S": "1", "DF_LEDGER_CHECK_S": "2",
               "DF_ADMISSION": "off"}  # the failing listing would not pass its admission probe
    with billing_stack(logs, obs_db, redis_url, obs_prefix, proxies=2, workers=2, control_extra=control) as s:
        seller = s.account(0)
        slow = s.listing(seller, CHAT, "0.20", "0.60", path="/k/ttft_ms=300,tps=200/v1")  # cheaper, slower
        fast = s.listing(seller, CHAT, "0.30", "0.90", path="/k/tps=400/v1")
        bad = s.listing(seller, TINY, "0.000001", "0", path="/k/status=500/v1")  # cheapest: tried first, fails
        good = s.listing(seller, TINY, "0.000002", "0")
        for lid, ask in ((bad, "0.000001"), (good, "0.000002")):
            r = s.http.patch(f"/v1/market/listings/{lid}", headers=seller, json={"ask_cached_input": ask})
            assert r.status_code == 200, r.text
        buyer = s.account(1000)
        key = s.key(buyer)
        idle = httpx.Client(base_url=s.proxies[1].url, timeout=20)
        until(lambda: chat(idle, key).status_code == 200, 15)
        before = chat(idle, key).headers["x-df-market-listing-id"]
        with prometheus(logs / "prometheus", {"proxy": [p.url.removeprefix("http://") for p in s.proxies],
                                              "control": [s.control.url.removeprefix("http://")]},
                        rules=[RULES], port=prom_port) as prom:
            until(prom.targets_up, 20)
            sent = _load(s, seller, key, slow, fast, bad)
            until(lambda: bool(prom.query('sum(gateway_requests_total{status="200"}) > 0')), 20)
            time.sleep(3)  # a few more scrapes after the load
            yield Loaded(stack=s, prom=prom, seller_id=seller["x-account-id"], slow=slow, fast=fast, before=before,
                         key=key, sent=sent)
        idle.close()


def _load(s: BillingStack, seller: dict[str, str], key: str, slow: str, fast: str, bad: str) -> int:
    """A few seconds of mixed traffic on the loaded proxy; returns the number of inference requests."""
    sent = 0

    def go(model: str = CHAT, *, stream: bool = False, fake: dict[str, object] | None = None) -> httpx.Response:
        nonlocal sent
        sent += 1
        return chat(s.http, key, model, stream=stream, fake=fake)

    _set_status(s, seller, fast, "paused")  # the slow listing takes this phase
    _routed_to(s, key, slow)
    sent += 1
    for i in range(10):  # paced over a few scrapes, so Prometheus sees the histograms grow
        r = go(stream=i % 2 == 0, fake={"chunks": 12})
        assert r.status_code == 200 and r.headers["x-df-market-listing-id"] == slow, r.text
        time.sleep(0.3)
    _set_status(s, seller, fast, "active")
    _set_status(s, seller, slow, "paused")  # then the fast one
    _routed_to(s, key, fast)
    sent += 1
    for i in range(10):
        r = go(stream=i % 2 == 0, fake={"chunks": 12})
        assert r.status_code == 200 and r.headers["x-df-market-listing-id"] == fast, r.text
        time.sleep(0.3)
    _set_status(s, seller, slow, "active")
    for _ in range(8):  # the failing listing fails (and is ejected); one cached token caps the charge
        r = go(TINY, fake={"cached_tokens": 1})
        assert r.status_code == 200, r.text
    assert go(fake={"prompt_tokens": 5_000}).status_code == 200  # an over-report
    assert go(fake={"usage": False}).status_code == 200  # no usage: estimated
    broke = s.key(s.account(0))
    assert chat(s.http, broke).status_code == 402
    sent += 1
    assert chat(s.http, "sk-df-not-a-key").status_code == 401
    sent += 1
    limited = s.account(100)
    limited_key = s.key(limited)
    r = httpx.patch(f"{s.control.url}/api/admin/accounts/{limited['x-account-id']}", json={"rpm_limit": 2},
                    headers={"Authorization": f"Bearer {s.admin}"}, timeout=20)
    assert r.status_code == 200, r.text
    until(lambda: chat(s.http, limited_key).status_code == 429, 15)
    for _ in range(6):  # streams spread over a few scrapes after the burst
        go(stream=True, fake={"chunks": 12})
        time.sleep(0.3)
    return sent
