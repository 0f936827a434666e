"""Daily quotas reset at 00:00 UTC, across the workers of a proxy sharing Redis.

The proxy's daily clock is shifted (DF_LIMITS_DAY_OFFSET_S) so that midnight UTC falls a few
seconds after it starts: the test spends the quotas, sees 429 with Retry-After until midnight,
waits that long and is served again.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest

from tests.support.market import Market, standard_market
from tests.support.procs import Server, granian
from tests.support.redisdb import server_url
from wire.snapshot import Account

from .conftest import PROXY_ENV, chat_body

AHEAD_S = 10.0  # midnight is this far after the fixture starts
QUOTA_ACCOUNT = "00000000-0000-4000-8000-00000000d002"


class QuotaMarket(Market):
    def snapshot(self):  # type: ignore[no-untyped-def]
        snap = super().snapshot()
        acct = Account(id=QUOTA_ACCOUNT, plan="pro", trading_terms_accepted=True, daily_token_quota=30)
        return msgspec.structs.replace(snap, accounts=snap.accounts + (acct,))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, fake: Server) -> Iterator[tuple[Server, Market]]:
    tmp = tmp_path_factory.mktemp("daily")
    market = QuotaMarket(path=tmp / "snapshot.json", fake_url=fake.url)
    standard_market(market.path, fake.url)
    market.keys, market.key_records = {}, {}
    market.add_key("requests", daily_request_limit=3)
    market.add_key("tokens", account=QUOTA_ACCOUNT)
    market.write()
    now = time.time()
    offset = (math.floor(now / 86400) + 1) * 86400 - AHEAD_S - now  # the proxy's clock: 10 s before midnight
    env = {**PROXY_ENV, "DF_SNAPSHOT_FILE": str(market.path), "DF_REDIS_URL": server_url(),
           "DF_REDIS_PREFIX": f"dq-{secrets.token_hex(4)}:", "DF_LIMITS_DAY_OFFSET_S": f"{offset:.3f}",
           "DF_LIMITS_WAIT_MS": "1000"}
    with granian("proxy.asgi:app", log_dir=tmp, env=env, workers=2, ready_path="/readyz") as server:
        yield server, market


def _post(server: Server, key: str, **extra: object) -> httpx.Response:
    return httpx.post(server.url + "/v1/chat/completions", json=chat_body(**extra),
                      headers={"authorization": f"Bearer {key}"}, timeout=20)


def test_daily_quotas_refuse_until_midnight_utc_then_reset(proxy: tuple[Server, Market]) -> None:
    server, market = proxy
    requests_key, tokens_key = market.keys["requests"], market.keys["tokens"]
    assert [_post(server, requests_key).status_code for _ in range(3)] == [200] * 3
    over = _post(server, requests_key)
    assert over.status_code == 429, over.text
    error = over.json()["error"]
    assert error["type"] == "rate_limit_exceeded" and error["code"] == 429
    assert error["message"].startswith("Daily limit reached: 3 requests per day for this API key")
    assert "00:00 UTC" in error["message"]
    wait_ms = int(over.headers["retry-after-ms"])
    assert 1 <= int(over.headers["retry-after"]) <= AHEAD_S and wait_ms <= AHEAD_S * 1000

    first = _post(server, tokens_key, max_tokens=50)  # reserves the whole quota of 30, then its real usage
    assert first.status_code == 200, first.text
    spent = _post(server, tokens_key, max_tokens=50)
    assert spent.status_code == 429 and spent.json()["error"]["message"].startswith(
        "Token quota exhausted: 30 tokens per day for this account")
    assert int(spent.headers["retry-after-ms"]) <= wait_ms

    time.sleep(wait_ms / 1000 + 0.05)  # 00:00 UTC on the proxy's clock: a new day
    assert _post(server, requests_key).status_code == 200
    assert _post(server, tokens_key, max_tokens=50).status_code == 200
