"""/api/routing/profiles: CRUD, one default per account, validation, ownership."""

from __future__ import annotations

import httpx

from tests.integration.control_plane.conftest import Account, assert_error


async def test_every_account_has_a_default_profile(http: httpx.AsyncClient, buyer: Account) -> None:
    profiles = (await http.get("/api/routing/profiles", headers=buyer.auth)).json()["data"]
    assert [(p["name"], p["strategy"], p["is_default"]) for p in profiles] == [("default", "balanced", True)]


async def test_profile_create_patch_and_switch_default(http: httpx.AsyncClient, buyer: Account) -> None:
    made = await http.post("/api/routing/profiles", headers=buyer.auth, json={
        "name": "fast", "strategy": "reliability-first", "provider_only": ["deepseek", "qwen"],
        "provider_ignore": ["fake"], "provider_order": ["qwen"], "max_price_input": "0.80", "max_price_output": "2.5",
        "max_ttft_ms": 800, "min_throughput_tps": 30, "hard_max_ttft_ms": 3000, "hard_min_throughput_tps": 5,
        "privacy_mode": "trusted_only", "fallback_enabled": False, "max_attempts": 2,
    })
    assert made.status_code == 201, made.text
    p = made.json()
    assert (p["max_price_input"], p["max_price_output"], p["privacy_mode"]) == ("0.80", "2.50", "trusted_only")
    assert p["is_default"] is False and p["provider_only"] == ["deepseek", "qwen"]

    switched = await http.patch(f"/api/routing/profiles/{p['id']}", headers=buyer.auth,
                                json={"is_default": True, "max_price_input": None, "name": "fast2"})
    assert switched.status_code == 200, switched.text
    assert (switched.json()["is_default"], switched.json()["max_price_input"], switched.json()["name"]) == (
        True, None, "fast2")
    listed = (await http.get("/api/routing/profiles", headers=buyer.auth)).json()["data"]
    assert [x["id"] for x in listed if x["is_default"]] == [p["id"]]
    me = (await http.get("/api/account", headers=buyer.auth)).json()
    assert me["default_routing_profile_id"] == p["id"]
    assert_error(await http.patch(f"/api/routing/profiles/{p['id']}", headers=buyer.auth, json={"is_default": False}),
                 400, "is_default")


async def test_profile_validation_names_the_field(http: httpx.AsyncClient, buyer: Account) -> None:
    cases = [
        ({"name": "x", "strategy": "cheapest"}, "strategy"),
        ({"name": ""}, "name"),
        ({"name": "x", "provider_only": ["nope"]}, "provider_only[0]"),
        ({"name": "x", "provider_ignore": ["deepseek", "nope"]}, "provider_ignore[1]"),
        ({"name": "x", "max_price_input": "-1"}, "max_price_input"),
        ({"name": "x", "max_price_output": 0.5}, "max_price_output"),
        ({"name": "x", "max_price_output": "1e3"}, "max_price_output"),
        ({"name": "x", "max_ttft_ms": 0}, "max_ttft_ms"),
        ({"name": "x", "privacy_mode": "paranoid"}, "privacy_mode"),
        ({"name": "x", "max_attempts": 11}, "max_attempts"),
        ({"name": "x", "account_id": "y"}, "account_id"),
    ]
    for body, word in cases:
        assert_error(await http.post("/api/routing/profiles", headers=buyer.auth, json=body), 400, word)


async def test_profiles_of_another_account_are_404(http: httpx.AsyncClient, buyer: Account, other: Account) -> None:
    mine = (await http.post("/api/routing/profiles", headers=buyer.auth, json={"name": "mine"})).json()
    assert_error(await http.patch(f"/api/routing/profiles/{mine['id']}", headers=other.auth, json={"name": "x"}), 404)
    assert mine["id"] not in [p["id"] for p in (await http.get("/api/routing/profiles", headers=other.auth)).json()["data"]]
