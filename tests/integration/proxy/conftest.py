"""A fake provider and a proxy serving a snapshot file, as real processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.market import SECRET, SELLER_KEY, Market, standard_market
from tests.support.procs import Server, granian

PROXY_ENV = {
    "DF_SECRET_KEY": SECRET,
    "DF_SNAPSHOT_POLL_S": "0.1",
    "DF_UPSTREAM_FIRST_BYTE_TIMEOUT_S": "1.5",
    "DF_UPSTREAM_IDLE_TIMEOUT_S": "1.5",
    "DF_UPSTREAM_CONNECT_TIMEOUT_S": "1",
    "DF_MAX_BODY_BYTES": "65536",
    "DF_MAX_UPLOAD_BYTES": "300000",
}


@pytest.fixture(scope="session")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("fake")
    with granian("fake_provider.asgi:app", log_dir=logs, env={"DF_FAKE_API_KEY": SELLER_KEY}) as server:
        yield server


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory, fake: Server) -> Market:
    return standard_market(tmp_path_factory.mktemp("market") / "snapshot.json", fake.url)


@pytest.fixture(scope="session")
def proxy(tmp_path_factory: pytest.TempPathFactory, market: Market) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("proxy")
    env = {**PROXY_ENV, "DF_SNAPSHOT_FILE": str(market.path)}
    with granian("proxy.asgi:app", log_dir=logs, env=env, ready_path="/readyz") as server:
        yield server


@pytest.fixture
def client(proxy: Server, market: Market) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=proxy.url + "/v1", api_key=market.keys["main"], max_retries=0, timeout=20) as sdk:
        yield sdk


@pytest.fixture
def fake_stats(fake: Server) -> FakeStats:
    return FakeStats(fake.url)


class FakeStats:
    def __init__(self, url: str) -> None:
        self.url = url

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(self.url + "/_stats").json())

    def last_requests(self, n: int = 1) -> list[dict[str, Any]]:
        return list(httpx.get(self.url + "/_requests", params={"last": n}).json()["requests"])


def chat_body(model: str = "deepseek/deepseek-chat", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "Hello there, fake!"}], **extra}

