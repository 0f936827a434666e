"""Sellers: providers, pool keys (encrypted, never returned, SSRF-checked) and listings."""

from __future__ import annotations

import httpx

from tests.integration.control_plane.conftest import Account, assert_error

UPSTREAM = "sk-deepseek-test-0123456789abcdef"


async def pool_key(http: httpx.AsyncClient, acct: Account, secret: str = UPSTREAM, **extra: str) -> dict[str, object]:
    body = {"provider": "deepseek", "base_url": "https://api.deepseek.com/v1/", "api_key": secret, "name": "main",
            **extra}
    made = await http.post("/v1/pool/keys", headers=acct.auth, json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def listing(http: httpx.AsyncClient, acct: Account, pool_key_id: object, **extra: object) -> dict[str, object]:
    body = {"pool_key_id": pool_key_id, "model": "deepseek/deepseek-chat", "ask_input": "0.40", "ask_output": "1.20",
            **extra}
    made = await http.post("/v1/market/listings", headers=acct.auth, json=body)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_provider_catalog(http: httpx.AsyncClient, buyer: Account) -> None:
    data = (await http.get("/v1/pool/providers", headers=buyer.auth)).json()["data"]
    slugs = {p["slug"]: p for p in data}
    assert {"deepseek", "qwen", "moonshot", "zhipu", "doubao", "minimax", "openai", "anthropic", "fake"} <= set(slugs)
    assert slugs["anthropic"]["api_format"] == "anthropic" and slugs["deepseek"]["trusted"] is True
    assert slugs["fake"]["trusted"] is False


async def test_pool_key_is_never_returned(http: httpx.AsyncClient, buyer: Account) -> None:
    made = await pool_key(http, buyer)
    assert made["base_url"] == "https://api.deepseek.com/v1" and made["api_format"] == "openai"
    assert UPSTREAM not in str(made) and made["key_hint"] == "sk-…cdef"
    listed = (await http.get("/v1/pool/keys", headers=buyer.auth)).json()["data"]
    assert [k["id"] for k in listed] == [made["id"]] and UPSTREAM not in str(listed)
    assert "api_key" not in listed[0]


async def test_pool_key_refuses_private_and_bad_upstreams(http: httpx.AsyncClient, buyer: Account) -> None:
    for url in ["http://127.0.0.1:6379", "https://[::1]/v1", "https://169.254.169.254/latest", "https://0x7f000001/",
                "https://127.1/v1", "https://[::ffff:127.0.0.1]/", "https://10.1.2.3/v1", "https://localhost/v1",
                "https://metadata.internal/", "https://192.168.1.1/v1"]:
        body = {"provider": "deepseek", "base_url": url, "api_key": UPSTREAM}
        assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json=body), 400, "base_url")
    for url in ["ftp://api.deepseek.com", "not a url", "https://user:pw@api.deepseek.com/v1",
                "http://api.deepseek.com/v1", "https://api.deepseek.com/v1?x=1"]:
        body = {"provider": "deepseek", "base_url": url, "api_key": UPSTREAM}
        assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json=body), 400, "base_url")
    base = {"provider": "deepseek", "base_url": "https://api.deepseek.com/v1", "api_key": UPSTREAM}
    assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json={**base, "provider": "nope"}), 400, "provider")
    assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json={**base, "api_key": "short"}), 400, "api_key")
    assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json={**base, "api_format": "grpc"}),
                 400, "api_format")
    assert_error(await http.post("/v1/pool/keys", headers=buyer.auth, json={**base, "api_base": "x"}), 400, "api_base")


async def test_listing_crud_with_decimal_asks(http: httpx.AsyncClient, buyer: Account) -> None:
    key = await pool_key(http, buyer)
    made = await listing(http, buyer, key["id"], ask_cached_input="0.1", payout_floor="0.05", price_multiplier="1.25",
                         rpm_limit=60, concurrency_limit=4, auto_follow=True)
    assert (made["ask_input"], made["ask_output"], made["ask_cached_input"]) == ("0.40", "1.20", "0.10")
    assert (made["payout_floor"], made["price_multiplier"], made["upstream_model"]) == ("0.05", "1.25", "deepseek-chat")
    assert made["provider"] == "deepseek" and made["status"] == "active"
    path = f"/v1/market/listings/{made['id']}"
    patched = await http.patch(path, headers=buyer.auth, json={"ask_input": "0.000001", "ask_cached_input": None, "status": "paused",
                                                               "rpm_limit": None, "upstream_model": "deepseek-v3"})
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["ask_input"], p["status"], p["rpm_limit"], p["upstream_model"]) == ("0.000001", "paused", None,
                                                                                  "deepseek-v3")
    assert [x["id"] for x in (await http.get("/v1/market/listings", headers=buyer.auth)).json()["data"]] == [made["id"]]
    assert (await http.get(path, headers=buyer.auth)).json()["status"] == "paused"
    assert_error(await http.delete(f"/v1/pool/keys/{key['id']}", headers=buyer.auth), 409, "listing")
    assert (await http.delete(path, headers=buyer.auth)).status_code == 200
    assert_error(await http.get(path, headers=buyer.auth), 404)
    assert (await http.delete(f"/v1/pool/keys/{key['id']}", headers=buyer.auth)).status_code == 200


