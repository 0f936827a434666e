"""Management keys: created with a JWT only; scopes enforced on every endpoint (403 names the scope)."""

from __future__ import annotations

import httpx

from tests.conftest import ControlPlane
from tests.integration.control_plane.conftest import Account, assert_error, new_account

BUYER_READS = ["/api/keys", "/api/routing/profiles"]
SELLER_READS = ["/v1/pool/providers", "/v1/pool/keys", "/v1/market/listings"]


async def _mgmt(http: httpx.AsyncClient, acct: Account, scope: str) -> dict[str, str]:
    made = await http.post("/api/management-keys", headers=acct.auth, json={"name": f"ci-{scope}", "mgmt_scope": scope})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["mgmt_scope"] == scope and body["key"].startswith("sk-df-")
    return {"Authorization": f"Bearer {body['key']}", "id": body["id"]}


async def test_scopes_are_enforced(http: httpx.AsyncClient, buyer: Account) -> None:
    buyer_key, seller_key, full_key = [await _mgmt(http, buyer, s) for s in ("buyer", "seller", "full")]
    auth = {name: {"Authorization": k["Authorization"]} for name, k in
            (("buyer", buyer_key), ("seller", seller_key), ("full", full_key))}
    for path in BUYER_READS:
        assert (await http.get(path, headers=auth["buyer"])).status_code == 200
        assert (await http.get(path, headers=auth["full"])).status_code == 200
        assert_error(await http.get(path, headers=auth["seller"]), 403, "'buyer'")
    for path in SELLER_READS:
        assert (await http.get(path, headers=auth["seller"])).status_code == 200
        assert (await http.get(path, headers=auth["full"])).status_code == 200
        assert_error(await http.get(path, headers=auth["buyer"]), 403, "'seller'")
    made = await http.post("/api/keys", headers=auth["buyer"], json={"name": "via mgmt"})
    assert made.status_code == 201, made.text
    assert_error(await http.post("/api/keys", headers=auth["seller"], json={}), 403, "'buyer'")
    assert_error(await http.post("/v1/pool/keys", headers=auth["buyer"], json={}), 403, "'seller'")
    # management keys never create management keys, nor accept terms
    for name in ("buyer", "seller", "full"):
        assert_error(await http.post("/api/management-keys", headers=auth[name],
                                     json={"name": "x", "mgmt_scope": "full"}), 403, "login token")
        assert_error(await http.get("/api/management-keys", headers=auth[name]), 403, "login token")
        assert_error(await http.post("/api/account/trading-terms", headers=auth[name]), 403, "login token")
        assert (await http.get("/api/account", headers=auth[name])).status_code == 200
    # admin API never accepts them
    assert_error(await http.get(f"/api/admin/accounts/{buyer.id}", headers=auth["full"]), 401)


async def test_management_key_list_and_revoke(http: httpx.AsyncClient, buyer: Account, other: Account) -> None:
    key = await _mgmt(http, buyer, "buyer")
    listed = (await http.get("/api/management-keys", headers=buyer.auth)).json()["data"]
    assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]
    assert_error(await http.delete(f"/api/management-keys/{key['id']}", headers=other.auth), 404)
    assert (await http.delete(f"/api/management-keys/{key['id']}", headers=buyer.auth)).status_code == 200
    assert_error(await http.get("/api/keys", headers={"Authorization": key["Authorization"]}), 401, "unknown")


async def test_management_key_validation_and_shape(http: httpx.AsyncClient, buyer: Account) -> None:
    assert_error(await http.post("/api/management-keys", headers=buyer.auth, json={"name": "x", "mgmt_scope": "admin"}),
                 400, "mgmt_scope")
    assert_error(await http.post("/api/management-keys", headers=buyer.auth, json={"mgmt_scope": "buyer"}), 400, "name")
    assert_error(await http.post("/api/management-keys", headers=buyer.auth,
                                 json={"name": "x", "mgmt_scope": "buyer", "expires_at": "2001-01-01T00:00:00Z"}),
                 400, "expires_at")
    key = await _mgmt(http, buyer, "full")
    raw = key["Authorization"].removeprefix("Bearer ")
    assert_error(await http.get("/api/keys", headers={"Authorization": f"Bearer {raw[:-3]}"}), 401, "truncated")
    typo = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert_error(await http.get("/api/keys", headers={"Authorization": f"Bearer {typo}"}), 401, "mistyped")
    buyer_key = (await http.post("/api/keys", headers=buyer.auth, json={})).json()["key"]
    assert_error(await http.get("/api/keys", headers={"Authorization": f"Bearer {buyer_key}"}), 401, "buyer key")


async def test_unverified_account_cannot_create_management_keys(http: httpx.AsyncClient,
                                                                 control_plane: ControlPlane) -> None:
    acct = await new_account(http, control_plane, verified=False)
    assert_error(await http.post("/api/management-keys", headers=acct.auth, json={"name": "x", "mgmt_scope": "full"}),
                 403, "verified")
