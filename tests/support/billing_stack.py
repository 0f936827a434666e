"""A whole billing stack for tests: control plane + fake seller + proxy (billing on) on one Redis,
plus helpers to make accounts, listings and keys through the API, to wait for settlement and to
check that a set of requests settled exactly once (`assert_settled_once`)."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.support import redisdb
from tests.support.procs import ROOT, Server, granian
from wire import secret_keys
from wire.billing import usage_stream


@dataclass
class BillingStack:
    proxy: Server
    control: Server
    fake: Server
    admin: str
    database_url: str
    redis_url: str
    prefix: str
    proxies: list[Server] = field(default_factory=list)  # every proxy process (`proxy` is the first)
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.proxy.url, timeout=20)

    def account(self, credit_cents: int) -> dict[str, str]:
        """A verified account made through the operator API (served on the control plane's port only)."""
        email, password = f"bill-{secrets.token_hex(5)}@example.com", "pw-" + secrets.token_hex(8)
        r = httpx.post(self.control.url + "/api/admin/accounts", timeout=20, headers={"Authorization": f"Bearer {self.admin}"}, json={
            "email": email, "password": password, "verified": True, "plan": "enterprise",
            "credit_cents": credit_cents, "trading_terms_accepted": True})
        assert r.status_code == 201, r.text
        token = self.http.post("/api/auth/login", json={"email": email, "password": password}).json()["token"]
        return {"Authorization": f"Bearer {token}", "x-account-id": r.json()["id"]}

    def listing(self, seller: dict[str, str], model: str, ask_input: str, ask_output: str,
                api_format: str = "openai", path: str = "/v1", *, admitted: bool = True,
                provider: str = "fake") -> str:
        """A listing on the fake seller (`path`: e.g. "/k/chunks=30/v1" to set fake knobs); with
        `admitted`, once its admission probe passed (README "Admission")."""
        pool = self.http.post("/v1/pool/keys", headers=seller, json={
            "provider": provider, "base_url": self.fake.url + path, "api_key": "sk-upstream-bill",
            "api_format": api_format, "name": "bill"})
        assert pool.status_code == 201, pool.text
        r = self.http.post("/v1/market/listings", headers=seller, json={
            "pool_key_id": pool.json()["id"], "model": model, "ask_input": ask_input, "ask_output": ask_output})
        assert r.status_code == 201, r.text
        listing_id = str(r.json()["id"])
        if admitted:
            self.wait_status(seller, listing_id, "active")
        return listing_id

    def listing_view(self, seller: dict[str, str], listing_id: str) -> dict[str, object]:
        r = self.http.get(f"/v1/market/listings/{listing_id}", headers=seller)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    def wait_status(self, seller: dict[str, str], listing_id: str, status: str, limit_s: float = 20.0) -> None:
        """Poll the listing view until its status is `status` (e.g. "active": admitted)."""
        deadline = time.monotonic() + limit_s
        while (view := self.listing_view(seller, listing_id))["status"] != status:
            assert time.monotonic() < deadline, f"listing never became {status}: {view}"
            time.sleep(0.05)

    def key(self, buyer: dict[str, str], **fields: object) -> str:
        r = self.http.post("/api/keys", headers=buyer, json={"name": "bill", **fields})
        assert r.status_code == 201, r.text
        key = str(r.json()["key"])
        until(lambda: self.chat_status(key) != 401, 15)
        return key

    def chat_status(self, key: str) -> int:
        return self.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "no/such-model", "messages": [{"role": "user", "content": "x"}]}).status_code

    def generation(self, key: str, request_id: str) -> httpx.Response:
        return self.http.get("/v1/generation", params={"id": request_id}, headers={"Authorization": f"Bearer {key}"})

    def settled(self, key: str, request_id: str) -> dict[str, object]:
        """Wait until the request is settled; every answer before must be 200 pending."""
        deadline = time.monotonic() + 15
        while True:
            r = self.generation(key, request_id)
            assert r.status_code == 200, r.text
            body: dict[str, object] = r.json()
            if body["status"] != "pending":
                return body
            assert time.monotonic() < deadline, "never settled"
            time.sleep(0.05)

    def balance(self, buyer: dict[str, str]) -> int:
        r = self.http.get("/api/billing/balance", headers=buyer)
        assert r.status_code == 200, r.text
        return int(r.json()["balance_micro_usd"])

    def upstream_requests(self) -> int:
        return int(httpx.get(self.fake.url + "/_stats").json()["requests"])

    def chat(self, key: str, *, stream: bool, fake: dict[str, object] | None = None) -> httpx.Response:
        """One chat request: 10 prompt tokens, 20 completion tokens unless `fake` knobs say otherwise."""
        return self.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
            "model": "deepseek/deepseek-chat", "messages": [{"role": "user", "content": "x" * 40}],
            "max_tokens": 100, "stream": stream, "fake": {"chunks": 20, **(fake or {})}})

    def settle_all(self, key: str, ids: list[str], limit_s: float = 60.0) -> dict[str, dict[str, object]]:
        """Wait until every request id is settled (not `pending`); their generations."""
        deadline = time.monotonic() + limit_s
        done: dict[str, dict[str, object]] = {}
        while len(done) < len(ids):
            assert time.monotonic() < deadline, f"settled {len(done)} of {len(ids)}"
            for request_id in ids:
                if request_id not in done:
                    r = self.generation(key, request_id)
                    if r.status_code == 200 and r.json()["status"] != "pending":
                        done[request_id] = r.json()
            time.sleep(0.1)
        return done

    def query(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.database_url, timeout=10)
            try:
                return list(await conn.fetch(sql, *args))
            finally:
                await conn.close()
        return asyncio.run(run())

    def earnings(self, seller: dict[str, str]) -> int:
        rows = self.query("SELECT balance FROM ledger_balances WHERE book = 'seller' AND account_id = $1",
                          seller["x-account-id"])
        return int(rows[0]["balance"]) if rows else 0

    def ledger_check(self) -> str:
        env = {"DF_DATABASE_URL": self.database_url, "PATH": str(Path(sys.executable).parent)}
        done = subprocess.run([str(Path(sys.executable).parent / "dragonfly"), "ledger", "check"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def assert_settled_once(stack: BillingStack, buyer: dict[str, str], seller: dict[str, str], key: str,
                        ids: list[str], balance_before: int, earnings_before: int) -> list[asyncpg.Record]:
    """Every request in `ids` settled exactly once and nothing else was charged to the buyer: one
    generation row each (no more, none missing), the buyer's balance fell by the sum of their
    costs, the seller's earnings rose by the sum of their payouts, and the ledger checks out."""
    stack.settle_all(key, ids)
    rows = stack.query("SELECT request_id, status, cost_micro_usd, seller_payout_micro_usd FROM generations"
                       " WHERE account_id = $1", buyer["x-account-id"])
    assert sorted(r["request_id"] for r in rows) == sorted(ids)
    assert stack.balance(buyer) == balance_before - sum(r["cost_micro_usd"] for r in rows)
    assert stack.earnings(seller) == earnings_before + sum(r["seller_payout_micro_usd"] for r in rows)
    stack.ledger_check()
    return rows


def during_traffic(stack: BillingStack, key: str, action: Callable[[], None]) -> list[str]:
    """Requests from three threads (streamed and not, each a few hundred ms long) while `action`
    runs, and a few after it; every one must be answered 200. Their request ids."""
    ids: list[str] = []
    failures: list[str] = []
    done = threading.Event()

    def client(n: int) -> None:
        sent = 0
        while not done.is_set() or sent < 2:
            r = stack.chat(key, stream=(n + sent) % 2 == 0, fake={"tps": 100})
            sent += 1
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.text[:200]}")
            else:
                ids.append(r.headers["x-request-id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        action()
    finally:
        done.set()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures
    return ids


def consumers(redis_url: str, prefix: str) -> list[str]:
    """The names in the settlement consumer group."""
    async def read() -> list[str]:
        async with redisdb.connect(redis_url) as r:
            got = await r.xinfo_consumers(usage_stream(prefix), "settle")
            return sorted(str(c[b"name"].decode()) for c in got)  # type: ignore[index, union-attr]
    return asyncio.run(read())


def until(predicate: object, limit_s: float = 10.0) -> None:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < limit_s, "condition never held"
        time.sleep(0.02)


@contextmanager
def billing_stack(logs: Path, database_url: str, redis_url: str, prefix: str, *,
                  proxy_env: dict[str, str] | None = None, proxies: int = 1,
                  respawn: bool = False, workers: int = 1,
                  control_extra: dict[str, str] | None = None) -> Iterator[BillingStack]:
    """`proxies` proxy processes (replicas) share the Redis, the control plane and the fake seller;
    `respawn`: Granian restarts a proxy worker that died (as `dragonfly proxy` runs it)."""
    admin = "admin-" + secrets.token_hex(12)
    common = {"DF_SECRET_KEY": secrets.token_urlsafe(32), "DF_REDIS_URL": redis_url, "DF_REDIS_PREFIX": prefix}
    control_env = {**common, "DF_DATABASE_URL": database_url, "DF_ADMIN_TOKEN": admin,
                   "DF_ALLOW_PRIVATE_UPSTREAMS": "1", "DF_TRC20_ADDRESSES": "dev", "DF_PROBE_TICK_S": "0.2",
                   **(control_extra or {})}
    # the proxy holds what production gives it: no master secret (wire.secret_keys)
    keys = secret_keys.proxy_env(common)
    penv = {**common, **keys, "DF_SNAPSHOT_POLL_S": "0.2", **(proxy_env or {})}
    penv.pop("DF_SECRET_KEY")
    with ExitStack() as started:
        control = started.enter_context(granian("control_plane.asgi:app", log_dir=logs, env=control_env))
        fake = started.enter_context(granian("fake_provider.asgi:app", log_dir=logs,
                                             env={"DF_FAKE_API_KEY": "sk-upstream-bill"}))
        servers = [started.enter_context(granian(
            "proxy.asgi:app", log_dir=logs, ready_path="/healthz", respawn=respawn, workers=workers,
            env={"DF_USAGE_SPOOL_DIR": str(logs / f"spool{i or ''}"), **penv,
                 "DF_CONTROL_PLANE_URL": control.url})) for i in range(proxies)]
        stack = BillingStack(proxy=servers[0], control=control, fake=fake, admin=admin, database_url=database_url,
                             redis_url=redis_url, prefix=prefix, proxies=servers)
        try:
            yield stack
        finally:
            stack.http.close()