async def test_listing_validation_names_the_field(http: httpx.AsyncClient, buyer: Account) -> None:
    key = await pool_key(http, buyer)
    base = {"pool_key_id": key["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.40", "ask_output": "1.20"}
    cases = [
        ({"ask_input": 0.4}, "ask_input"), ({"ask_input": "-0.4"}, "ask_input"), ({"ask_output": "1e2"}, "ask_output"),
        ({"ask_output": "0.0000001"}, "ask_output"), ({"ask_input": "NaN"}, "ask_input"),
        ({"ask_cached_input": "abc"}, "ask_cached_input"), ({"price_multiplier": "0"}, "price_multiplier"),
        ({"model": "nope/x"}, "model"), ({"pool_key_id": "00000000-0000-4000-8000-000000000000"}, "pool_key_id"),
        ({"rpm_limit": 0}, "rpm_limit"), ({"status": "deleted"}, "status"), ({"seller_id": "x"}, "seller_id"),
        ({"upstream_model": ""}, "upstream_model"),
    ]
    for change, word in cases:
        assert_error(await http.post("/v1/market/listings", headers=buyer.auth, json={**base, **change}), 400, word)
    made = await listing(http, buyer, key["id"])
    assert_error(await http.post("/v1/market/listings", headers=buyer.auth, json=base), 409, "already has a listing")
    for change, word in [({"model": "qwen/qwen3-30b-a3b"}, "model"), ({"ask_input": 1}, "ask_input"),
                         ({"health": "ok"}, "health")]:
        assert_error(await http.patch(f"/v1/market/listings/{made['id']}", headers=buyer.auth, json=change), 400, word)


async def test_seller_objects_of_another_account_are_404(http: httpx.AsyncClient, buyer: Account,
                                                          other: Account) -> None:
    key = await pool_key(http, buyer)
    made = await listing(http, buyer, key["id"])
    path = f"/v1/market/listings/{made['id']}"
    assert_error(await http.get(path, headers=other.auth), 404)
    assert_error(await http.patch(path, headers=other.auth, json={"ask_input": "0.01"}), 404)
    assert_error(await http.delete(path, headers=other.auth), 404)
    assert_error(await http.delete(f"/v1/pool/keys/{key['id']}", headers=other.auth), 404)
    assert (await http.get("/v1/market/listings", headers=other.auth)).json()["data"] == []
    assert (await http.get("/v1/pool/keys", headers=other.auth)).json()["data"] == []
    # another seller cannot list on my pool key
    steal = {"pool_key_id": key["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.1", "ask_output": "0.1"}
    assert_error(await http.post("/v1/market/listings", headers=other.auth, json=steal), 400, "pool_key_id")
    assert (await http.get(path, headers=buyer.auth)).json()["ask_input"] == "0.40"


async def test_listing_capabilities_default_to_the_models_kinds(http: httpx.AsyncClient, buyer: Account) -> None:
    key = await pool_key(http, buyer, name="kinds")
    chat = await listing(http, buyer, key["id"], model="deepseek/deepseek-reasoner")
    assert chat["capabilities"] == ["chat", "reasoning"]
    embed = await listing(http, buyer, key["id"], model="openai/text-embedding-3-small")
    assert embed["capabilities"] == ["embeddings"]
    body = {"pool_key_id": key["id"], "model": "openai/tts-1", "ask_input": "10", "ask_output": "0",
            "capabilities": ["chat"]}
    assert_error(await http.post("/v1/market/listings", headers=buyer.auth, json=body), 400, "capabilities")
    body["capabilities"] = ["teleport"]
    assert_error(await http.post("/v1/market/listings", headers=buyer.auth, json=body), 400, "capabilities")
    patched = await http.patch(f"/v1/market/listings/{chat['id']}", headers=buyer.auth,
                               json={"capabilities": ["chat"]})
    assert patched.status_code == 200 and patched.json()["capabilities"] == ["chat"]
