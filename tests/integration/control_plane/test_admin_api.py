"""The operator API behind DF_ADMIN_TOKEN."""

from __future__ import annotations

import secrets

import asyncpg
import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, admin_auth, assert_error, new_account


async def test_admin_creates_account_with_exact_credit_and_no_signup_credit(
    http: httpx.AsyncClient, control_plane: ControlPlane, db: asyncpg.Connection
) -> None:
    acct = await new_account(http, control_plane, credit_cents=250, terms=True, plan="pro")
    me = (await http.get("/api/account", headers=acct.auth)).json()
    assert me["balance_micro_usd"] == 2_500_000 and me["balance_usd"] == "2.50"
    assert me["plan"] == "pro" and me["email_verified"] is True and me["trading_terms_accepted"] is True
    kinds = [r["kind"] for r in await db.fetch("SELECT kind FROM ledger_entries WHERE account_id = $1", acct.id)]
    assert kinds == ["initial_credit"]


async def test_admin_api_needs_the_admin_token(http: httpx.AsyncClient, buyer: Account) -> None:
    body = {"email": "x@example.com", "password": "long enough"}
    assert_error(await http.post("/api/admin/accounts", json=body), 401, "missing credentials")
    assert_error(await http.post("/api/admin/accounts", json=body, headers={"Authorization": "Bearer nope"}),
                 401, "DF_ADMIN_TOKEN")
    assert_error(await http.post("/api/admin/accounts", json=body, headers=buyer.auth), 401, "operator token")


async def test_admin_patch_sets_plan_overrides_and_suspension(
    http: httpx.AsyncClient, control_plane: ControlPlane, buyer: Account
) -> None:
    path = f"/api/admin/accounts/{buyer.id}"
    patched = await http.patch(path, headers=admin_auth(control_plane),
                               json={"plan": "starter", "rpm_limit": 5, "tpm_limit": 1000})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["plan"], patched.json()["rpm_limit"], patched.json()["tpm_limit"]) == ("starter", 5, 1000)
    cleared = await http.patch(path, headers=admin_auth(control_plane), json={"rpm_limit": None})
    assert cleared.json()["rpm_limit"] is None and cleared.json()["tpm_limit"] == 1000
    assert_error(await http.patch(path, headers=admin_auth(control_plane), json={"plan": "gold"}), 400, "plan", "free")
    assert_error(await http.patch(path, headers=admin_auth(control_plane), json={"rpm_limit": 0}), 400, "rpm_limit")
    assert_error(await http.patch(path, headers=admin_auth(control_plane), json={"status": "banned"}), 400, "status")
    assert_error(await http.patch(path, headers=admin_auth(control_plane), json={"email": "x@y.z"}), 400, "email")

    suspended = await http.patch(path, headers=admin_auth(control_plane), json={"status": "suspended"})
    assert suspended.json()["status"] == "suspended"
    assert_error(await http.get("/api/account", headers=buyer.auth), 403, "suspended")
    login = await http.post("/api/auth/login", json={"email": buyer.email, "password": buyer.password})
    assert_error(login, 403, "suspended")
    await http.patch(path, headers=admin_auth(control_plane), json={"status": "active"})
    assert (await http.get("/api/account", headers=buyer.auth)).status_code == 200


async def test_admin_credit_writes_a_ledger_entry(http: httpx.AsyncClient, control_plane: ControlPlane,
                                                  buyer: Account) -> None:
    path = f"/api/admin/accounts/{buyer.id}/credit"
    credited = await http.post(path, headers=admin_auth(control_plane), json={"amount_cents": 150, "reason": "promo"})
    assert credited.status_code == 201, credited.text
    body = credited.json()
    assert body["amount_micro_usd"] == 1_500_000 and body["kind"] == "admin_credit" and body["reason"] == "promo"
    assert body["balance_micro_usd"] == 1_500_000 and body["balance_usd"] == "1.50"
    assert_error(await http.post(path, headers=admin_auth(control_plane), json={"amount_cents": 0, "reason": "x"}),
                 400, "amount_cents")
    assert_error(await http.post(path, headers=admin_auth(control_plane), json={"amount_cents": 1.5, "reason": "x"}),
                 400, "amount_cents")
    assert_error(await http.post(path, headers=admin_auth(control_plane), json={"amount_cents": 5, "reason": ""}),
                 400, "reason")


async def test_admin_unknown_account_is_404(http: httpx.AsyncClient, control_plane: ControlPlane) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(await http.get(f"/api/admin/accounts/{missing}", headers=admin_auth(control_plane)), 404)
    assert_error(await http.patch(f"/api/admin/accounts/{missing}", headers=admin_auth(control_plane),
                                  json={"plan": "pro"}), 404)
    assert_error(await http.post(f"/api/admin/accounts/{missing}/credit", headers=admin_auth(control_plane),
                                 json={"amount_cents": 1, "reason": "x"}), 404)
    assert_error(await http.get("/api/admin/accounts/not-a-uuid", headers=admin_auth(control_plane)), 404)


async def test_admin_duplicate_email_is_409(http: httpx.AsyncClient, control_plane: ControlPlane,
                                            buyer: Account) -> None:
    dup = await http.post("/api/admin/accounts", headers=admin_auth(control_plane),
                          json={"email": buyer.email.upper(), "password": "pw-" + secrets.token_hex(6)})
    assert_error(dup, 409, "already exists")
