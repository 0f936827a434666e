"""/api/keys: every field, validation naming the field, ownership, raw key once."""

from __future__ import annotations

import httpx

from tests.integration.control_plane.conftest import Account, assert_error
from wire.keys import KeyShape, check_shape

FULL = {
    "name": "production", "key_group": "prod", "monthly_budget_cents": 5000,
    "ip_whitelist": ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"], "ip_blacklist": ["10.9.0.0/16"],
    "model_allowlist": ["deepseek/deepseek-chat", "qwen/qwen3-30b-a3b"], "expires_at": "2031-01-31T00:00:00Z",
}


async def test_key_crud_happy_path(http: httpx.AsyncClient, buyer: Account) -> None:
    created = await http.post("/api/keys", headers=buyer.auth, json=FULL)
    assert created.status_code == 201, created.text
    key = created.json()
    assert check_shape(key["key"]) is KeyShape.OK
    assert key["key_hint"].startswith(key["key"][:10]) and key["key_hint"].endswith(key["key"][-4:])
    assert key["ip_whitelist"] == ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"]
    assert key["monthly_budget_cents"] == 5000 and key["expires_at"] == "2031-01-31T00:00:00Z"
    me = (await http.get("/api/account", headers=buyer.auth)).json()
    assert key["routing_profile_id"] == me["default_routing_profile_id"]

    listed = (await http.get("/api/keys", headers=buyer.auth)).json()
    assert listed["object"] == "list" and [k["id"] for k in listed["data"]] == [key["id"]]
    assert "key" not in listed["data"][0]
    shown = (await http.get(f"/api/keys/{key['id']}", headers=buyer.auth)).json()
    assert "key" not in shown and shown["name"] == "production"

    patched = await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth, json={
        "monthly_budget_cents": None, "ip_whitelist": [], "status": "disabled", "expires_at": None,
    })
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["monthly_budget_cents"], p["ip_whitelist"], p["status"], p["expires_at"]) == (None, [], "disabled", None)
    assert p["ip_blacklist"] == ["10.9.0.0/16"] and "key" not in p

    deleted = await http.delete(f"/api/keys/{key['id']}", headers=buyer.auth)
    assert deleted.status_code == 200 and deleted.json() == {"id": key["id"], "deleted": True}
    assert (await http.get("/api/keys", headers=buyer.auth)).json()["data"] == []
    assert_error(await http.delete(f"/api/keys/{key['id']}", headers=buyer.auth), 404)


async def test_key_defaults(http: httpx.AsyncClient, buyer: Account) -> None:
    key = (await http.post("/api/keys", headers=buyer.auth, json={})).json()
    assert (key["name"], key["key_group"], key["monthly_budget_cents"], key["expires_at"]) == ("", "default", None, None)
    assert key["ip_whitelist"] == key["ip_blacklist"] == key["model_allowlist"] == []


async def test_key_validation_names_the_field(http: httpx.AsyncClient, buyer: Account) -> None:
    cases = [
        ({"key_group": "Prod!"}, "key_group"),
        ({"key_group": ""}, "key_group"),
        ({"monthly_budget_cents": -1}, "monthly_budget_cents"),
        ({"monthly_budget_cents": "500"}, "monthly_budget_cents"),
        ({"monthly_budget_cents": 1.5}, "monthly_budget_cents"),
        ({"ip_whitelist": ["10.0.0.0/33"]}, "ip_whitelist[0]"),
        ({"ip_whitelist": ["10.0.0.0/8", "300.1.1.1"]}, "ip_whitelist[1]"),
        ({"ip_blacklist": ["10.0.0.1/24"]}, "host bits"),
        ({"ip_blacklist": [" 10.0.0.0/8"]}, "ip_blacklist[0]"),
        ({"ip_whitelist": ["fe80::1%eth0"]}, "ip_whitelist[0]"),
        ({"ip_whitelist": "10.0.0.0/8"}, "ip_whitelist"),
        ({"model_allowlist": ["nope/model"]}, "model_allowlist[0]"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2031-01-01T00:00:00"}, "time zone"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"routing_profile_id": "not-a-uuid"}, "routing_profile_id"),
        ({"routing_profile_id": "00000000-0000-4000-8000-000000000000"}, "routing_profile_id"),
        ({"spent_micro": 0}, "spent_micro"),
        ({"account_id": "00000000-0000-4000-8000-000000000000"}, "account_id"),
        ({"name": "x" * 101}, "name"),
    ]
    for body, word in cases:
        assert_error(await http.post("/api/keys", headers=buyer.auth, json=body), 400, word)
    key = (await http.post("/api/keys", headers=buyer.auth, json={})).json()
    for body, word in cases:
        assert_error(await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth, json=body), 400, word)
    assert_error(await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth, json={"status": "revoked"}),
                 400, "status")


async def test_keys_of_another_account_are_404(http: httpx.AsyncClient, buyer: Account, other: Account) -> None:
    key = (await http.post("/api/keys", headers=buyer.auth, json={"name": "mine"})).json()
    path = f"/api/keys/{key['id']}"
    assert_error(await http.get(path, headers=other.auth), 404)
    assert_error(await http.patch(path, headers=other.auth, json={"name": "stolen"}), 404)
    assert_error(await http.delete(path, headers=other.auth), 404)
    assert (await http.get("/api/keys", headers=other.auth)).json()["data"] == []
    assert (await http.get(path, headers=buyer.auth)).json()["name"] == "mine"


async def test_key_cannot_bind_another_accounts_profile(http: httpx.AsyncClient, buyer: Account,
                                                         other: Account) -> None:
    theirs = (await http.get("/api/account", headers=other.auth)).json()["default_routing_profile_id"]
    assert_error(await http.post("/api/keys", headers=buyer.auth, json={"routing_profile_id": theirs}),
                 400, "routing_profile_id")
    mine = (await http.post("/api/routing/profiles", headers=buyer.auth, json={"name": "cheap",
                                                                                "strategy": "cost-first"})).json()
    key = (await http.post("/api/keys", headers=buyer.auth, json={"routing_profile_id": mine["id"]})).json()
    assert key["routing_profile_id"] == mine["id"]
    back = await http.patch(f"/api/keys/{key['id']}", headers=buyer.auth, json={"routing_profile_id": None})
    me = (await http.get("/api/account", headers=buyer.auth)).json()
    assert back.json()["routing_profile_id"] == me["default_routing_profile_id"]
