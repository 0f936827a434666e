"""A cached prompt token never costs more than an uncached one: refused by the API (400 naming
the field), impossible in the database (constraint), and repaired by the migration that
introduced the rule (listings violating it are repriced to ask_input)."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from control_plane.migrate import migrate
from tests.integration.control_plane.conftest import Account, assert_error
from tests.integration.control_plane.test_seller_api import listing, pool_key
from tests.support import pg


async def test_create_refuses_a_cached_ask_above_the_input_ask(http: httpx.AsyncClient, buyer: Account) -> None:
    key = await pool_key(http, buyer)
    r = await http.post("/v1/market/listings", headers=buyer.auth, json={
        "pool_key_id": key["id"], "model": "deepseek/deepseek-chat", "ask_input": "0.30", "ask_output": "0.90",
        "ask_cached_input": "10000.00"})
    assert_error(r, 400, "ask_cached_input", "ask_input")
    assert (await http.get("/v1/market/listings", headers=buyer.auth)).json()["data"] == []  # nothing created


async def test_update_refuses_either_side_crossing(http: httpx.AsyncClient, buyer: Account) -> None:
    key = await pool_key(http, buyer)
    made = await listing(http, buyer, key["id"], ask_input="0.30", ask_cached_input="0.10")
    path = f"/v1/market/listings/{made['id']}"
    assert_error(await http.patch(path, headers=buyer.auth, json={"ask_cached_input": "0.31"}), 400,
                 "ask_cached_input")
    assert_error(await http.patch(path, headers=buyer.auth, json={"ask_input": "0.05"}), 400, "ask_cached_input")
    kept = (await http.get(path, headers=buyer.auth)).json()
    assert (kept["ask_input"], kept["ask_cached_input"]) == ("0.30", "0.10")  # nothing changed
    ok = await http.patch(path, headers=buyer.auth, json={"ask_input": "0.05", "ask_cached_input": "0.05"})
    assert ok.status_code == 200, ok.text


async def _seller_with_listing(conn: asyncpg.Connection, ask_input: int, cached: int) -> str:
    account, key, lid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await conn.execute("INSERT INTO accounts (id, email, password_hash) VALUES ($1, $2, '$argon2id$x')", account,
                       f"{account.hex[:12]}@example.com")
    await conn.execute("INSERT INTO pool_keys (id, account_id, provider, base_url, api_format, key_ciphertext,"
                       " key_hint) VALUES ($1, $2, 'deepseek', 'https://api.deepseek.com/v1', 'openai', $3, 'sk-…')",
                       key, account, b"x" * 40)
    await conn.execute("INSERT INTO listings (id, account_id, pool_key_id, model, upstream_model, ask_input,"
                       " ask_output, ask_cached_input) VALUES ($1, $2, $3, 'deepseek/deepseek-chat', 'deepseek-chat',"
                       " $4, 0, $5)", lid, account, key, ask_input, cached)
    return str(lid)


async def test_the_database_refuses_it_and_the_migration_repairs_old_rows(pg_server_url: str) -> None:
    url = await pg.create_test_database(pg_server_url)
    try:
        conn = await asyncpg.connect(url)
        try:
            with pytest.raises(asyncpg.CheckViolationError):
                await _seller_with_listing(conn, 300_000, 300_001)
            # the database as it was before migration 0009, holding a listing that breaks the rule
            await conn.execute("ALTER TABLE listings DROP CONSTRAINT listings_cached_ask_not_above_input;"
                               " ALTER TABLE generations DROP COLUMN capped_micro_usd;"
                               " DELETE FROM schema_migrations WHERE version = 9")
            bad = await _seller_with_listing(conn, 300_000, 10_000_000_000)
            fine = await _seller_with_listing(conn, 300_000, 100_000)
            assert await migrate(url) == ["0009_charge_caps.sql"]
            rows = dict(await conn.fetch("SELECT id::text, ask_cached_input FROM listings"))
            assert rows == {bad: 300_000, fine: 100_000}
        finally:
            await conn.close()
    finally:
        await pg.drop_database(url)
