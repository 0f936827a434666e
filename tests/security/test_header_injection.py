"""Seller-supplied strings cannot inject response headers: control characters are refused where
they enter and escaped where they leave (a bad row from before the check is served, not a 500)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.security.conftest import UPSTREAM_KEY, Stack, chat, error_of, until

BAD = ["gpt\r\nx-injected: yes", "mo\ndel", "tab\tin", "nul\x00", "del\x7f", "line\u2028sep"]


@pytest.mark.parametrize("value", BAD)
def test_control_characters_are_refused_at_registration(stack: Stack, value: str) -> None:
    auth = {"Authorization": stack.account()["Authorization"]}
    with stack.client() as http:
        pool = http.post("/v1/pool/keys", headers=auth, json={
            "provider": "fake", "base_url": stack.fake.url + "/v1", "api_key": UPSTREAM_KEY, "api_format": "openai",
            "name": "ok"})
        assert pool.status_code == 201, pool.text
        listing = {"pool_key_id": pool.json()["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.10",
                   "ask_output": "0.20"}
        error_of(http.post("/v1/market/listings", headers=auth, json={**listing, "upstream_model": value}), 400,
                 "upstream_model", "control character")
        made = http.post("/v1/market/listings", headers=auth, json=listing)
        assert made.status_code == 201, made.text
        error_of(http.patch(f"/v1/market/listings/{made.json()['id']}", headers=auth,
                            json={"upstream_model": value}), 400, "upstream_model")
        error_of(http.post("/v1/pool/keys", headers=auth, json={
            "provider": "fake", "base_url": stack.fake.url + "/v1", "api_key": UPSTREAM_KEY, "api_format": "openai",
            "name": value}), 400, "name")
        error_of(http.post("/api/keys", headers=auth, json={"name": value}), 400, "name")


async def test_a_bad_value_already_in_the_database_is_escaped_not_a_500(stack: Stack,
                                                                         db: asyncpg.Connection) -> None:
    model = "moonshot/kimi-k2"
    listing_id = stack.listing(stack.account(), model=model)
    await db.execute("UPDATE listings SET upstream_model = $2 WHERE id = $1", listing_id,
                     "kimi\r\nx-injected: yes\x7f")
    buyer = stack.account()
    key = stack.key(buyer)
    with stack.client() as http:
        until(lambda: chat(http, key, model).status_code != 401)  # the key reached the proxy
        # once the changed row reaches the proxy's snapshot the answer changes (main: a 500 after billing)
        until(lambda: (c := chat(http, key, model)).status_code != 200 or c.headers["x-df-upstream-model"] != "kimi-k2")
        r = chat(http, key, model)
        assert r.status_code == 200, r.text
        assert r.headers["x-df-upstream-model"] == "kimi%0D%0Ax-injected: yes%7F"
        assert "x-injected" not in r.headers
        assert r.json()["choices"][0]["message"]["content"]
