"""No secret (raw buyer key, seller upstream key, password) in logs, later responses or the DB in the clear."""

from __future__ import annotations

import asyncio
import base64
import secrets
import urllib.parse

import asyncpg
import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import admin_auth


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            urllib.parse.quote(secret, safe=""), raw.hex()]


async def test_secrets_never_leak(http: httpx.AsyncClient, control_plane: ControlPlane,
                                  db: asyncpg.Connection) -> None:
    password = "canary-pw-" + secrets.token_hex(8)
    upstream = "sk-canary-" + secrets.token_hex(12)
    email = f"canary-{secrets.token_hex(4)}@example.com"
    later: list[httpx.Response] = []

    created = await http.post("/api/admin/accounts", headers=admin_auth(control_plane),
                              json={"email": email, "password": password, "verified": True})
    assert created.status_code == 201
    login = await http.post("/api/auth/login", json={"email": email, "password": password})
    auth = {"Authorization": f"Bearer {login.json()['token']}"}
    key = (await http.post("/api/keys", headers=auth, json={"name": "canary"})).json()
    buyer_key = key["key"]
    mgmt = (await http.post("/api/management-keys", headers=auth, json={"name": "c", "mgmt_scope": "full"})).json()
    pool = (await http.post("/v1/pool/keys", headers=auth, json={
        "provider": "openai", "base_url": "https://api.openai.com/v1", "api_key": upstream})).json()
    assert upstream not in str(pool)
    await http.post("/v1/market/listings", headers=auth, json={
        "pool_key_id": pool["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.4", "ask_output": "1"})
    # error paths that might echo what they were given
    later.append(await http.post("/api/auth/login", json={"email": email, "password": password + "x"}))
    later.append(await http.get("/api/keys", headers={"Authorization": f"Bearer {buyer_key}"}))
    later.append(await http.get("/api/keys", headers={"Authorization": f"Bearer {buyer_key[:-2]}"}))
    later.append(await http.post("/v1/pool/keys", headers=auth, json={
        "provider": "openai", "base_url": "https://127.0.0.1/v1", "api_key": upstream}))
    later.append(await http.post("/v1/pool/keys", headers=auth, json={
        "provider": "nope", "base_url": "https://api.openai.com/v1", "api_key": upstream}))
    later.append(await http.post("/api/auth/signup", json={"email": email, "password": password}))
    later.append(await http.post("/api/auth/signup", json={"email": "x", "password": password}))
    for path in ["/api/keys", f"/api/keys/{key['id']}", "/api/management-keys", "/v1/pool/keys",
                 "/v1/market/listings", "/api/account", "/api/openapi.json"]:
        later.append(await http.get(path, headers=auth))
    await asyncio.sleep(0.5)  # let the publisher and mail sender log what they log

    canaries = {"password": password, "buyer key": buyer_key, "management key": mgmt["key"], "upstream key": upstream}
    logs = control_plane.logs()
    assert "POST /v1/pool/keys" in logs  # the log does record requests
    texts = {f"response {r.request.method} {r.request.url.path}": r.text + str(r.headers) for r in later}
    texts["control plane log"] = logs
    rows = await db.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    )
    for row in rows:
        table, column = row["table_name"], row["column_name"]
        if (table, column) == ("pool_keys", "key_ciphertext"):
            continue
        values = await db.fetch(f'SELECT "{column}"::text AS v FROM "{table}"')
        texts[f"db {table}.{column}"] = "\n".join(str(v["v"]) for v in values)
    ciphertext = await db.fetchval("SELECT key_ciphertext FROM pool_keys WHERE id = $1", pool["id"])
    texts["db pool_keys.key_ciphertext (raw bytes)"] = ciphertext.decode("latin-1")
    leaks = [(what, where) for what, secret in canaries.items() for form in forms(secret)
             for where, text in texts.items() if form in text]
    assert not leaks, leaks
