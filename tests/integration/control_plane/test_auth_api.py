"""Signup, verification (console mail via the outbox), login, trading terms."""

from __future__ import annotations

import re
import secrets

import asyncpg
import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, assert_error


async def _verification_token(db: asyncpg.Connection, email: str) -> str:
    body = await db.fetchval("SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1", email)
    match = re.search(r'"token": "([A-Za-z0-9_-]+)"', body)
    assert match, body
    return match.group(1)


async def test_signup_verify_login_grants_signup_credit_once(
    http: httpx.AsyncClient, db: asyncpg.Connection, control_plane: ControlPlane
) -> None:
    email = f"Signup-{secrets.token_hex(4)}@Example.com"
    signed = await http.post("/api/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert signed.status_code == 201, signed.text
    assert signed.json()["email_verified"] is False
    login = await http.post("/api/auth/login", json={"email": email.lower(), "password": "correct horse battery"})
    assert login.status_code == 200
    auth = {"Authorization": f"Bearer {login.json()['token']}"}

    locked = await http.post("/api/keys", headers=auth, json={"name": "too early"})
    assert_error(locked, 403, "verified")

    token = await _verification_token(db, email)
    verified = await http.post("/api/auth/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    assert verified.json()["balance_micro_usd"] == 100_000 and verified.json()["balance_usd"] == "0.10"
    again = await http.post("/api/auth/verify", json={"token": token})
    assert again.status_code == 200 and again.json()["balance_micro_usd"] == 100_000
    kinds = await db.fetch("SELECT kind, amount_micro_usd FROM ledger_entries WHERE account_id = $1",
                           signed.json()["id"])
    assert [(r["kind"], r["amount_micro_usd"]) for r in kinds] == [("signup_credit", 100_000)]

    created = await http.post("/api/keys", headers=auth, json={"name": "now ok"})
    assert created.status_code == 201, created.text


async def test_console_mail_is_delivered_and_stamped(
    http: httpx.AsyncClient, db: asyncpg.Connection, control_plane: ControlPlane
) -> None:
    email = f"mail-{secrets.token_hex(4)}@example.com"
    assert (await http.post("/api/auth/signup", json={"email": email, "password": "long enough pw"})).status_code == 201
    for _ in range(100):
        if await db.fetchval("SELECT sent_at IS NOT NULL FROM mail_outbox WHERE to_address = $1", email):
            break
        await __import__("asyncio").sleep(0.05)
    assert f"mail to {email}" in control_plane.logs()


async def test_signup_refuses_bad_input(http: httpx.AsyncClient, buyer: Account) -> None:
    assert_error(await http.post("/api/auth/signup", json={"email": "nope", "password": "long enough"}), 400, "email")
    assert_error(await http.post("/api/auth/signup", json={"email": "a@b.co", "password": "short"}), 400, "password")
    assert_error(await http.post("/api/auth/signup", json={"email": "a@b.co", "password": "long enough", "plan": "pro"}),
                 400, "plan", "unknown field")
    assert_error(await http.post("/api/auth/signup", json={"password": "long enough"}), 400, "email", "missing")
    assert_error(await http.post("/api/auth/signup", content=b"{not json", headers={"content-type": "application/json"}),
                 400, "JSON")
    dup = await http.post("/api/auth/signup", json={"email": buyer.email.upper(), "password": "long enough pw"})
    assert_error(dup, 409, "already exists")


async def test_verify_refuses_unknown_token(http: httpx.AsyncClient) -> None:
    assert_error(await http.post("/api/auth/verify", json={"token": "not-a-real-token"}), 400, "token")


async def test_login_refuses_wrong_password_and_garbage_tokens(http: httpx.AsyncClient, buyer: Account) -> None:
    wrong = await http.post("/api/auth/login", json={"email": buyer.email, "password": "wrong password"})
    assert_error(wrong, 401, "wrong email or password")
    nobody = await http.post("/api/auth/login", json={"email": "nobody@example.com", "password": "whatever pw"})
    assert_error(nobody, 401, "wrong email or password")
    assert_error(await http.get("/api/account"), 401, "missing credentials")
    assert_error(await http.get("/api/account", headers={"Authorization": "Bearer a.b.c"}), 401, "log in again")
    assert_error(await http.get("/api/account", headers={"Authorization": "Basic xyz"}), 401, "Bearer")


async def test_trading_terms_acceptance_is_recorded_with_its_time(http: httpx.AsyncClient, buyer: Account) -> None:
    before = (await http.get("/api/account", headers=buyer.auth)).json()
    assert before["trading_terms_accepted"] is False and before["trading_terms_accepted_at"] is None
    first = await http.post("/api/account/trading-terms", headers=buyer.auth)
    assert first.status_code == 200, first.text
    assert first.json()["trading_terms_accepted"] is True
    second = await http.post("/api/account/trading-terms", headers=buyer.auth)
    assert second.json()["trading_terms_accepted_at"] == first.json()["trading_terms_accepted_at"]
