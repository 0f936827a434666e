"""Per-account quotas on every object kind (the security stack sets each limit to 2 or 3), and
unverified accounts cannot create routing profiles or payment intents."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.security.conftest import UPSTREAM_KEY, Stack, error_of


def _fill(make: Callable[[], httpx.Response], limit: int, setting: str, existing: int = 0) -> None:
    for _ in range(limit - existing):
        made = make()
        assert made.status_code == 201, made.text
    message = error_of(make(), 403, "quota", setting, str(limit))
    assert "raise" in message


def test_every_object_kind_has_a_per_account_quota(stack: Stack) -> None:
    account = stack.account()
    auth = {"Authorization": account["Authorization"]}
    with stack.client() as http:
        _fill(lambda: http.post("/api/keys", headers=auth, json={"name": "q"}), 3, "DF_MAX_KEYS")
        _fill(lambda: http.post("/api/management-keys", headers=auth, json={"name": "q", "mgmt_scope": "buyer"}),
              2, "DF_MAX_MANAGEMENT_KEYS")
        _fill(lambda: http.post("/api/routing/profiles", headers=auth, json={"name": "q"}), 2,
              "DF_MAX_ROUTING_PROFILES", existing=1)  # every account starts with its default profile
        pools: list[str] = []

        def pool() -> httpx.Response:
            r = http.post("/v1/pool/keys", headers=auth, json={
                "provider": "fake", "base_url": stack.fake.url + "/v1", "api_key": UPSTREAM_KEY,
                "api_format": "openai", "name": "q"})
            if r.status_code == 201:
                pools.append(r.json()["id"])
            return r

        _fill(pool, 2, "DF_MAX_POOL_KEYS")
        models = iter(["deepseek/deepseek-chat", "qwen/qwen3-30b-a3b", "openai/gpt-4o-mini"])
        _fill(lambda: http.post("/v1/market/listings", headers=auth, json={
            "pool_key_id": pools[0], "model": next(models), "ask_input": "0.10", "ask_output": "0.20"}),
            2, "DF_MAX_LISTINGS")
        _fill(lambda: http.post("/v1/billing/crypto/create-payment", headers=auth, json={"amount_cents": 500}),
              2, "DF_MAX_OPEN_PAYMENTS")
        # a freed place can be used again: revoke a key, create one
        key_id = http.get("/api/keys", headers=auth).json()["data"][0]["id"]
        assert http.delete(f"/api/keys/{key_id}", headers=auth).status_code == 200
        assert http.post("/api/keys", headers=auth, json={"name": "again"}).status_code == 201


def test_unverified_accounts_cannot_create_routing_profiles_or_payment_intents(stack: Stack) -> None:
    auth = {"Authorization": stack.account(verified=False)["Authorization"]}
    with stack.client() as http:
        error_of(http.post("/api/routing/profiles", headers=auth, json={"name": "u"}), 403, "verified")
        error_of(http.post("/v1/billing/crypto/create-payment", headers=auth, json={"amount_cents": 500}), 403,
                 "verified")
        assert [p["name"] for p in http.get("/api/routing/profiles", headers=auth).json()["data"]] == ["default"]
