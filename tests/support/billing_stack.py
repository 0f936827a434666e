"""A whole billing stack for tests: control plane + fake seller + proxy (billing on) on one Redis,
plus helpers to make accounts, listings and keys through the API and to wait for settlement."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.procs import ROOT, Server, granian
from wire import secret_keys


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
        email, password = f"bill-{secrets.token_hex(5)}@example.com", "pw-" + secrets.token_hex(8)
        r = self.http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {self.admin}"}, json={
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

    def ledger_check(self) -> str:
        env = {"DF_DATABASE_URL": self.database_url, "PATH": str(Path(sys.executable).parent)}
        done = subprocess.run([str(Path(sys.executable).parent / "dragonfly"), "ledger", "check"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


def until(predicate: object, limit_s: float = 10.0) -> None:
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < limit_s, "condition never held"
        time.sleep(0.02)


@contextmanager
def billing_stack(logs: Path, database_url: str, redis_url: str, prefix: str, *,
                  proxy_env: dict[str, str] | None = None, proxies: int = 1,
                  control_extra: dict[str, str] | None = None) -> Iterator[BillingStack]:
    """`proxies` proxy processes (replicas) share the Redis, the control plane and the fake seller."""
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
            "proxy.asgi:app", log_dir=logs, ready_path="/healthz",
            env={"DF_USAGE_SPOOL_DIR": str(logs / f"spool{i or ''}"), **penv,
                 "DF_CONTROL_PLANE_URL": control.url})) for i in range(proxies)]
        stack = BillingStack(proxy=servers[0], control=control, fake=fake, admin=admin, database_url=database_url,
                             redis_url=redis_url, prefix=prefix, proxies=servers)
        try:
            yield stack
        finally:
            stack.http.close()
