"""Seed the demo market through the control plane's own API (what `make up` does).

Idempotent: re-running finds the demo accounts, pool key and listings it made before,
and keeps a demo buyer key that still works. A demo pool key that no longer decrypts
(`status: "undecryptable"`: the secret changed, the database stayed) gets its upstream key
re-entered, so its listings are routed again.
"""

from __future__ import annotations

from typing import Any

import httpx

from dragonfly.catalog import CHAT_MODELS
from wire.money import micros_to_usd

# The catalog's embeddings, speech and transcription models (seeded by a control-plane migration),
# with their catalog prices in micro-USD per unit of `price_unit` (token, character, audio second)
MEDIA_MODELS = (
    ("openai/text-embedding-3-small", 20_000, 0),
    ("openai/tts-1", 15_000_000, 0),
    ("openai/whisper-1", 100_000_000, 0),
)
SELLER_EMAIL = "demo-seller@dragonfly.local"
BUYER_EMAIL = "demo-buyer@dragonfly.local"
LOADTEST_EMAIL = "loadtest-buyer@dragonfly.local"  # enterprise plan (no rate limits), $100,000 of demo credit
LOADTEST_CREDIT_CENTS = 10_000_000
DEMO_PASSWORD = "demo-password-not-secret-1"  # local demo accounts only; printed nowhere else


class SeedError(RuntimeError):
    pass


def _check(resp: httpx.Response, what: str) -> Any:
    if resp.status_code >= 400:
        raise SeedError(f"{what}: HTTP {resp.status_code}: {resp.text[:500]}")
    return resp.json() if resp.content else None


def _account(http: httpx.Client, admin: str, email: str, credit_cents: int, plan: str = "pro") -> str:
    """Create (or find) a verified account; return a JWT for it."""
    resp = http.post("/api/admin/accounts", headers={"Authorization": f"Bearer {admin}"},
                     json={"email": email, "password": DEMO_PASSWORD, "verified": True, "plan": plan,
                           "credit_cents": credit_cents, "trading_terms_accepted": True})
    if resp.status_code != 409:
        _check(resp, f"create {email}")
    login = _check(http.post("/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}), "login")
    return str(login["token"])


def _items(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        return list(payload.get("data") or payload.get("items") or [])
    return list(payload or [])


def seed_demo(control_url: str, admin_token: str, fake_base_url: str, fake_key: str,
              previous_key: str | None, key_works: Any) -> str:
    """Seed seller, listings and buyer; return a working demo buyer key."""
    with httpx.Client(base_url=control_url, timeout=30) as http:
        seller = {"Authorization": f"Bearer {_account(http, admin_token, SELLER_EMAIL, 0)}"}
        pool_keys = _items(_check(http.get("/v1/pool/keys", headers=seller), "list pool keys"))
        pool = next((p for p in pool_keys if p.get("name") == "demo-fake-provider"), None)
        if pool is None:
            pool = _check(http.post("/v1/pool/keys", headers=seller, json={
                "provider": "fake", "base_url": fake_base_url, "api_key": fake_key,
                "api_format": "openai", "name": "demo-fake-provider"}), "create pool key")
        elif pool.get("status") == "undecryptable":
            print("the demo pool key does not decrypt with the current secret; re-entering it", flush=True)
            pool = _check(http.patch(f"/v1/pool/keys/{pool['id']}", headers=seller, json={"api_key": fake_key}),
                          "repair the demo pool key")
        operator = {"Authorization": f"Bearer {admin_token}"}
        for model in CHAT_MODELS:  # the demo upstream is the fake provider, not these models: their
            # tokenizer fingerprints (README "Admission") would rightly refuse it, so the demo turns them off
            _check(http.patch(f"/api/admin/models/{model.id}", headers=operator, json={"probe_expect": {}}),
                   f"turn off the fingerprint of {model.id} for the demo")
        listings = _items(_check(http.get("/v1/market/listings", headers=seller), "list listings"))
        listed = {item["model"] for item in listings}
        for item in listings:  # a demo listing an earlier run left unadmitted: probe it again now
            if item.get("status") == "pending_admission":
                http.post(f"/v1/market/listings/{item['id']}/probe", headers=seller)
        offers = [(m.id, m.input_price, m.output_price) for m in CHAT_MODELS] + list(MEDIA_MODELS)
        for model_id, input_price, output_price in offers:
            if model_id in listed:
                continue
            _check(http.post("/v1/market/listings", headers=seller, json={
                "pool_key_id": pool["id"], "model": model_id, "upstream_model": model_id.split("/", 1)[1],
                "ask_input": micros_to_usd(input_price * 8 // 10),
                "ask_output": micros_to_usd(output_price * 8 // 10)}), f"list {model_id}")
        buyer = {"Authorization": f"Bearer {_account(http, admin_token, BUYER_EMAIL, 1000)}"}
        if previous_key and key_works(previous_key):
            return previous_key
        created = _check(http.post("/api/keys", headers=buyer, json={"name": "demo"}), "create buyer key")
        return str(created["key"])


def seed_loadtest(control_url: str, admin_token: str, previous_key: str | None, key_works: Any) -> str:
    """A buyer key for load tests: its account is on the enterprise plan (no per-minute limits, so a
    load test measures the gateway, not the Pro plan's 300 requests a minute) with ample demo credit.
    Run after `seed_demo` (it buys from the demo seller's listings)."""
    if previous_key and key_works(previous_key):
        return previous_key
    with httpx.Client(base_url=control_url, timeout=30) as http:
        token = _account(http, admin_token, LOADTEST_EMAIL, LOADTEST_CREDIT_CENTS, "enterprise")
        buyer = {"Authorization": f"Bearer {token}"}
        created = _check(http.post("/api/keys", headers=buyer, json={"name": "loadtest"}), "create load-test key")
        return str(created["key"])
