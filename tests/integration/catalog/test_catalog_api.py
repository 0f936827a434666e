"""The catalog by API: an operator adds a provider and a model, a seller lists it and a buyer
buys it (by an alias too) as soon as the snapshot carries it; aliases are unique; a request
without a cap is reserved and sent upstream with the model's `max_output_tokens`."""

from __future__ import annotations

import secrets

import httpx

from tests.support.billing_stack import BillingStack, until

USD = 1_000_000


def _chat(stack: BillingStack, key: str, model: str, **extra: object) -> httpx.Response:
    return stack.http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json={
        "model": model, "messages": [{"role": "user", "content": "x" * 40}], "fake": {"chunks": 20}, **extra})


def _upstream_bodies(stack: BillingStack, n: int) -> list[dict[str, object]]:
    got = httpx.get(stack.fake.url + "/_requests", params={"last": n}).json()["requests"]
    return [r["body"] for r in got if isinstance(r["body"], dict)]


def test_operator_adds_provider_and_model_and_a_buyer_buys_it_by_alias(stack: BillingStack,
                                                                       admin: httpx.Client) -> None:
    slug = "acme" + secrets.token_hex(3)
    r = admin.post("/api/admin/providers", json={"slug": slug, "name": "Acme AI", "api_format": "openai",
                                                 "default_base_url": "https://api.acme.example/v1",
                                                 "official_hosts": ["API.acme.example"]})
    assert r.status_code == 201, r.text
    assert r.json()["official_hosts"] == ["api.acme.example"]
    assert any(p["slug"] == slug for p in admin.get("/api/admin/providers").json()["data"])
    model, alias = f"{slug}/acme-large", f"acme-large-{slug}"
    # $120 per million output tokens, 128k context; at most 8 output tokens per choice by default
    r = admin.post("/api/admin/models", json={
        "id": model, "owned_by": slug, "input_price": "1.00", "output_price": "120.00",
        "context_length": 128_000, "max_output_tokens": 8, "capabilities": ["chat"], "aliases": [alias]})
    assert r.status_code == 201, r.text
    assert r.json()["aliases"] == [alias] and r.json()["max_output_tokens"] == 8
    seller = stack.account(0)
    listing = stack.listing(seller, model, "1.00", "120.00")
    buyer = stack.account(1_000)  # $10: the 128k context at $120/M would need $15.36 reserved
    key = stack.key(buyer)
    until(lambda: _chat(stack, key, alias).status_code != 503, 15)
    r = _chat(stack, key, alias)  # no max_tokens
    assert r.status_code == 200, r.text
    assert r.headers["x-df-market-listing-id"] == listing
    assert r.json()["choices"][0]["finish_reason"] == "length"
    assert r.json()["usage"]["completion_tokens"] == 8  # the upstream was told the cap
    assert _upstream_bodies(stack, 1)[-1]["max_tokens"] == 8
    gen = stack.settled(key, r.headers["x-request-id"])
    assert gen["model"] == model and gen["completion_tokens"] == 8
    models = stack.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    entry = next(m for m in models if m["id"] == model)
    assert entry["aliases"] == [alias] and entry["max_output_tokens"] == 8


def test_seeded_aliases_route_to_their_models(stack: BillingStack) -> None:
    seller = stack.account(0)
    stack.listing(seller, "deepseek/deepseek-chat", "0.30", "0.90")
    buyer = stack.account(1_000)
    key = stack.key(buyer)
    until(lambda: _chat(stack, key, "deepseek-chat", max_tokens=5).status_code != 503, 15)
    r = _chat(stack, key, "deepseek-chat", max_tokens=5)
    assert r.status_code == 200, r.text
    assert stack.settled(key, r.headers["x-request-id"])["model"] == "deepseek/deepseek-chat"
    models = {m["id"]: m for m in stack.http.get("/v1/models").json()["data"]}
    assert "deepseek-chat" in models["deepseek/deepseek-chat"]["aliases"]
    assert models["openai/whisper-1"]["aliases"] == ["whisper-1"]
    assert models["openai/tts-1"]["aliases"] == ["tts-1"]
    assert models["openai/text-embedding-3-small"]["aliases"] == ["text-embedding-3-small"]
    # without a max-token field the seeded model's max_output_tokens (8,192) goes upstream, not 128k
    r = _chat(stack, key, "deepseek/deepseek-chat")
    assert r.status_code == 200, r.text
    assert _upstream_bodies(stack, 1)[-1]["max_tokens"] == 8192


def test_aliases_are_unique_across_the_catalog(admin: httpx.Client) -> None:
    base = {"owned_by": "fake", "input_price": "1.00", "output_price": "2.00", "context_length": 1000}
    name = "fake/alias-" + secrets.token_hex(3)
    r = admin.post("/api/admin/models", json={**base, "id": name, "aliases": ["deepseek-chat"]})
    assert r.status_code == 400 and "deepseek/deepseek-chat" in r.json()["error"]["message"], r.text
    r = admin.post("/api/admin/models", json={**base, "id": name, "aliases": ["qwen/qwen3-30b-a3b"]})
    assert r.status_code == 400 and "model id" in r.json()["error"]["message"], r.text
    assert admin.get(f"/api/admin/models/{name}").status_code == 404  # nothing was created
    r = admin.post("/api/admin/models", json={**base, "id": name, "aliases": [name.split("/")[1]]})
    assert r.status_code == 201, r.text
    r = admin.post("/api/admin/models", json={**base, "id": name})
    assert r.status_code == 409, r.text
    r = admin.patch(f"/api/admin/models/{name}", json={"max_output_tokens": 5000})
    assert r.status_code == 400 and "context length" in r.json()["error"]["message"], r.text
    r = admin.patch(f"/api/admin/models/{name}", json={"aliases": ["tts-1"]})
    assert r.status_code == 400, r.text
    assert admin.get(f"/api/admin/models/{name}").json()["aliases"] == [name.split("/")[1]]


def test_a_deactivated_model_leaves_the_proxy(stack: BillingStack, admin: httpx.Client) -> None:
    name = "fake/retiring-" + secrets.token_hex(3)
    r = admin.post("/api/admin/models", json={"id": name, "owned_by": "fake", "input_price": "1.00",
                                              "output_price": "2.00", "context_length": 1000})
    assert r.status_code == 201, r.text
    seller = stack.account(0)
    stack.listing(seller, name, "1.00", "2.00")
    key = stack.key(stack.account(100))
    until(lambda: _chat(stack, key, name, max_tokens=3).status_code == 200, 15)
    assert admin.patch(f"/api/admin/models/{name}", json={"active": False}).json()["active"] is False
    until(lambda: _chat(stack, key, name, max_tokens=3).status_code == 404, 15)
    assert name not in {m["id"] for m in stack.http.get("/v1/models").json()["data"]}
    assert admin.patch(f"/api/admin/models/{name}", json={"active": True}).status_code == 200
    until(lambda: _chat(stack, key, name, max_tokens=3).status_code == 200, 15)


def test_catalog_api_needs_the_admin_token(stack: BillingStack) -> None:
    r = httpx.post(stack.control.url + "/api/admin/models", json={})
    assert r.status_code == 401, r.text
    r = httpx.get(stack.control.url + "/api/admin/providers", headers={"Authorization": "Bearer nope"})
    assert r.status_code in (401, 403), r.text
