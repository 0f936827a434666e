"""Client disconnects cancel the upstream; snapshot swaps under concurrent traffic lose nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.proxy.conftest import PROXY_ENV, FakeStats, chat_body
from tests.support.market import Market, standard_market
from tests.support.procs import Server, granian


def wait_for(predicate: object, what: str, limit_s: float = 10.0) -> None:
    """Poll until true; the limit only bounds a hang, it is not a performance assertion."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def test_client_disconnect_cancels_the_upstream_stream(proxy: Server, market: Market, fake_stats: FakeStats) -> None:
    before = fake_stats.stats()
    body = chat_body(stream=True, fake={"chunks": 400, "tps": 20})
    with httpx.stream("POST", proxy.url + "/v1/chat/completions", json=body, timeout=20,
                      headers={"Authorization": f"Bearer {market.keys['main']}"}) as r:
        assert r.status_code == 200
        next(line for line in r.iter_lines() if "tok0" in line)
    # we left after one chunk; a 400-chunk upstream at 20 tok/s would run for 20 s
    wait_for(lambda: fake_stats.stats()["streams_disconnected"] > before["streams_disconnected"],
             "the upstream saw the disconnect")
    after = fake_stats.stats()
    assert after["streams_completed"] == before["streams_completed"]


@pytest.fixture
def swapping(tmp_path: Path, fake: Server) -> Iterator[tuple[Server, Market]]:
    market = standard_market(tmp_path / "snapshot.json", fake.url)
    env = {**PROXY_ENV, "DF_SNAPSHOT_FILE": str(market.path), "DF_SNAPSHOT_POLL_S": "0.05"}
    with granian("proxy.asgi:app", log_dir=tmp_path, env=env, ready_path="/readyz") as server:
        yield server, market


def test_snapshot_swap_under_concurrent_requests(swapping: tuple[Server, Market]) -> None:
    server, market = swapping
    stable = market.keys["main"]
    first_version = httpx.get(server.url + "/readyz").json()["snapshot_version"]

    async def hammer(stop: asyncio.Event) -> list[int]:
        statuses: list[int] = []
        async with httpx.AsyncClient(base_url=server.url, timeout=20,
                                     headers={"Authorization": f"Bearer {stable}"}) as http:
            while not stop.is_set():
                batch = [http.post("/v1/chat/completions", json=chat_body(stream=i % 2 == 0)) for i in range(8)]
                statuses += [r.status_code for r in await asyncio.gather(*batch)]
        return statuses

    async def churn(stop: asyncio.Event) -> None:
        for round_ in range(12):
            name = f"rotating-{round_}"
            market.add_key(name)
            if round_:
                market.remove_key(f"rotating-{round_ - 1}")
            market.write()
            await asyncio.sleep(0.08)
        stop.set()

    async def main() -> list[int]:
        stop = asyncio.Event()
        results = await asyncio.gather(hammer(stop), churn(stop))
        return results[0]

    statuses = asyncio.run(main())
    assert len(statuses) > 50
    assert set(statuses) == {200}, f"requests failed during swaps: {sorted(set(statuses))}"
    # the last key written is live, its predecessor is gone, on the same running proxy
    newest, retired = market.keys["rotating-11"], market.keys["rotating-10"]

    def status(key: str) -> int:
        return httpx.post(server.url + "/v1/chat/completions", json=chat_body(),
                          headers={"Authorization": f"Bearer {key}"}).status_code

    wait_for(lambda: status(newest) == 200, "the newest key is accepted")
    assert status(retired) == 401
    assert httpx.get(server.url + "/readyz").json()["snapshot_version"] != first_version


def test_invalid_snapshot_is_refused_and_the_last_good_one_kept(swapping: tuple[Server, Market]) -> None:
    server, market = swapping
    version = httpx.get(server.url + "/readyz").json()["snapshot_version"]
    market.path.write_bytes(b'{"schema": 1, "keys": [{"id": "k", "hash": "h", "account_id": "nobody"}]}')
    time.sleep(0.5)  # several poll periods; the proxy must not swap in the broken file
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["snapshot_version"] == version
    r = httpx.post(server.url + "/v1/chat/completions", json=chat_body(),
                   headers={"Authorization": f"Bearer {market.keys['main']}"})
    assert r.status_code == 200
    assert "refused" in server.logs()
